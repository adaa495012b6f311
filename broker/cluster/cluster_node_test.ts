/**
 * The controller side of a cluster on the in-memory coordinator: three
 * brokers register, one controls, topics are assigned and led, brokers and
 * controllers come and go (lost leases, a deposed controller), and injected
 * faults (compaction, a racing writer) are survived.
 */
import { assert, assertEquals } from "../../util/assert.ts";
import { createLogger } from "../../util/log.ts";
import { ManualClock } from "../groups/timers.ts";
import type { Topic } from "../topics.ts";
import { type CoordinatorFaultRule, MemoryCoordinatorServer } from "./memory_coordinator.ts";
import { ClusterNode, DuplicateBrokerIdError } from "./cluster_node.ts";
import type { LocalTopicStore } from "./local_replicas.ts";
import { clusterHealth } from "./cluster_health.ts";
import type { BrokerEndpoint, PartitionState, PartitionStateSink } from "./partition_state.ts";

const SESSION_MS = 3_000;
const logger = createLogger("silent");

/** A topic registry that only remembers names, ids and partition counts. */
class FakeTopics implements LocalTopicStore {
  readonly byName = new Map<string, Topic>();
  list = () => [...this.byName.values()];
  get = (name: string) => this.byName.get(name);
  create(name: string, count: number, _overrides: Record<string, string>, id?: string): Topic {
    const topic = {
      name,
      id: id!,
      partitions: [],
      internal: false,
      overrides: {},
    } as unknown as Topic;
    for (let i = 0; i < count; i++) topic.partitions.push({} as Topic["partitions"][number]);
    this.byName.set(name, topic);
    return topic;
  }
  delete = (name: string) => void this.byName.delete(name);
  alterConfigs(topic: Topic, overrides: Record<string, string>): void {
    (topic as { overrides: Record<string, string> }).overrides = overrides;
  }
  addPartitions(topic: Topic, count: number): void {
    while (topic.partitions.length < count) {
      topic.partitions.push({} as Topic["partitions"][number]);
    }
  }
}

/** Records what the replica manager would be told. */
class RecordingSink implements PartitionStateSink {
  readonly states = new Map<string, PartitionState>();
  brokers: ReadonlyMap<number, BrokerEndpoint> = new Map();
  applyPartitionStates(
    states: readonly PartitionState[],
    brokers: ReadonlyMap<number, BrokerEndpoint>,
  ) {
    for (const s of states) this.states.set(`${s.topic}-${s.partition}`, s);
    this.brokers = brokers;
  }
}

function cluster(faults: CoordinatorFaultRule[] = []) {
  const clock = new ManualClock();
  const server = new MemoryCoordinatorServer({ clock, faults });
  const nodes = new Map<number, { node: ClusterNode; topics: FakeTopics; sink: RecordingSink }>();
  return {
    clock,
    server,
    nodes,
    async start(nodeId: number, rack?: string) {
      const topics = new FakeTopics();
      const sink = new RecordingSink();
      const node = await ClusterNode.start({
        coordinator: server.connect("/denka/test/"),
        nodeId,
        rack,
        advertised: () => ({ hostname: "127.0.0.1", port: 9000 + nodeId }),
        sessionTimeoutMs: SESSION_MS,
        topics,
        logger,
        uncleanDefault: () => false,
        rebalance: { enabled: false, checkIntervalMs: 300_000, imbalancePercent: 10 },
        sinkFor: () => sink,
      });
      nodes.set(nodeId, { node, topics, sink });
      return node;
    },
    /** Advances the clock in steps (keepalives, expiries) until `predicate` holds. */
    async until(predicate: () => boolean, label: string, maxMs = 20_000): Promise<void> {
      for (let elapsedMs = 0; !predicate(); elapsedMs += 100) {
        if (elapsedMs > maxMs) throw new Error(`"${label}" did not happen within ${maxMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 0));
        clock.advance(100);
      }
    },
    async close() {
      for (const { node } of nodes.values()) await node.close();
    },
  };
}

async function createTopic(node: ClusterNode, name: string, partitions: number, rf: number) {
  return await node.admin.createTopic(name, {
    partitions,
    replicationFactor: rf,
    assignment: null,
    configs: {},
  }, 10_000);
}

Deno.test("ClusterNode: three brokers register, one controls, a topic gets replicas and leaders", async () => {
  const c = cluster();
  try {
    const n0 = await c.start(0);
    const n1 = await c.start(1);
    const n2 = await c.start(2);
    await c.until(() => [n0, n1, n2].every((n) => n.cache.brokers.size === 3), "all registered");
    await c.until(() => n0.controller !== undefined, "node 0 controls");
    assertEquals(n1.cache.controller?.nodeId, 0);
    assertEquals(await createTopic(n2, "t", 3, 3), undefined);
    await c.until(
      () => [n0, n1, n2].every((n) => n.cache.topicPartitions("t").length === 3),
      "seen",
    );
    const states = n1.cache.topicPartitions("t");
    for (const s of states) {
      assertEquals(s.replicas.length, 3);
      assertEquals(s.leader, s.replicas[0]);
      assertEquals([...s.isr].sort(), [0, 1, 2]);
      assertEquals(s.leaderEpoch, 0);
    }
    // Leaders spread over the three brokers, every broker opened the logs with the cluster's id.
    assertEquals(new Set(states.map((s) => s.leader)).size, 3);
    const id = n0.cache.topics.get("t")!.record.id;
    for (const { topics, sink } of c.nodes.values()) {
      assertEquals(topics.get("t")?.id, id);
      assertEquals(topics.get("t")?.partitions.length, 3);
      assertEquals(sink.states.size, 3);
      assertEquals(sink.brokers.size, 3);
    }
    // Deleted through any broker: every broker's logs go, and its replica manager stops them.
    assertEquals(await createTopic(n1, "doomed", 2, 3), undefined);
    await c.until(() => c.nodes.get(0)!.sink.states.has("doomed-1"), "doomed seen");
    // One watcher misses the deletion in a compaction gap: its re-list still drops the logs.
    const relistsBefore = [n0, n1, n2].reduce((n, node) => n + node.cache.relistCount, 0);
    c.server.faults.add({ op: "watch", fault: "compacted", times: 1 });
    assertEquals(await n1.admin.deleteTopic("doomed", 10_000), undefined);
    await c.until(
      () => [...c.nodes.values()].every((n) => n.topics.get("doomed") === undefined),
      "doomed gone",
    );
    assertEquals(
      [n0, n1, n2].reduce((n, node) => n + node.cache.relistCount, 0),
      relistsBefore + 1,
    );
    for (const { sink } of c.nodes.values()) {
      assertEquals(sink.states.get("doomed-0")?.replicas, []);
      assertEquals(sink.states.get("doomed-1")?.replicas, []);
    }
    // New config overrides through any broker reach every broker's logs.
    assertEquals(
      await n2.admin.alterTopicConfigs("t", { "retention.ms": "1234" }, 10_000),
      undefined,
    );
    await c.until(
      () =>
        [...c.nodes.values()].every((n) => n.topics.get("t")?.overrides["retention.ms"] === "1234"),
      "configs applied",
    );
    // Too few brokers: INVALID_REPLICATION_FACTOR (38) from the controller.
    assertEquals((await createTopic(n1, "big", 1, 4))?.code, 38);
    assertEquals((await createTopic(n1, "t", 1, 1))?.code, 36);
  } finally {
    await c.close();
  }
});

Deno.test("ClusterNode: a second broker with the same id is refused", async () => {
  const c = cluster();
  try {
    await c.start(5);
    let refused: unknown;
    await c.start(5).catch((e) => refused = e);
    assert(refused instanceof DuplicateBrokerIdError, String(refused));
    assert(/Broker id 5 is already registered by 127.0.0.1:9005/.test(refused.message));
  } finally {
    await c.close();
  }
});

Deno.test("ClusterNode: a broker whose lease expires leaves every ISR and its partitions get new leaders", async () => {
  const c = cluster();
  try {
    const [n0, n1, n2] = [await c.start(0), await c.start(1), await c.start(2)];
    await c.until(() => n0.controller !== undefined && n0.cache.brokers.size === 3, "ready");
    assertEquals(await createTopic(n0, "t", 6, 3), undefined);
    const single = await n0.admin.createTopic("one", {
      partitions: 1,
      replicationFactor: 1,
      assignment: [[1]],
      configs: {},
    }, 10_000);
    assertEquals(single, undefined);
    await c.until(() => n2.cache.topicPartitions("t").length === 6, "seen");
    const before = n2.cache.topicPartitions("t");
    assertEquals(clusterHealth(n0, 1).offlinePartitions, 0);
    assertEquals(clusterHealth(n0, 1).underReplicatedPartitions, 0);
    c.server.expireLease(n1.lease!.id);
    await c.until(
      () => n2.cache.topicPartitions("t").every((s) => s.leader !== 1 && !s.isr.includes(1)),
      "broker 1 out",
    );
    for (const [i, s] of n2.cache.topicPartitions("t").entries()) {
      const was = before[i];
      assertEquals(s.leaderEpoch, was.leader === 1 ? was.leaderEpoch + 1 : was.leaderEpoch);
      assert(s.partitionEpoch > was.partitionEpoch);
    }
    // Without an ISR member left, "one" is offline: leader -1, its ISR kept, the epoch bumped.
    await c.until(() => n2.cache.partitionState("one", 0)?.leader === -1, "one offline");
    assertEquals(n2.cache.partitionState("one", 0)!.isr, [1]);
    const health = clusterHealth(n0, 3);
    assertEquals(health.activeController, 1);
    assertEquals(health.liveBrokers, 2);
    assertEquals(health.offlinePartitions, 1);
    const ledBy0 = n0.cache.topicPartitions("t").filter((s) => s.leader === 0).length;
    assert(ledBy0 > 0);
    assertEquals(health.underReplicatedPartitions, ledBy0);
    assertEquals(health.underMinIsrPartitions, ledBy0);
    assertEquals(clusterHealth(n2, 1).activeController, 0);
    // Broker 1 notices, registers again with a new epoch, and is back among the live brokers.
    await c.until(() => n1.registrationCount === 2 && n0.cache.brokers.has(1), "re-registered");
    // Back in "one"'s ISR, broker 1 leads it again (a clean election, epoch bumped again).
    await c.until(() => n2.cache.partitionState("one", 0)?.leader === 1, "one back");
    assertEquals(n2.cache.partitionState("one", 0)!.leaderEpoch, 2);
  } finally {
    await c.close();
  }
});

Deno.test("Controller: a deposed controller's writes fail and a new one resumes with a larger epoch", async () => {
  const c = cluster();
  try {
    const [n0, n1] = [await c.start(0), await c.start(1)];
    await c.until(() => n0.controller !== undefined && n1.cache.brokers.size === 2, "ready");
    assertEquals(await createTopic(n0, "t", 2, 2), undefined);
    await c.until(() => n1.cache.topicPartitions("t").length === 2, "seen");
    const old = n0.controller!;
    // Node 0's election key disappears (as when its lease is revoked): node 1 takes over.
    await n0.coordinator.resign(old.leadership);
    await c.until(() => n1.controller !== undefined, "node 1 controls");
    assert(n1.controller!.epoch > old.epoch);
    const state = n1.cache.partitionState("t", 0)!;
    const outcome = await old.writePartition("t", 0, state.partitionEpoch, {
      leader: state.leader,
      leaderEpoch: state.leaderEpoch + 7,
      isr: state.isr,
    });
    assertEquals(outcome, "deposed");
    assertEquals(n1.cache.partitionState("t", 0)!.leaderEpoch, state.leaderEpoch);
    // The new controller works from what etcd holds: a topic asked for now is created by it.
    assertEquals(await createTopic(n0, "u", 1, 2), undefined);
    assertEquals(n0.cache.partitions.get("u/0")?.record.controllerEpoch, n1.controller!.epoch);
  } finally {
    await c.close();
  }
});

Deno.test("ClusterIsrWriter: an ISR change loses to a leader change that came first (CAS)", async () => {
  const c = cluster();
  try {
    const [n0, n1] = [await c.start(0), await c.start(1)];
    await c.until(() => n0.controller !== undefined && n1.cache.brokers.size === 2, "ready");
    await n0.admin.createTopic("t", {
      partitions: 1,
      replicationFactor: 2,
      assignment: [[1, 0]],
      configs: {},
    }, 10_000);
    await c.until(() => n1.cache.partitionState("t", 0) !== undefined, "seen");
    const led = n1.cache.partitionState("t", 0)!;
    assertEquals(led.leader, 1);
    // The leader shrinks its ISR: accepted, partitionEpoch moves.
    const shrunk = await n1.isrWriter.alterIsr(led, [1]);
    assert(shrunk !== undefined && shrunk.partitionEpoch > led.partitionEpoch);
    // The controller elects a new leader meanwhile (broker 1's lease expires) ...
    await c.until(
      () => n0.cache.partitionState("t", 0)?.partitionEpoch === shrunk.partitionEpoch,
      "seen",
    );
    c.server.expireLease(n1.lease!.id);
    await c.until(() => n0.cache.partitionState("t", 0)?.leader !== 1, "leader moved");
    // ... so the old leader's next ISR change, made on the state it knew, is refused.
    assertEquals(await n1.isrWriter.alterIsr(shrunk, [1, 0]), undefined);
    assertEquals(n1.isrWriter.refusedCount, 1);
  } finally {
    await c.close();
  }
});

Deno.test("ClusterNode: a racing writer and a compacted watch are survived", async () => {
  const c = cluster([
    { op: "txn", fault: "compare_failed", after: 4, times: 2 },
    { op: "watch", fault: "compacted", after: 3, times: 1 },
  ]);
  try {
    const [n0, n1] = [await c.start(0), await c.start(1)];
    await c.until(() => n0.controller !== undefined && n1.cache.brokers.size === 2, "ready");
    for (const name of ["a", "b", "c"]) {
      const outcome = await createTopic(n1, name, 2, 2);
      // A request whose compare a racing writer broke reports TOPIC_ALREADY_EXISTS or succeeds.
      assert(outcome === undefined || outcome.code === 36, JSON.stringify(outcome));
    }
    assert(c.server.faults.firedCount >= 2);
    assert(n0.cache.relistCount + n1.cache.relistCount >= 1);
    await c.until(() => n0.cache.revision === n1.cache.revision, "caught up");
    assertEquals([...n0.cache.topics.keys()].sort(), [...n1.cache.topics.keys()].sort());
  } finally {
    await c.close();
  }
});

Deno.test("Controller.rebalanceLeaders(): the preferred replica leads again once it is back in sync", async () => {
  const c = cluster();
  try {
    const [n0, n1] = [await c.start(0), await c.start(1)];
    await c.until(() => n0.controller !== undefined && n1.cache.brokers.size === 2, "ready");
    await n0.admin.createTopic("t", {
      partitions: 2,
      replicationFactor: 2,
      assignment: [[1, 0], [0, 1]],
      configs: {},
    }, 10_000);
    await c.until(() => n0.cache.topicPartitions("t").length === 2, "seen");
    c.server.expireLease(n1.lease!.id);
    await c.until(() => n0.cache.partitionState("t", 0)?.leader === 0, "moved to 0");
    await c.until(() => n1.registrationCount === 2 && n0.cache.brokers.has(1), "back");
    // Broker 1 is out of the ISR: nothing to rebalance yet.
    assertEquals(await n0.controller!.rebalanceLeaders(), 0);
    // The leader takes it back into the ISR (as the replica manager does once it caught up).
    const led = n0.cache.partitionState("t", 0)!;
    assert(await n0.isrWriter.alterIsr(led, [0, 1]) !== undefined);
    await c.until(() => n0.cache.partitionState("t", 0)!.isr.length === 2, "in sync");
    assertEquals(await n0.controller!.rebalanceLeaders(), 1);
    await c.until(() => n0.cache.partitionState("t", 0)!.leader === 1, "preferred leads");
    assertEquals(n0.cache.partitionState("t", 0)!.leaderEpoch, led.leaderEpoch + 1);
    assertEquals(n0.cache.partitionState("t", 1)!.leader, 0);
  } finally {
    await c.close();
  }
});
