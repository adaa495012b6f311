/**
 * Data replication between in-process brokers (real sockets, real logs),
 * driven by a small test "controller": partition states go straight to each
 * broker's replica manager, and ISR changes through an in-memory IsrWriter
 * that hands every accepted state back to all brokers.
 */
import { assert } from "../../util/assert.ts";
import { concatBytes } from "../../util/bytes.ts";
import type { Broker } from "../../broker/broker.ts";
import type { PartitionState } from "../../broker/cluster/partition_state.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import {
  fetchApi,
  listOffsetsApi,
  offsetForLeaderEpochApi,
  produceApi,
} from "../../protocol/messages/mod.ts";
import {
  defaultFetchRequest,
  defaultFetchRequestPartition,
  defaultFetchRequestTopic,
} from "../../protocol/messages/fetch.ts";
import { encodeRecordBatch } from "../../protocol/records.ts";
import type { PartitionLog } from "../../storage/partition_log.ts";
import { RawConnection } from "../interop/raw_client.ts";
import type { Libc } from "../../ffi/port.ts";
import { loadLibc } from "../../ffi/load.ts";
import { kcatConsume } from "../interop/kcat.ts";
import { startTcpProxy } from "./tcp_proxy.ts";
import {
  type ReplicatedBrokers,
  type ReplicatedBrokersOptions,
  startReplicatedBrokers,
} from "./replicated_brokers.ts";

const TOPIC = "replicated";
const WAIT_MS = 10_000;

function startCluster(
  nodeIds: number[],
  options: Omit<ReplicatedBrokersOptions, "topic">,
): Promise<ReplicatedBrokers> {
  return startReplicatedBrokers(nodeIds, { topic: TOPIC, ...options });
}

function logOf(broker: Broker): PartitionLog {
  return broker.topics.partition(TOPIC, 0)!.log;
}

/** Every byte of a log from `fromOffset` up to `endOffset` (a follower fetch's view). */
function bytesOf(broker: Broker, endOffset: number, fromOffset = 0): Uint8Array {
  const log = logOf(broker);
  const read = log.readToLogEnd(fromOffset, 1 << 30);
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
  const response = await produceResponse(broker, values, acks, 9);
  return response.responses[0].partitionResponses[0].errorCode;
}

function produceResponse(broker: Broker, values: string[], acks: number, version: number) {
  return produceRecords(broker, batch(values), acks, version);
}

async function produceRecords(broker: Broker, records: Uint8Array, acks: number, version = 9) {
  const c = await RawConnection.connect(`127.0.0.1:${broker.address.port}`);
  try {
    return await c.request(produceApi, version, {
      transactionalId: null,
      acks,
      timeoutMs: WAIT_MS,
      topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }],
    });
  } finally {
    c.close();
  }
}

/** OffsetForLeaderEpoch v4 of `leaderEpoch`: [errorCode, leaderEpoch, endOffset]. */
async function epochEnd(broker: Broker, leaderEpoch: number): Promise<number[]> {
  const c = await RawConnection.connect(`127.0.0.1:${broker.address.port}`);
  try {
    const r = await c.request(offsetForLeaderEpochApi, 4, {
      replicaId: -1,
      topics: [{
        topic: TOPIC,
        partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch }],
      }],
    });
    const p = r.topics[0].partitions[0];
    return [p.errorCode, p.leaderEpoch, Number(p.endOffset)];
  } finally {
    c.close();
  }
}

/** ListOffsets LATEST v7: the offset a consumer would start at from the end. */
async function latestOffset(broker: Broker): Promise<number> {
  const c = await RawConnection.connect(`127.0.0.1:${broker.address.port}`);
  try {
    const r = await c.request(listOffsetsApi, 7, {
      replicaId: -1,
      isolationLevel: 0,
      timeoutMs: 0,
      topics: [{
        name: TOPIC,
        partitions: [{
          partitionIndex: 0,
          currentLeaderEpoch: -1,
          timestamp: -1,
          maxNumOffsets: 1,
        }],
      }],
    });
    return Number(r.topics[0].partitions[0].offset);
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
    const notLeader = await produceResponse(f2, ["x"], 1, 10);
    const answer = notLeader.responses[0].partitionResponses[0];
    assert.equal(answer.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    assert.deepEqual(answer.currentLeader, { leaderId: 1, leaderEpoch: 1 });
    assert.deepEqual(notLeader.nodeEndpoints, [
      { nodeId: 1, host: "127.0.0.1", port: leader.address.port, rack: null },
    ]);
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
  // replica.lag.time.max.ms small enough for a quick test, large enough for a loaded machine.
  const cluster = await startCluster([1, 2, 3], { lagMs: 1000, minIsr: 2 });
  try {
    cluster.apply(cluster.isr.set(initial([1, 2, 3])));
    const leader = cluster.brokers.get(1)!;
    assert.equal(await produce(leader, ["one"], -1), ErrorCode.NONE);
    await cluster.stop(3);
    const shrunk = await cluster.stateWhere((s) => !s.isr.includes(3));
    assert.deepEqual(shrunk.isr, [1, 2]);
    assert.equal(await produce(leader, ["two"], -1), ErrorCode.NONE); // ISR 2 >= min 2
    const metrics = leader.metrics.render();
    assert.match(metrics, /^denka_isr_shrinks_total [1-9]\d*$/m);
    assert.match(
      metrics,
      /^denka_follower_lag_offsets\{topic="replicated",partition="0",replica="2"\} 0$/m,
    );
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
    assert.equal(await latestOffset(b1), 3);
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
    assert.deepEqual(await epochEnd(b2, 1), [ErrorCode.NONE, 1, 3]);
    assert.deepEqual(await epochEnd(b2, 2), [ErrorCode.NONE, 2, 4]);
    assert.deepEqual(await epochEnd(b1, 2), [ErrorCode.NOT_LEADER_OR_FOLLOWER, -1, -1]);
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

Deno.test("Replication: a restarted leader starts from its checkpointed high watermark, not its log end", async () => {
  const cluster = await startCluster([1, 2], { lagMs: 30_000, minIsr: 1 });
  try {
    const first = cluster.isr.set(initial([1, 2]));
    cluster.apply(first);
    const b2 = cluster.brokers.get(2)!;
    assert.equal(await produce(cluster.brokers.get(1)!, ["kept"], -1), ErrorCode.NONE);
    await until("the follower's high watermark", () => logOf(b2).highWatermark === 1);
    cluster.apply({ ...first, leader: -1 }, [2]); // broker 2 stops fetching
    assert.equal(await produce(cluster.brokers.get(1)!, ["unsure"], 1), ErrorCode.NONE);
    const b1 = await cluster.restart(1);
    assert.equal(logOf(b1).logEndOffset, 2);
    cluster.apply(first, [1]);
    assert.equal(logOf(b1).highWatermark, 1); // "unsure" is not committed
    assert.equal((await consume(b1)).highWatermark, 1);
    cluster.apply(first, [2]); // broker 2 fetches again: now it is
    await until("the leader's high watermark", () => logOf(b1).highWatermark === 2);
  } finally {
    await cluster.close();
  }
});

Deno.test("Replication: a follower behind the leader's log start starts over there", async () => {
  const cluster = await startCluster([1, 2], { lagMs: 30_000, minIsr: 1 });
  try {
    const alone = cluster.isr.set({ ...initial([1, 2]), isr: [1] });
    cluster.apply(alone, [1]); // broker 2 does not follow yet
    const [b1, b2] = [1, 2].map((id) => cluster.brokers.get(id)!);
    for (let i = 0; i < 3; i++) assert.equal(await produce(b1, [`${i}a`, `${i}b`], -1), 0);
    assert.equal(logOf(b1).deleteRecordsBefore(4).errorCode, ErrorCode.NONE);
    cluster.apply(alone, [2]);
    await cluster.stateWhere((s) => s.isr.includes(2)); // caught up from offset 4 and rejoined
    assert.deepEqual([logOf(b2).logStartOffset, logOf(b2).logEndOffset], [4, 6]);
    assert.deepEqual(bytesOf(b2, 6, 4), bytesOf(b1, 6, 4));
    // A later DeleteRecords on the leader moves the follower's log start too.
    assert.equal(logOf(b1).deleteRecordsBefore(5).errorCode, ErrorCode.NONE);
    assert.equal(await produce(b1, ["3a"], -1), ErrorCode.NONE); // a fetch carries it over
    await until("the follower's log start", () => logOf(b2).logStartOffset === 5);
  } finally {
    await cluster.close();
  }
});

/** The real libc, with every async fdatasync held until `open()`. */
function gatedLibc(): { libc: Libc; open: () => void; held: () => number } {
  const real = loadLibc();
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let held = 0;
  const libc = new Proxy(real, {
    get(target, key) {
      if (key === "fdatasyncAsync") {
        return async (fd: number) => {
          held++;
          await gate;
          return await target.fdatasyncAsync(fd);
        };
      }
      const value = Reflect.get(target, key);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { libc, open, held: () => held };
}

Deno.test("Replication under --flush sync: a follower's offset counts only after its own fdatasync", async () => {
  const gated = gatedLibc();
  const cluster = await startCluster([1, 2], {
    lagMs: 30_000,
    minIsr: 2,
    flush: "sync",
    libcOf: (id) => id === 2 ? gated.libc : undefined,
  });
  try {
    cluster.apply(cluster.isr.set(initial([1, 2])));
    const [b1, b2] = [1, 2].map((id) => cluster.brokers.get(id)!);
    let answered = false;
    const produced = produce(b1, ["durable"], -1).then((code) => {
      answered = true;
      return code;
    });
    await until("the follower's append and flush", () => gated.held() > 0);
    assert.equal(logOf(b2).logEndOffset, 1); // appended, not yet on its disk
    assert.equal(logOf(b1).highWatermark, 0);
    assert.equal(answered, false);
    gated.open();
    assert.equal(await produced, ErrorCode.NONE);
    assert.equal(logOf(b1).highWatermark, 1);
  } finally {
    gated.open();
    await cluster.close();
  }
});

Deno.test("Replication: a follower that learns a new epoch before its leader retries until the leader knows", async () => {
  const cluster = await startCluster([1, 2], { lagMs: 30_000, minIsr: 2 });
  try {
    const first = cluster.isr.set(initial([1, 2]));
    cluster.apply(first);
    const [b1, b2] = [1, 2].map((id) => cluster.brokers.get(id)!);
    assert.equal(await produce(b1, ["e1"], -1), ErrorCode.NONE);
    const second = cluster.isr.set({ ...first, leaderEpoch: 2 });
    cluster.apply(second, [2]); // broker 2 fetches at epoch 2: UNKNOWN_LEADER_EPOCH from broker 1
    let answered = false;
    const produced = produce(b1, ["e1-late"], -1).then((code) => (answered = true, code));
    await until(
      "broker 2 to hold epoch 2",
      () => cluster.brokers.get(2)!.replication!.stateOf(TOPIC, 0)?.leaderEpoch === 2,
    );
    assert.equal(answered, false);
    cluster.apply(second, [1]);
    // Broker 1 now leads epoch 2: its append path fails the epoch-1 waiter or it completes.
    const code = await produced;
    assert.ok(code === ErrorCode.NONE || code === ErrorCode.NOT_LEADER_OR_FOLLOWER);
    assert.equal(await produce(b1, ["e2"], -1), ErrorCode.NONE); // the follower fetches again
    assert.deepEqual(bytesOf(b2, logOf(b1).logEndOffset), bytesOf(b1, logOf(b1).logEndOffset));
  } finally {
    await cluster.close();
  }
});

Deno.test("Replication: follower fetches are not throttled by client quotas", async () => {
  const cluster = await startCluster([1, 2], {
    lagMs: 30_000,
    minIsr: 2,
    quotaConsumerByteRate: 1,
  });
  try {
    cluster.apply(cluster.isr.set(initial([1, 2])));
    const b1 = cluster.brokers.get(1)!;
    for (let i = 0; i < 3; i++) {
      assert.equal(await produce(b1, ["x".repeat(1000)], -1), ErrorCode.NONE); // 1 B/s would stall it
    }
  } finally {
    await cluster.close();
  }
});

Deno.test("Replication: a cut link drops the follower from the ISR; healed, it catches up and rejoins", async () => {
  const cluster = await startCluster([1, 2], { lagMs: 1000, minIsr: 1 });
  const proxy = startTcpProxy({ hostname: "127.0.0.1", port: cluster.endpoints.get(1)!.port });
  try {
    cluster.endpoints.set(1, { nodeId: 1, host: "127.0.0.1", port: proxy.port }); // 2 -> 1 via the link
    cluster.apply(cluster.isr.set(initial([1, 2])));
    const [b1, b2] = [1, 2].map((id) => cluster.brokers.get(id)!);
    assert.equal(await produce(b1, ["before"], -1), ErrorCode.NONE);
    proxy.cut();
    await cluster.stateWhere((s) => s.isr.length === 1);
    assert.equal(await produce(b1, ["during0", "during1"], -1), ErrorCode.NONE); // ISR [1], min 1
    assert.equal(logOf(b2).logEndOffset, 1);
    proxy.heal();
    await cluster.stateWhere((s) => s.isr.includes(2));
    assert.deepEqual(bytesOf(b2, 3), bytesOf(b1, 3));
    assert.ok(proxy.connectionsAccepted >= 2); // the fetcher reconnected
  } finally {
    await proxy.close();
    await cluster.close();
  }
});

Deno.test("Replication: a follower whose link goes silent gives up on it and reconnects", async () => {
  const cluster = await startCluster([1, 2], { lagMs: 1000, minIsr: 1, socketTimeoutMs: 300 });
  const proxy = startTcpProxy({ hostname: "127.0.0.1", port: cluster.endpoints.get(1)!.port });
  try {
    cluster.endpoints.set(1, { nodeId: 1, host: "127.0.0.1", port: proxy.port });
    cluster.apply(cluster.isr.set(initial([1, 2])));
    const b1 = cluster.brokers.get(1)!;
    assert.equal(await produce(b1, ["before"], -1), ErrorCode.NONE);
    const accepted = proxy.connectionsAccepted;
    proxy.blackhole(); // no reset: only the fetch's timeout notices
    await until("the fetcher to reconnect", () => proxy.connectionsAccepted > accepted);
    proxy.heal();
    assert.equal(await produce(b1, ["after"], -1), ErrorCode.NONE);
    assert.deepEqual(bytesOf(cluster.brokers.get(2)!, 2), bytesOf(b1, 2));
  } finally {
    await proxy.close();
    await cluster.close();
  }
});

Deno.test("Replication: a new leader knows the idempotent producers and answers a retry with its offset", async () => {
  const cluster = await startCluster([1, 2], { lagMs: 30_000, minIsr: 2 });
  try {
    const first = cluster.isr.set(initial([1, 2]));
    cluster.apply(first);
    const [b1, b2] = [1, 2].map((id) => cluster.brokers.get(id)!);
    const idempotent = (sequence: number) =>
      encodeRecordBatch([{ key: null, value: new Uint8Array([sequence]), timestampMs: 1 }], {
        producerId: 4242,
        producerEpoch: 0,
        baseSequence: sequence,
      });
    const answer = async (broker: Broker, sequence: number) => {
      const r = await produceRecords(broker, idempotent(sequence), -1);
      const p = r.responses[0].partitionResponses[0];
      return [p.errorCode, Number(p.baseOffset)];
    };
    assert.deepEqual(await answer(b1, 0), [ErrorCode.NONE, 0]);
    assert.deepEqual(await answer(b1, 1), [ErrorCode.NONE, 1]);
    cluster.apply(cluster.isr.set({ ...first, leader: 2, leaderEpoch: 2 }));
    assert.deepEqual(await answer(b2, 1), [ErrorCode.NONE, 1]); // the retry, stored once
    assert.deepEqual(await answer(b2, 2), [ErrorCode.NONE, 2]);
    assert.equal(logOf(b2).logEndOffset, 3);
    await until("the old leader to follow", () => logOf(b1).logEndOffset === 3);
    assert.deepEqual(bytesOf(b1, 3), bytesOf(b2, 3));
  } finally {
    await cluster.close();
  }
});

Deno.test("Replication: deleting a topic stops its replicas and their fetchers", async () => {
  const cluster = await startCluster([1, 2], { lagMs: 30_000, minIsr: 2 });
  try {
    cluster.apply(cluster.isr.set(initial([1, 2])));
    const [b1, b2] = [1, 2].map((id) => cluster.brokers.get(id)!);
    assert.equal(await produce(b1, ["gone"], -1), ErrorCode.NONE);
    assert.equal(b2.replication!.fetcherCount, 1);
    b2.topics.delete(TOPIC);
    assert.equal(b2.replication!.fetcherCount, 0);
    assert.equal(b2.replication!.stateOf(TOPIC, 0), undefined);
    b1.topics.delete(TOPIC);
    assert.equal(b1.replication!.checkLeader(TOPIC, 0).errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
  } finally {
    await cluster.close();
  }
});

Deno.test("Replication: a follower stops fetching from a leader whose registration is gone", async () => {
  const cluster = await startCluster([1, 2], { lagMs: 30_000, minIsr: 1 });
  try {
    const first = cluster.isr.set(initial([1, 2]));
    cluster.apply(first);
    const [b1, b2] = [1, 2].map((id) => cluster.brokers.get(id)!);
    assert.equal(await produce(b1, ["before"], -1), ErrorCode.NONE);
    assert.equal(b2.replication!.fetcherCount, 1);
    // Broker 1's lease is gone (its registration deleted) before a controller moved leadership.
    const endpoint = cluster.endpoints.get(1)!;
    cluster.endpoints.delete(1);
    cluster.apply(first, [2]);
    assert.equal(b2.replication!.fetcherCount, 0);
    // Registered again: broker 2 follows again and catches up.
    cluster.endpoints.set(1, endpoint);
    cluster.apply(first, [2]);
    assert.equal(b2.replication!.fetcherCount, 1);
    assert.equal(await produce(b1, ["after"], 1), ErrorCode.NONE);
    await until("the follower to catch up", () => logOf(b2).logEndOffset === 2);
  } finally {
    await cluster.close();
  }
});

Deno.test("Replication: a follower with an epoch its new leader never had truncates to where they agree", async () => {
  const cluster = await startCluster([1, 2], { lagMs: 30_000, minIsr: 1 });
  try {
    const first = cluster.isr.set(initial([1, 2]));
    cluster.apply(first);
    const [b1, b2] = [1, 2].map((id) => cluster.brokers.get(id)!);
    assert.equal(await produce(b1, ["a", "b", "c"], -1), ErrorCode.NONE);
    await until("the follower's log end", () => logOf(b2).logEndOffset === 3);
    // Epoch 2, still led by broker 1, which appends what broker 2 never gets.
    const second = cluster.isr.set({ ...first, leaderEpoch: 2, isr: [1] });
    cluster.apply(second, [1]);
    cluster.apply({ ...second, leader: -1 }, [2]);
    assert.equal(await produce(b1, ["x", "y"], 1), ErrorCode.NONE);
    // Epoch 3 led by broker 2, which appends nothing: broker 1 must still find the divergence.
    const third = cluster.isr.set({ ...first, leader: 2, leaderEpoch: 3, isr: [2] });
    cluster.apply(third);
    assert.deepEqual(await epochEnd(b2, 2), [ErrorCode.NONE, 1, 3]);
    await cluster.stateWhere((s) => s.isr.includes(1));
    assert.equal(logOf(b1).logEndOffset, 3);
    assert.deepEqual(bytesOf(b1, 3), bytesOf(b2, 3));
  } finally {
    await cluster.close();
  }
});

Deno.test("Replication: a follower whose leader's registration lapsed stops fetching from it once it leads", async () => {
  const cluster = await startCluster([1, 2], { lagMs: 30_000, minIsr: 1 });
  try {
    const first = cluster.isr.set(initial([1, 2]));
    cluster.apply(first);
    const [b1, b2] = [1, 2].map((id) => cluster.brokers.get(id)!);
    assert.equal(await produce(b1, ["a"], -1), ErrorCode.NONE);
    assert.equal(b2.replication!.fetcherCount, 1);
    // Broker 1's registration expires (paused past its session): the same state, no endpoint.
    const without1 = new Map([...cluster.endpoints].filter(([id]) => id !== 1));
    b2.replication!.applyPartitionStates([first], without1);
    // Broker 2 is elected; broker 1 (not told yet, a zombie) still takes writes at epoch 1.
    const second = cluster.isr.set({ ...first, leader: 2, leaderEpoch: 2, isr: [2] });
    b2.replication!.applyPartitionStates([second], without1);
    assert.equal(b2.replication!.fetcherCount, 0); // no fetcher left on the deposed leader
    assert.equal(await produce(b1, ["zombie"], 1), ErrorCode.NONE);
    assert.equal(await produce(b2, ["b"], 1), ErrorCode.NONE);
    assert.deepEqual(logOf(b2).leaderEpochCache.entries, [
      { epoch: 1, startOffset: 0 },
      { epoch: 2, startOffset: 1 },
    ]);
    assert.equal(logOf(b2).logEndOffset, 2);
  } finally {
    await cluster.close();
  }
});
