import { assert } from "../util/assert.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import {
  lastSequenceOf,
  type ProducerBatchHeader,
  ProducerStateManager,
  SnapshotCorruptError,
} from "./producer_state.ts";

function header(
  baseSequence: number,
  options: { producerEpoch?: number; count?: number; baseOffset?: number } = {},
): ProducerBatchHeader {
  return {
    producerId: 7,
    producerEpoch: options.producerEpoch ?? 0,
    baseSequence,
    lastOffsetDelta: (options.count ?? 1) - 1,
    baseOffset: options.baseOffset ?? baseSequence,
    maxTimestampMs: 1000,
  };
}

Deno.test("ProducerStateManager.check() finds duplicates among the last five batches only", () => {
  const state = new ProducerStateManager();
  for (let s = 0; s < 12; s += 2) state.update(header(s, { count: 2, baseOffset: 100 + s }));
  // Batches 2..11 (five) are cached; 0..1 fell out.
  const dup = state.check(header(4, { count: 2 }));
  assert.equal(dup.kind, "duplicate");
  assert.ok(
    dup.kind === "duplicate" && dup.batch.firstOffset === 104 && dup.batch.lastOffset === 105,
  );
  const old = state.check(header(0, { count: 2 }));
  assert.ok(old.kind === "error" && old.errorCode === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  assert.equal(state.check(header(12)).kind, "append");
  const gap = state.check(header(13));
  assert.ok(gap.kind === "error" && gap.errorCode === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  // Same first sequence, different length: not a duplicate, and out of order.
  assert.equal(state.check(header(4, { count: 3 })).kind, "error");
});

Deno.test("ProducerStateManager fences older epochs and wants sequence 0 in a new epoch", () => {
  const state = new ProducerStateManager();
  state.update(header(0, { producerEpoch: 3 }));
  const fenced = state.check(header(1, { producerEpoch: 2 }));
  assert.ok(fenced.kind === "error" && fenced.errorCode === ErrorCode.INVALID_PRODUCER_EPOCH);
  const badStart = state.check(header(5, { producerEpoch: 4 }));
  assert.ok(
    badStart.kind === "error" && badStart.errorCode === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
  );
  assert.equal(state.check(header(0, { producerEpoch: 4 })).kind, "append");
  state.update(header(0, { producerEpoch: 4 }));
  assert.equal(state.entry(7)!.batches.length, 1); // the epoch bump dropped epoch 3's batches
});

Deno.test("ProducerStateManager accepts an unknown producer at any sequence (KIP-360)", () => {
  const state = new ProducerStateManager();
  assert.equal(state.check(header(42)).kind, "append");
});

Deno.test("Sequences wrap at 2^31 - 1", () => {
  assert.equal(lastSequenceOf(2147483646, 3), 1);
  const state = new ProducerStateManager();
  state.update(header(2147483646, { count: 2 }));
  assert.equal(state.check(header(0)).kind, "append");
  assert.equal(state.check(header(1)).kind, "error");
});

Deno.test("ProducerStateManager.check() sees earlier batches of the same request", () => {
  const state = new ProducerStateManager();
  const pending = new Map();
  state.update(header(0, { count: 3 }), pending);
  assert.equal(state.check(header(3), pending).kind, "append");
  assert.equal(state.check(header(0, { count: 3 }), pending).kind, "duplicate");
  assert.equal(state.entry(7), undefined); // nothing committed yet
  state.commit(pending);
  assert.equal(state.entry(7)!.batches.length, 1);
});

Deno.test("ProducerStateManager snapshots round-trip and refuse a corrupt file", () => {
  const state = new ProducerStateManager();
  for (let s = 0; s < 7; s++) state.update(header(s, { baseOffset: 2 ** 40 + s }));
  state.update({ ...header(0), producerId: 2 ** 45 });
  const bytes = state.encode();
  const copy = new ProducerStateManager();
  copy.load(bytes, "x.snapshot");
  assert.deepEqual(copy.entry(7), state.entry(7));
  assert.deepEqual(copy.entry(2 ** 45), state.entry(2 ** 45));
  assert.equal(copy.producerCount, 2);
  for (const i of [3, 12, bytes.length - 1]) {
    const bad = bytes.slice();
    bad[i] ^= 0x40;
    assert.throws(() => new ProducerStateManager().load(bad, "x.snapshot"), SnapshotCorruptError);
  }
  assert.throws(
    () => new ProducerStateManager().load(bytes.subarray(0, 20), "x.snapshot"),
    SnapshotCorruptError,
  );
});

Deno.test("ProducerStateManager expires idle producers and those below the log start", () => {
  const state = new ProducerStateManager();
  state.update(header(0, { baseOffset: 10 }));
  state.update({ ...header(0, { baseOffset: 50 }), producerId: 8, maxTimestampMs: 5000 });
  state.truncateHead(20);
  assert.equal(state.entry(7), undefined);
  assert.ok(state.entry(8) !== undefined);
  assert.equal(state.removeExpired(5000 + 1001, 1000), 1);
  assert.equal(state.producerCount, 0);
});
