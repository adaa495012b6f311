import { assert, assertEquals } from "../../util/assert.ts";
import { memoryLibc } from "../../ffi/memory.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { encodeControlBatch } from "../../protocol/control_batch.ts";
import { encodeRecordBatch } from "../../protocol/records.ts";
import { PartitionLog } from "../../storage/partition_log.ts";
import { createLogger } from "../../util/log.ts";
import type { BrokerCore } from "../context.ts";
import { TEST_SETTINGS } from "../groups/_test_util.ts";
import { encodeOffsetKey, encodeOffsetValue } from "../groups/records.ts";
import { ManualClock } from "../groups/timers.ts";
import { offsetsPartitionFor } from "../handlers/_cluster_group_coordinator.ts";
import type { Partition } from "../topics.ts";
import { ClusterGroups, GROUP_METADATA_TOPIC } from "./cluster_groups.ts";
import type { ClusterNode } from "./cluster_node.ts";
import type { LeadershipChange } from "./replica_manager.ts";

const PARTITIONS = 3;

function offsetRecord(groupId: string, offset: number) {
  const committed = {
    offset,
    leaderEpoch: 0,
    metadata: "",
    commitTimestampMs: 1,
    expireTimestampMs: -1,
  };
  return {
    key: encodeOffsetKey(groupId, "t", 0),
    value: encodeOffsetValue(committed),
    timestampMs: 1,
  };
}

/** ClusterGroups over one `__consumer_offsets` partition log (no produce: nothing is written). */
function setup() {
  const libc = memoryLibc();
  libc.mkdirp("/data");
  const group = "g";
  const index = offsetsPartitionFor(group, PARTITIONS);
  const log = PartitionLog.open(libc, `/data/${GROUP_METADATA_TOPIC}-${index}`);
  const partition = { topic: { name: GROUP_METADATA_TOPIC }, index, log } as Partition;
  const cache = {
    topics: new Map([
      [GROUP_METADATA_TOPIC, { record: { assignment: [[1], [1], [1]] } }],
      ["t", { record: { assignment: [[1]] } }],
    ]),
  };
  const broker = {
    libc,
    cluster: { cache } as unknown as ClusterNode,
    topics: {
      onDeleted: () => {},
      partition: (t: string, p: number) =>
        t === GROUP_METADATA_TOPIC && p === index ? partition : undefined,
    },
    nowMs: () => 1,
  } as unknown as BrokerCore & { cluster: ClusterNode };
  let listener!: (change: LeadershipChange) => void;
  const clock = new ManualClock();
  const groups = new ClusterGroups(broker, { onLeadershipChange: (l) => listener = l }, {
    settings: TEST_SETTINGS,
    logger: createLogger("silent"),
    nowMs: () => clock.nowMs(),
    timerPort: clock,
  });
  const lead = (leading: boolean, leaderEpoch = 1) =>
    listener({ topic: GROUP_METADATA_TOPIC, partition: index, leading, leaderEpoch });
  return { group, index, log, groups, lead };
}

/** Lets the load the leadership change scheduled run (a timer of 0 ms, first in line). */
const nextTurn = () => new Promise((resolve) => setTimeout(resolve, 0));

function committedOffset(groups: ClusterGroups, groupId: string): number | undefined {
  const route = groups.route(groupId);
  assert("loaded" in route, `"${groupId}" is coordinated here`);
  return route.loaded.coordinator.offsets.fetch(groupId, null)[0]?.partitions[0].committedOffset;
}

Deno.test("ClusterGroups loads a partition's groups on leadership and unloads them on its loss", async () => {
  const { group, log, groups, lead } = setup();
  const batch = encodeRecordBatch([offsetRecord(group, 5), offsetRecord(group, 9)]);
  assert(log.append(batch, { nowMs: 1, origin: "coordinator" }).ok);
  assertEquals(groups.route(group), { errorCode: ErrorCode.NOT_COORDINATOR });
  lead(true);
  assertEquals(groups.route(group), { errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS });
  await nextTurn();
  assertEquals(committedOffset(groups, group), 9); // the last record of the key wins
  // A group of another partition is not coordinated here.
  let other = "h";
  while (offsetsPartitionFor(other, PARTITIONS) === offsetsPartitionFor(group, PARTITIONS)) {
    other += "h";
  }
  assertEquals(groups.route(other), { errorCode: ErrorCode.NOT_COORDINATOR });
  lead(false);
  assertEquals(groups.route(group), { errorCode: ErrorCode.NOT_COORDINATOR });
  assertEquals(groups.loadedPartitions(), []);
  groups.close();
  log.close();
});

Deno.test("ClusterGroups holds transactional offsets until their marker, and reloads on a new epoch", async () => {
  const { group, log, groups, lead } = setup();
  const txn = { producerId: 7, producerEpoch: 0 };
  const append = (bytes: Uint8Array) =>
    assert(log.append(bytes, { nowMs: 1, origin: "coordinator" }).ok);
  append(encodeRecordBatch([offsetRecord(group, 3)]));
  append(encodeRecordBatch([offsetRecord(group, 8)], { ...txn, isTransactional: true }));
  lead(true, 1);
  await nextTurn();
  assertEquals(committedOffset(groups, group), 3);
  const route = groups.route(group);
  assert("loaded" in route);
  assert(route.loaded.coordinator.txnOffsets.hasPending(group, "t", 0));
  // The marker arrives (written by an earlier leader, say); a new epoch reloads.
  append(encodeControlBatch({ ...txn, committed: true, coordinatorEpoch: 0 }, 1));
  lead(true, 2);
  assertEquals(groups.route(group), { errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS });
  await nextTurn();
  assertEquals(committedOffset(groups, group), 8);
  groups.close();
  assertEquals(groups.route(group), { errorCode: ErrorCode.NOT_COORDINATOR });
  log.close();
});
