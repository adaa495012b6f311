import { assert, assertEquals } from "../../util/assert.ts";
import { memoryLibc } from "../../ffi/memory.ts";
import type { Libc } from "../../ffi/port.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { createLogger } from "../../util/log.ts";
import { ManualClock } from "../groups/timers.ts";
import { TransactionCoordinator } from "./coordinator.ts";
import type { MarkerResult, TxnMarkerChannel } from "./marker_channel.ts";
import type { TxnMarker } from "./partition_markers.ts";
import { TXN_SETTINGS_DEFAULT, type TxnSettings } from "./settings.ts";
import type { TxnTopicPartitions } from "./txn_records.ts";

/** A channel that records markers and answers each partition with `answer` (NONE by default). */
class RecordingChannel implements TxnMarkerChannel {
  readonly sent: { marker: TxnMarker; partitions: readonly TxnTopicPartitions[] }[] = [];
  answer: (topic: string, partition: number) => number = () => ErrorCode.NONE;
  /** When set, sends wait until it resolves. */
  gate: Promise<void> | undefined;

  async send(
    marker: TxnMarker,
    partitions: readonly TxnTopicPartitions[],
  ): Promise<MarkerResult[]> {
    await this.gate;
    this.sent.push({ marker, partitions });
    return partitions.flatMap((tp) =>
      tp.partitions.map((partition) => ({
        topic: tp.topic,
        partition,
        errorCode: this.answer(tp.topic, partition),
      }))
    );
  }
}

let nextId = 1000;

function open(
  libc: Libc,
  clock: ManualClock,
  channel: TxnMarkerChannel,
  settings: Partial<TxnSettings> = {},
): TransactionCoordinator {
  libc.mkdirp("/data");
  return TransactionCoordinator.open(libc, {
    dataDir: "/data",
    settings: { ...TXN_SETTINGS_DEFAULT, ...settings },
    logger: createLogger("silent"),
    nowMs: () => clock.nowMs(),
    nextProducerId: () => nextId++,
    channel,
    partitionExists: (topic, partition) => topic === "t" && partition >= 0 && partition < 4,
    timerPort: clock,
  });
}

function init(c: TransactionCoordinator, transactionalId = "tx", timeoutMs = 60_000) {
  return c.initProducerId({
    transactionalId,
    transactionTimeoutMs: timeoutMs,
    producerId: -1,
    producerEpoch: -1,
  });
}

function producerOf(c: TransactionCoordinator, transactionalId = "tx") {
  const meta = c.get(transactionalId)!;
  return { transactionalId, producerId: meta.producerId, producerEpoch: meta.producerEpoch };
}

Deno.test("TransactionCoordinator.initProducerId bumps the epoch of a known id and bounds the timeout", () => {
  const c = open(memoryLibc({ seed: 1 }), new ManualClock(), new RecordingChannel());
  try {
    const first = init(c);
    assertEquals(first.errorCode, ErrorCode.NONE);
    assertEquals(first.producerEpoch, 0);
    const second = init(c);
    assertEquals([second.producerId, second.producerEpoch], [first.producerId, 1]);
    assertEquals(init(c, "tx", 900_001).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    assertEquals(init(c, "tx", 0).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    assertEquals(init(c, "").errorCode, ErrorCode.INVALID_REQUEST);
    // KIP-360: the epoch before the last bump is a retry (answered the current one);
    // any other epoch that is not the current one is fenced.
    assertEquals(init(c).producerEpoch, 2);
    const withEpoch = (producerEpoch: number) =>
      c.initProducerId({
        transactionalId: "tx",
        transactionTimeoutMs: 60_000,
        producerId: first.producerId,
        producerEpoch,
      });
    assertEquals(withEpoch(1), {
      errorCode: ErrorCode.NONE,
      producerId: first.producerId,
      producerEpoch: 2,
    });
    assertEquals(withEpoch(0).errorCode, ErrorCode.PRODUCER_FENCED);
    assertEquals(withEpoch(2).producerEpoch, 3);
  } finally {
    c.close();
  }
});

Deno.test("TransactionCoordinator commits: Ongoing, PrepareCommit, markers, CompleteCommit", async () => {
  const channel = new RecordingChannel();
  const c = open(memoryLibc({ seed: 2 }), new ManualClock(), channel);
  try {
    init(c);
    const p = producerOf(c);
    const added = c.addPartitions(p, [{ topic: "t", partitions: [1, 0] }]);
    assertEquals(added.errorCode, ErrorCode.NONE);
    assertEquals(c.get("tx")!.state, "Ongoing");
    assertEquals(c.verifyNow({ ...p, topic: "t", partition: 0 }), ErrorCode.NONE);
    assertEquals(c.verifyNow({ ...p, topic: "t", partition: 2 }), ErrorCode.INVALID_TXN_STATE);
    assertEquals(c.addOffsets(p, "g"), ErrorCode.NONE);
    assertEquals(c.endTxn(p, true), ErrorCode.NONE);
    await c.idle();
    assertEquals(c.get("tx")!.state, "CompleteCommit");
    assertEquals(channel.sent.length, 1);
    assertEquals(channel.sent[0].marker.committed, true);
    assertEquals(channel.sent[0].partitions, [
      { topic: "__consumer_offsets", partitions: [c.offsetsPartitionFor("g")] },
      { topic: "t", partitions: [0, 1] },
    ]);
    assertEquals(c.counters.commits, 1);
    // A retried EndTxn is answered NONE; the opposite outcome is refused.
    assertEquals(c.endTxn(p, true), ErrorCode.NONE);
    assertEquals(c.endTxn(p, false), ErrorCode.INVALID_TXN_STATE);
    assertEquals(c.verifyNow({ ...p, topic: "t", partition: 0 }), ErrorCode.INVALID_TXN_STATE);
  } finally {
    c.close();
  }
});

Deno.test("TransactionCoordinator answers CONCURRENT_TRANSACTIONS while markers are written", async () => {
  const channel = new RecordingChannel();
  let release!: () => void;
  channel.gate = new Promise((resolve) => release = resolve);
  const c = open(memoryLibc({ seed: 3 }), new ManualClock(), channel);
  try {
    init(c);
    const p = producerOf(c);
    c.addPartitions(p, [{ topic: "t", partitions: [0] }]);
    assertEquals(c.endTxn(p, false), ErrorCode.NONE);
    assertEquals(c.get("tx")!.state, "PrepareAbort");
    assertEquals(
      c.addPartitions(p, [{ topic: "t", partitions: [0] }]).errorCode,
      ErrorCode.CONCURRENT_TRANSACTIONS,
    );
    assertEquals(init(c).errorCode, ErrorCode.CONCURRENT_TRANSACTIONS);
    assertEquals(c.endTxn(p, false), ErrorCode.CONCURRENT_TRANSACTIONS);
    release();
    await c.idle();
    assertEquals(c.get("tx")!.state, "CompleteAbort");
    assertEquals(c.counters.aborts, 1);
  } finally {
    c.close();
  }
});

Deno.test("TransactionCoordinator fences a zombie: a new InitProducerId aborts its transaction with a bumped epoch", async () => {
  const channel = new RecordingChannel();
  const c = open(memoryLibc({ seed: 4 }), new ManualClock(), channel);
  try {
    init(c);
    const zombie = producerOf(c);
    c.addPartitions(zombie, [{ topic: "t", partitions: [3] }]);
    assertEquals(init(c).errorCode, ErrorCode.CONCURRENT_TRANSACTIONS);
    await c.idle();
    assertEquals(c.get("tx")!.state, "CompleteAbort");
    assertEquals(channel.sent[0].marker.committed, false);
    assertEquals(channel.sent[0].marker.producerEpoch, zombie.producerEpoch + 1);
    const fresh = init(c);
    assertEquals(fresh.errorCode, ErrorCode.NONE);
    assertEquals(fresh.producerEpoch, zombie.producerEpoch + 2);
    assertEquals(
      c.addPartitions(zombie, [{ topic: "t", partitions: [0] }]).errorCode,
      ErrorCode.PRODUCER_FENCED,
    );
    assertEquals(c.endTxn(zombie, true), ErrorCode.PRODUCER_FENCED);
    assertEquals(c.verifyNow({ ...zombie, topic: "t", partition: 3 }), ErrorCode.PRODUCER_FENCED);
    const other = { ...zombie, producerId: zombie.producerId + 7 };
    assertEquals(c.endTxn(other, true), ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  } finally {
    c.close();
  }
});

Deno.test("TransactionCoordinator aborts a transaction open past its timeout on the cleanup interval", async () => {
  const clock = new ManualClock();
  const channel = new RecordingChannel();
  const c = open(memoryLibc({ seed: 5 }), clock, channel, {
    abortTimedOutTransactionCleanupIntervalMs: 1000,
  });
  try {
    init(c, "tx", 5000);
    const p = producerOf(c);
    c.addPartitions(p, [{ topic: "t", partitions: [0] }]);
    clock.advance(4000);
    assertEquals(c.get("tx")!.state, "Ongoing");
    clock.advance(1000);
    await c.idle();
    assertEquals(c.get("tx")!.state, "CompleteAbort");
    assertEquals(c.counters.timeouts, 1);
    assertEquals(channel.sent[0].marker.producerEpoch, p.producerEpoch + 1);
    assertEquals(c.endTxn(p, true), ErrorCode.PRODUCER_FENCED);
  } finally {
    c.close();
  }
});

Deno.test("TransactionCoordinator forgets ids idle for transactional.id.expiration.ms, durably", () => {
  const libc = memoryLibc({ seed: 6 });
  const clock = new ManualClock();
  const settings = {
    transactionalIdExpirationMs: 10_000,
    removeExpiredTransactionalIdCleanupIntervalMs: 1000,
  };
  let c = open(libc, clock, new RecordingChannel(), settings);
  init(c, "old");
  clock.advance(6000);
  init(c, "young");
  clock.advance(5000);
  assertEquals(c.describe("old"), undefined);
  assertEquals(c.describe("young")?.state, "Empty");
  c.close();
  c = open(libc, clock, new RecordingChannel(), settings);
  try {
    assertEquals(c.list().map((t) => t.transactionalId), ["young"]);
  } finally {
    c.close();
  }
});

Deno.test("TransactionCoordinator replays __transaction_state and re-sends the markers of prepared transactions", async () => {
  const libc = memoryLibc({ seed: 7 });
  const clock = new ManualClock();
  const stuck = new RecordingChannel();
  stuck.gate = new Promise(() => {}); // markers never written before the "crash"
  let c = open(libc, clock, stuck);
  init(c, "a");
  init(c, "b");
  const a = producerOf(c, "a");
  const b = producerOf(c, "b");
  c.addPartitions(a, [{ topic: "t", partitions: [0, 1] }]);
  c.addPartitions(b, [{ topic: "t", partitions: [2] }]);
  assertEquals(c.endTxn(a, true), ErrorCode.NONE);
  c.close();
  const channel = new RecordingChannel();
  c = open(libc, clock, channel);
  try {
    await c.idle();
    assertEquals(c.get("a")!.state, "CompleteCommit");
    assertEquals(channel.sent.map((s) => [s.marker.producerId, s.marker.committed, s.partitions]), [
      [a.producerId, true, [{ topic: "t", partitions: [0, 1] }]],
    ]);
    const restored = c.describe("b")!;
    assertEquals([restored.state, restored.producerId, restored.producerEpoch], [
      "Ongoing",
      b.producerId,
      b.producerEpoch,
    ]);
    assertEquals(restored.partitions, [{ topic: "t", partitions: [2] }]);
    assertEquals(c.verifyNow({ ...b, topic: "t", partition: 2 }), ErrorCode.NONE);
  } finally {
    c.close();
  }
});

Deno.test("TransactionCoordinator retries a failed marker until the partition takes it", async () => {
  const clock = new ManualClock();
  const channel = new RecordingChannel();
  let failures = 2;
  channel.answer = (_topic, partition) =>
    partition === 1 && failures-- > 0 ? ErrorCode.NOT_LEADER_OR_FOLLOWER : ErrorCode.NONE;
  const c = open(memoryLibc({ seed: 8 }), clock, channel);
  try {
    init(c);
    const p = producerOf(c);
    c.addPartitions(p, [{ topic: "t", partitions: [0, 1] }]);
    c.endTxn(p, true);
    const done = c.idle();
    for (let i = 0; i < 3 && c.get("tx")!.state !== "CompleteCommit"; i++) {
      await Promise.resolve().then(() => clock.advance(100));
      await new Promise((resolve) => queueMicrotask(() => resolve(undefined)));
    }
    await done;
    assertEquals(c.get("tx")!.state, "CompleteCommit");
    assertEquals(channel.sent.map((s) => s.partitions), [
      [{ topic: "t", partitions: [0, 1] }],
      [{ topic: "t", partitions: [1] }],
      [{ topic: "t", partitions: [1] }],
    ]);
  } finally {
    c.close();
  }
});

Deno.test("TransactionCoordinator.addPartitions refuses partitions that do not exist", () => {
  const c = open(memoryLibc({ seed: 9 }), new ManualClock(), new RecordingChannel());
  try {
    init(c);
    const p = producerOf(c);
    const r = c.addPartitions(p, [{ topic: "t", partitions: [0, 9] }, {
      topic: "nope",
      partitions: [0],
    }]);
    assertEquals(r.errorCode, ErrorCode.OPERATION_NOT_ATTEMPTED);
    assertEquals(r.unknown, [{ topic: "t", partitions: [9] }, { topic: "nope", partitions: [0] }]);
    assertEquals(c.get("tx")!.state, "Empty");
    assert(c.list({ states: ["Ongoing"] }).length === 0);
  } finally {
    c.close();
  }
});
