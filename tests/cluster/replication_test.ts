/**
 * Data replication between in-process brokers (real sockets, real logs),
 * driven by a small test "controller": partition states go straight to each
 * broker's replica manager, and ISR changes through an in-memory IsrWriter
 * that hands every accepted state back to all brokers.
 */
import { assert } from "../../util/assert.ts";
import { concatBytes } from "../../util/bytes.ts";
import { startBrokerFlags } from "../../_start_flags.ts";
import { type Broker, startBrokerWithConfig } from "../../broker/broker.ts";
import { resolveConfig } from "../../broker/config.ts";
import {
  type BrokerEndpoint,
  MemoryIsrWriter,
  type PartitionState,
} from "../../broker/cluster/partition_state.ts";
import { startReplication } from "../../broker/cluster/replica_manager.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { fetchApi, produceApi } from "../../protocol/messages/mod.ts";
import {
  defaultFetchRequest,
  defaultFetchRequestPartition,
  defaultFetchRequestTopic,
} from "../../protocol/messages/fetch.ts";
import { encodeRecordBatch } from "../../protocol/records.ts";
import type { PartitionLog } from "../../storage/partition_log.ts";
import { RawConnection } from "../interop/raw_client.ts";
import { kcatConsume } from "../interop/kcat.ts";

const TOPIC = "replicated";
const WAIT_MS = 10_000;

interface Cluster {
  readonly brokers: Map<number, Broker>;
  readonly isr: MemoryIsrWriter;
  readonly endpoints: Map<number, BrokerEndpoint>;
  /** Resolves with the next stored state that satisfies `test`. */
  stateWhere(test: (s: PartitionState) => boolean): Promise<PartitionState>;
  /** Gives `state` to the brokers in `to` (default: all running). */
  apply(state: PartitionState, to?: number[]): void;
  stop(nodeId: number): Promise<void>;
  close(): Promise<void>;
}

async function startCluster(
  nodeIds: number[],
  options: { lagMs: number; minIsr: number },
): Promise<Cluster> {
  const brokers = new Map<number, Broker>();
  const endpoints = new Map<number, BrokerEndpoint>();
  const dirs: string[] = [];
  const listeners: {
    test: (s: PartitionState) => boolean;
    resolve: (s: PartitionState) => void;
  }[] = [];
  const apply = (state: PartitionState, to = [...brokers.keys()]) => {
    for (const id of to) brokers.get(id)?.replication?.applyPartitionStates([state], endpoints);
  };
  const isr = new MemoryIsrWriter((state) => {
    apply(state);
    for (const l of listeners.splice(0)) {
      if (l.test(state)) l.resolve(state);
      else listeners.push(l);
    }
  });
  for (const nodeId of nodeIds) {
    const dataDir = await Deno.makeTempDir({ prefix: "denka-repl-" });
    dirs.push(dataDir);
    const flags = startBrokerFlags({ port: 0, dataDir, logLevel: "warn", autoCreateTopics: false });
    const broker = await startBrokerWithConfig(resolveConfig([{ options: flags, topics: {} }]));
    startReplication(broker, { nodeId, isrWriter: isr, replicaLagTimeMaxMs: options.lagMs });
    broker.topics.create(TOPIC, 1, { "min.insync.replicas": String(options.minIsr) });
    brokers.set(nodeId, broker);
    endpoints.set(nodeId, { nodeId, host: "127.0.0.1", port: broker.address.port });
  }
  return {
    brokers,
    isr,
    endpoints,
    stateWhere: (test) => {
      const now = isr.get(TOPIC, 0);
      if (now !== undefined && test(now)) return Promise.resolve(now);
      return new Promise((resolve) => listeners.push({ test, resolve }));
    },
    apply,
    async stop(nodeId) {
      await brokers.get(nodeId)?.close();
      brokers.delete(nodeId);
    },
    async close() {
      await Promise.all([...brokers.values()].map((b) => b.close()));
      for (const dir of dirs) await Deno.remove(dir, { recursive: true });
    },
  };
}

function logOf(broker: Broker): PartitionLog {
  return broker.topics.partition(TOPIC, 0)!.log;
}

/** Every byte of a log up to `endOffset` (a follower fetch's view). */
function bytesOf(broker: Broker, endOffset: number): Uint8Array {
  const log = logOf(broker);
  const read = log.read(0, 1 << 30, true);
  const out = concatBytes(read.slices.map((s) => {
    const bytes = new Uint8Array(s.sizeBytes);
    broker.libc.pread(s.fd, bytes, s.positionBytes);
    return bytes;
  }));
  assert.equal(read.nextOffset === -1 ? 0 : read.nextOffset, endOffset);
  return out;
}

async function until(label: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${label}`);
    await new Promise((resolve) => setTimeout(resolve, 5)); // polled: no event for a log end
  }
}

function batch(values: string[]): Uint8Array {
  return encodeRecordBatch(
    values.map((v, i) => ({
      key: null,
      value: new TextEncoder().encode(v),
      timestampMs: 1000 + i,
    })),
  );
}

async function produce(broker: Broker, values: string[], acks: number): Promise<number> {
  const c = await RawConnection.connect(`127.0.0.1:${broker.address.port}`);
  try {
    const response = await c.request(produceApi, 9, {
      transactionalId: null,
      acks,
      timeoutMs: WAIT_MS,
      topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: batch(values) }] }],
    });
    return response.responses[0].partitionResponses[0].errorCode;
  } finally {
    c.close();
  }
}

/** A consumer's fetch from offset 0: its error, high watermark and record bytes. */
async function consume(broker: Broker) {
  const c = await RawConnection.connect(`127.0.0.1:${broker.address.port}`);
  try {
    const response = await c.request(fetchApi, 12, {
      ...defaultFetchRequest(),
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      topics: [{
        ...defaultFetchRequestTopic(),
        topic: TOPIC,
        partitions: [{
          ...defaultFetchRequestPartition(),
          fetchOffset: 0,
          partitionMaxBytes: 1 << 20,
        }],
      }],
    });
    const p = response.responses[0].partitions[0];
    const records = p.records as unknown as Uint8Array | null;
    return {
      errorCode: p.errorCode,
      highWatermark: Number(p.highWatermark),
      bytes: records?.length ?? 0,
      currentLeader: p.currentLeader,
    };
  } finally {
    c.close();
  }
}

/** The partition's first state: led by broker 1 at epoch 1. */
function initial(replicas: number[]): Omit<PartitionState, "partitionEpoch"> {
  return { topic: TOPIC, partition: 0, replicas, leader: 1, leaderEpoch: 1, isr: replicas };
}

Deno.test("Replication: acks=all waits for the followers, whose logs are byte-identical", async () => {
  const cluster = await startCluster([1, 2, 3], { lagMs: 30_000, minIsr: 2 });
  try {
    cluster.apply(cluster.isr.set(initial([1, 2, 3])));
    const [leader, f2, f3] = [1, 2, 3].map((id) => cluster.brokers.get(id)!);
    for (let i = 0; i < 3; i++) {
      assert.equal(await produce(leader, [`a${i}`, `b${i}`], -1), ErrorCode.NONE);
      // acks=all answered: the high watermark passed the batch, so every ISR member has it.
      assert.ok(logOf(f2).logEndOffset >= 2 * (i + 1) && logOf(f3).logEndOffset >= 2 * (i + 1));
    }
    assert.equal(logOf(leader).highWatermark, 6);
    const leaderBytes = bytesOf(leader, 6);
    assert.deepEqual(bytesOf(f2, 6), leaderBytes);
    assert.deepEqual(bytesOf(f3, 6), leaderBytes);
    assert.deepEqual(logOf(f2).leaderEpochCache.entries, [{ epoch: 1, startOffset: 0 }]);
    await until("the followers' high watermark", () => logOf(f2).highWatermark === 6);
    // A follower refuses produce and consumers, naming the leader.
    assert.equal(await produce(f2, ["x"], 1), ErrorCode.NOT_LEADER_OR_FOLLOWER);
    const refused = await consume(f2);
    assert.equal(refused.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    assert.deepEqual(refused.currentLeader, { leaderId: 1, leaderEpoch: 1 });
    // kcat reads from the leader.
    const consumed = await kcatConsume(`127.0.0.1:${leader.address.port}`, { topic: TOPIC });
    assert.deepEqual(consumed.map((m) => m.value), ["a0", "b0", "a1", "b1", "a2", "b2"]);
  } finally {
    await cluster.close();
  }
});

Deno.test("Replication: a stopped follower leaves the ISR; below min.insync.replicas acks=all fails", async () => {
  const cluster = await startCluster([1, 2, 3], { lagMs: 300, minIsr: 2 });
  try {
    cluster.apply(cluster.isr.set(initial([1, 2, 3])));
    const leader = cluster.brokers.get(1)!;
    assert.equal(await produce(leader, ["one"], -1), ErrorCode.NONE);
    await cluster.stop(3);
    const shrunk = await cluster.stateWhere((s) => !s.isr.includes(3));
    assert.deepEqual(shrunk.isr, [1, 2]);
    assert.equal(await produce(leader, ["two"], -1), ErrorCode.NONE); // ISR 2 >= min 2
    await cluster.stop(2);
    await cluster.stateWhere((s) => s.isr.length === 1);
    assert.equal(await produce(leader, ["three"], -1), ErrorCode.NOT_ENOUGH_REPLICAS);
    assert.equal(await produce(leader, ["four"], 1), ErrorCode.NONE); // acks=1 still works
  } finally {
    await cluster.close();
  }
});

Deno.test("Replication: a new leader's epoch truncates the old leader's uncommitted data", async () => {
  const cluster = await startCluster([1, 2], { lagMs: 30_000, minIsr: 1 });
  try {
    const first = cluster.isr.set(initial([1, 2]));
    cluster.apply(first);
    const [b1, b2] = [1, 2].map((id) => cluster.brokers.get(id)!);
    assert.equal(await produce(b1, ["c0", "c1"], -1), ErrorCode.NONE);
    assert.equal(await produce(b1, ["c2"], -1), ErrorCode.NONE);
    await until("the follower's high watermark", () => logOf(b2).highWatermark === 3);
    // Broker 2 loses its leader: broker 1 appends what only it will have.
    cluster.apply({ ...first, leader: -1 }, [2]);
    assert.equal(await produce(b1, ["lost0", "lost1"], 1), ErrorCode.NONE);
    assert.equal(logOf(b1).logEndOffset, 5);
    // Consumers never see above the high watermark.
    const seen = await consume(b1);
    assert.equal(seen.highWatermark, 3);
    assert.equal(seen.bytes, bytesOf(b1, 5).length - batch(["lost0", "lost1"]).length);
    // Broker 2 becomes the leader at epoch 2 and takes a write; broker 1 follows.
    const second = cluster.isr.set({ ...first, leader: 2, leaderEpoch: 2, isr: [2] });
    cluster.apply(second);
    assert.equal(await produce(b2, ["new0"], -1), ErrorCode.NONE);
    await cluster.stateWhere((s) => s.isr.includes(1)); // broker 1 caught up and rejoined
    assert.equal(logOf(b1).logEndOffset, 4);
    assert.deepEqual(bytesOf(b1, 4), bytesOf(b2, 4));
    assert.deepEqual(logOf(b1).leaderEpochCache.entries, [
      { epoch: 1, startOffset: 0 },
      { epoch: 2, startOffset: 3 },
    ]);
    // A stale epoch is fenced; a newer one is unknown.
    const c = await RawConnection.connect(`127.0.0.1:${b2.address.port}`);
    try {
      for (const [epoch, expected] of [[1, 74], [3, 75]]) {
        const r = await c.request(fetchApi, 12, {
          ...defaultFetchRequest(),
          maxWaitMs: 0,
          topics: [{
            ...defaultFetchRequestTopic(),
            topic: TOPIC,
            partitions: [{ ...defaultFetchRequestPartition(), currentLeaderEpoch: epoch }],
          }],
        });
        assert.equal(r.responses[0].partitions[0].errorCode, expected);
      }
    } finally {
      c.close();
    }
  } finally {
    await cluster.close();
  }
});
