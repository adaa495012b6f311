import { assert, assertEquals } from "../../util/assert.ts";
import { KafkaError } from "../kafka_error.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import {
  assignReplicas,
  checkManualAssignment,
  rackAlternatedBrokers,
} from "./replica_assignment.ts";

const noRacks = [0, 1, 2, 3, 4].map((nodeId) => ({ nodeId, rack: null }));

Deno.test("assignReplicas() matches Kafka's rack-unaware example (5 brokers, start 0)", () => {
  // The example in Kafka's AdminUtils doc comment: 10 partitions, 3 replicas.
  const got = assignReplicas(noRacks, 10, 3, { startIndex: 0 });
  assertEquals(got, [
    [0, 1, 2],
    [1, 2, 3],
    [2, 3, 4],
    [3, 4, 0],
    [4, 0, 1],
    [0, 2, 3],
    [1, 3, 4],
    [2, 4, 0],
    [3, 0, 1],
    [4, 1, 2],
  ]);
});

Deno.test("assignReplicas() continues from startPartitionId (CreatePartitions)", () => {
  // As in Kafka, the shift only grows when the new partitions wrap the broker list.
  const tail = assignReplicas(noRacks, 5, 3, { startIndex: 0, startPartitionId: 6 });
  assertEquals(tail, [[1, 2, 3], [2, 3, 4], [3, 4, 0], [4, 0, 1], [0, 2, 3]]);
});

Deno.test("rackAlternatedBrokers() alternates racks like Kafka's getRackAlternatedBrokerList", () => {
  const brokers = [
    { nodeId: 0, rack: "rack1" },
    { nodeId: 1, rack: "rack3" },
    { nodeId: 2, rack: "rack3" },
    { nodeId: 3, rack: "rack2" },
    { nodeId: 4, rack: "rack3" },
    { nodeId: 5, rack: "rack1" },
  ];
  assertEquals(rackAlternatedBrokers(brokers).map((b) => b.nodeId), [0, 3, 1, 5, 2, 4]);
});

Deno.test("assignReplicas() with racks puts each partition's replicas on distinct racks", () => {
  const brokers = [
    { nodeId: 0, rack: "a" },
    { nodeId: 1, rack: "a" },
    { nodeId: 2, rack: "b" },
    { nodeId: 3, rack: "b" },
    { nodeId: 4, rack: "c" },
    { nodeId: 5, rack: "c" },
  ];
  const rackOf = new Map(brokers.map((b) => [b.nodeId, b.rack]));
  for (let seed = 0; seed < 6; seed++) {
    const got = assignReplicas(brokers, 12, 3, { startIndex: seed });
    for (const replicas of got) {
      assertEquals(new Set(replicas.map((id) => rackOf.get(id))).size, 3, String(replicas));
    }
    // Leaders spread evenly: every broker leads 2 of the 12.
    const leaders = new Map<number, number>();
    for (const r of got) leaders.set(r[0], (leaders.get(r[0]) ?? 0) + 1);
    assertEquals([...leaders.values()], [2, 2, 2, 2, 2, 2]);
  }
});

Deno.test("assignReplicas() ignores racks unless every broker has one (Kafka's safe mode)", () => {
  const mixed = [{ nodeId: 0, rack: "a" }, { nodeId: 1, rack: null }, { nodeId: 2, rack: "a" }];
  assertEquals(assignReplicas(mixed, 3, 2, { startIndex: 0 }), [[0, 1], [1, 2], [2, 0]]);
});

Deno.test("assignReplicas() refuses a replication factor above the broker count", () => {
  const error = thrown(() => assignReplicas(noRacks, 1, 6));
  assertEquals(error.code, ErrorCode.INVALID_REPLICATION_FACTOR);
  assertEquals(error.message, "Replication factor: 6 larger than available brokers: 5.");
});

Deno.test("checkManualAssignment() refuses unknown brokers, duplicates and uneven sizes", () => {
  const live = new Set([1, 2, 3]);
  checkManualAssignment([[1, 2], [2, 3]], live);
  for (const bad of [[[1, 4]], [[1, 1]], [[1, 2], [3]], [[]]]) {
    const error = thrown(() => checkManualAssignment(bad, live));
    assertEquals(error.code, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  }
});

function thrown(fn: () => unknown): KafkaError {
  try {
    fn();
  } catch (e) {
    assert(e instanceof KafkaError);
    return e;
  }
  throw new Error("Expected a KafkaError");
}
