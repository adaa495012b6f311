/**
 * Partition reassignment on the in-memory coordinator: the controller adds
 * the target replicas, keeps the reassignment under way until they are all
 * in the ISR (here moved by hand, as a leader would), then drops the old
 * replicas and moves a removed leader; cancellation restores the original
 * replicas; bad targets and a cancel with nothing under way are refused.
 */
import { assert, assertEquals } from "../../util/assert.ts";
import { createLogger } from "../../util/log.ts";
import { ManualClock } from "../groups/timers.ts";
import type { Topic } from "../topics.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { MemoryCoordinatorServer } from "./memory_coordinator.ts";
import { ClusterNode } from "./cluster_node.ts";
import type { LocalTopicStore } from "./local_replicas.ts";
import type { PartitionState, PartitionStateSink } from "./partition_state.ts";
import { ongoingReassignments, reassignedState } from "./controller_reassignments.ts";

const logger = createLogger("silent");

/** Topic logs as names and partition counts only. */
class FakeTopics implements LocalTopicStore {
  readonly byName = new Map<string, Topic>();
  list = () => [...this.byName.values()];
  get = (name: string) => this.byName.get(name);
  create(name: string, count: number, _overrides: Record<string, string>, id?: string): Topic {
    const partitions = Array.from({ length: count }, () => ({}));
    const topic = { name, id: id!, partitions, internal: false, overrides: {} };
    this.byName.set(name, topic as unknown as Topic);
    return topic as unknown as Topic;
  }
  delete = (name: string) => void this.byName.delete(name);
  alterConfigs(): void {}
  addPartitions(): void {}
}

/** Remembers the last state each partition was given. */
class RecordingSink implements PartitionStateSink {
  readonly states = new Map<string, PartitionState>();
  applyPartitionStates(states: readonly PartitionState[]) {
    for (const s of states) this.states.set(`${s.topic}-${s.partition}`, s);
  }
}

async function threeNodes() {
  const clock = new ManualClock();
  const server = new MemoryCoordinatorServer({ clock });
  const nodes: { node: ClusterNode; topics: FakeTopics; sink: RecordingSink }[] = [];
  for (const nodeId of [1, 2, 3]) {
    const topics = new FakeTopics();
    const sink = new RecordingSink();
    const node = await ClusterNode.start({
      coordinator: server.connect("/denka/test/"),
      nodeId,
      rack: undefined,
      advertised: () => ({ hostname: "127.0.0.1", port: 9000 + nodeId }),
      sessionTimeoutMs: 3_000,
      topics,
      logger,
      uncleanDefault: () => false,
      rebalance: { enabled: false, checkIntervalMs: 300_000, imbalancePercent: 10 },
      sinkFor: () => sink,
    });
    nodes.push({ node, topics, sink });
  }
  const until = async (predicate: () => boolean, label: string) => {
    for (let elapsedMs = 0; !predicate(); elapsedMs += 100) {
      if (elapsedMs > 20_000) throw new Error(`"${label}" did not happen within 20000 ms`);
      await new Promise((resolve) => setTimeout(resolve, 0));
      clock.advance(100);
    }
  };
  await until(() => nodes.every((n) => n.node.cache.brokers.size === 3), "all registered");
  await until(() => nodes[0].node.cache.controller !== undefined, "a controller");
  return {
    nodes,
    until,
    close: async () => {
      for (const n of nodes) await n.node.close();
    },
  };
}

Deno.test("reassignedState() keeps a remaining leader and hands over from a removed one", () => {
  const record = { leader: 1, leaderEpoch: 4, isr: [1, 2, 3], controllerEpoch: 9 };
  const live = new Set([1, 2, 3]);
  assertEquals(reassignedState(record, [1, 3], live), { leader: 1, leaderEpoch: 4, isr: [1, 3] });
  assertEquals(reassignedState(record, [3, 2], live), { leader: 3, leaderEpoch: 5, isr: [2, 3] });
  assertEquals(reassignedState(record, [3, 2], new Set([1, 2])), {
    leader: 2,
    leaderEpoch: 5,
    isr: [2, 3],
  });
  assertEquals(reassignedState(record, [4], live), { leader: -1, leaderEpoch: 5, isr: [] });
});

Deno.test("ControllerReassignments: add, wait for the ISR, drop the old replicas, move the leader", async () => {
  const c = await threeNodes();
  try {
    const [n1, n2, n3] = c.nodes.map((n) => n.node);
    const created = await n2.admin.createTopic("t", {
      partitions: 2,
      replicationFactor: 2,
      assignment: [[1, 2], [1, 2]],
      configs: {},
    }, 10_000);
    assertEquals(created, undefined);
    await c.until(() => n3.cache.topicPartitions("t").length === 2, "t seen");
    assert(c.nodes[2].topics.get("t") === undefined, "node 3 holds no replica of t yet");

    // Partition 0 to [3, 2]: 3 is added, 1 (the leader) is to go.
    assertEquals(await n3.admin.reassignPartition("t", 0, [3, 2], 10_000), undefined);
    await c.until(() => ongoingReassignments(n1.cache).length === 1, "under way on node 1");
    assertEquals(ongoingReassignments(n1.cache), [{
      topic: "t",
      partition: 0,
      replicas: [3, 2, 1],
      addingReplicas: [3],
      removingReplicas: [1],
    }]);
    const started = n1.cache.partitionState("t", 0)!;
    assertEquals([started.leader, started.leaderEpoch, started.isr], [1, 0, [1, 2]]);
    // Node 3 opened the topic's logs and was told it is a replica (it would fetch now).
    await c.until(() => c.nodes[2].sink.states.get("t-0")?.replicas.includes(3) ?? false, "3");
    assert(c.nodes[2].topics.get("t") !== undefined);

    // The leader adds 3 to the ISR once caught up: the controller completes.
    assert(await n1.isrWriter.alterIsr(started, [1, 2, 3]) !== undefined);
    await c.until(() => ongoingReassignments(n2.cache).length === 0, "completed");
    const done = n2.cache.partitionState("t", 0)!;
    assertEquals([done.replicas, done.leader, done.leaderEpoch], [[3, 2], 3, 1]);
    assertEquals([...done.isr].sort(), [2, 3]);
    await c.until(() => !c.nodes[0].sink.states.get("t-0")!.replicas.includes(1), "1 told");
    // Partition 1 was left alone.
    assertEquals(n2.cache.partitionState("t", 1)!.replicas, [1, 2]);

    // A cancel puts the original replicas back, and nothing is left under way.
    assertEquals(await n1.admin.reassignPartition("t", 1, [3], 10_000), undefined);
    await c.until(() => n2.cache.partitionState("t", 1)?.replicas.length === 3, "union");
    assertEquals(n2.cache.partitionState("t", 1)!.replicas, [3, 1, 2]);
    assertEquals(await n2.admin.reassignPartition("t", 1, null, 10_000), undefined);
    await c.until(() => n1.cache.partitionState("t", 1)?.replicas.length === 2, "cancelled");
    assertEquals(n1.cache.partitionState("t", 1)!.replicas, [1, 2]);
    assertEquals(n1.cache.partitionState("t", 1)!.leader, 1);
    assertEquals(ongoingReassignments(n1.cache), []);

    // Refusals.
    const code = async (replicas: number[] | null, partition = 1) =>
      (await n2.admin.reassignPartition("t", partition, replicas, 10_000))?.code;
    assertEquals(await code(null), ErrorCode.NO_REASSIGNMENT_IN_PROGRESS);
    assertEquals(await code([9]), ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    assertEquals(await code([2, 2]), ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    assertEquals(await code([]), ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    assertEquals(await code([1], 7), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  } finally {
    await c.close();
  }
});
