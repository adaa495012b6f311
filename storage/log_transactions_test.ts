import { assert } from "../util/assert.ts";
import { memoryLibc } from "../ffi/memory.ts";
import { IoError } from "../ffi/port.ts";
import { TransactionIndex } from "./txn_index.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { encodeControlBatch } from "../protocol/control_batch.ts";
import { crc32c } from "../protocol/record_batch.ts";
import { decodeRecordBatches, encodeRecordBatch } from "../protocol/records.ts";
import { concatBytes } from "../util/bytes.ts";
import { compactLog } from "./cleaner.ts";
import { PartitionLog } from "./partition_log.ts";
import { ProducerStateManager } from "./producer_state.ts";

const DIR = "/d/t-0";

/** A transactional batch of `count` records from producer `producerId` at `baseSequence`. */
function txnBatch(producerId: number, baseSequence: number, count = 1, producerEpoch = 0) {
  return encodeRecordBatch(
    Array.from({ length: count }, (_, i) => ({
      key: null,
      value: new TextEncoder().encode(`p${producerId}-${baseSequence + i}`),
      timestampMs: 1000 + i,
    })),
    { producerId, producerEpoch, baseSequence, isTransactional: true },
  );
}

function marker(producerId: number, committed: boolean, producerEpoch = 0, coordinatorEpoch = 0) {
  return encodeControlBatch({ producerId, producerEpoch, coordinatorEpoch, committed }, 2000);
}

/** Appends a transactional batch the way a verified produce does. */
function produce(log: PartitionLog, bytes: Uint8Array, producerId: number) {
  const verificationGuard = log.producerState.startVerification(producerId);
  return log.append(bytes, { nowMs: 0, verificationGuard });
}

function writeMarker(log: PartitionLog, bytes: Uint8Array) {
  return log.append(bytes, { nowMs: 0, origin: "coordinator" });
}

Deno.test("PartitionLog.append() refuses a transactional batch no verification vouches for", () => {
  const log = PartitionLog.open(memoryLibc(), DIR);
  const refused = log.append(txnBatch(1, 0), { nowMs: 0 });
  assert.ok(!refused.ok && refused.errorCode === ErrorCode.INVALID_TXN_STATE);
  assert.equal(log.logEndOffset, 0);
  assert.ok(produce(log, txnBatch(1, 0), 1).ok);
  // The transaction is ongoing now: the next batch needs no guard.
  assert.ok(log.append(txnBatch(1, 1), { nowMs: 0 }).ok);
  log.close();
});

Deno.test("A marker voids a verification made before it (the delayed-produce hazard)", () => {
  const log = PartitionLog.open(memoryLibc(), DIR);
  assert.ok(produce(log, txnBatch(1, 0), 1).ok);
  const guard = log.producerState.startVerification(1); // a produce of the next transaction...
  assert.ok(writeMarker(log, marker(1, true)).ok); // ...delayed past EndTxn and its marker
  const late = log.append(txnBatch(1, 1), { nowMs: 0, verificationGuard: guard });
  assert.ok(!late.ok && late.errorCode === ErrorCode.INVALID_TXN_STATE);
  assert.equal(log.producerState.hasOngoingTxn(1), false);
  log.close();
});

Deno.test("PartitionLog.lastStableOffset stops at the first ongoing transaction", () => {
  const log = PartitionLog.open(memoryLibc(), DIR);
  assert.ok(
    log.append(encodeRecordBatch([{ key: null, value: null, timestampMs: 1 }]), {
      nowMs: 0,
    }).ok,
  ); // offset 0, not transactional
  assert.ok(produce(log, txnBatch(1, 0, 2), 1).ok); // 1..2
  assert.ok(produce(log, txnBatch(2, 0), 2).ok); // 3
  assert.equal(log.lastStableOffset, 1);
  assert.ok(writeMarker(log, marker(1, false)).ok); // 4: abort producer 1
  assert.equal(log.lastStableOffset, 3);
  assert.ok(writeMarker(log, marker(2, true)).ok); // 5: commit producer 2
  assert.equal(log.lastStableOffset, log.logEndOffset);
  assert.equal(log.logEndOffset, 6);
  assert.deepEqual(log.segments[0].txnIndex.entries, [
    { producerId: 1, firstOffset: 1, lastOffset: 4, lastStableOffset: 3 },
  ]);
  log.close();
});

Deno.test("PartitionLog.read() with read_committed stops at the LSO and lists aborted transactions", () => {
  const log = PartitionLog.open(memoryLibc(), DIR);
  assert.ok(produce(log, txnBatch(1, 0, 2), 1).ok); // 0..1
  assert.ok(writeMarker(log, marker(1, false)).ok); // 2
  assert.ok(produce(log, txnBatch(1, 2), 1).ok); // 3, ongoing
  const committed = log.read(0, 1 << 20, true);
  assert.equal(committed.lastStableOffset, 3);
  assert.equal(committed.nextOffset, 3);
  assert.deepEqual(committed.abortedTransactions, [
    { producerId: 1, firstOffset: 0, lastOffset: 2, lastStableOffset: 3 },
  ]);
  const uncommitted = log.read(0, 1 << 20);
  assert.equal(uncommitted.nextOffset, 4);
  assert.equal(uncommitted.abortedTransactions, undefined);
  const atLso = log.read(3, 1 << 20, true);
  assert.equal(atLso.errorCode, ErrorCode.NONE);
  assert.equal(atLso.slices.length, 0);
  // Past the aborted transaction's marker: nothing to report.
  assert.ok(writeMarker(log, marker(1, true)).ok); // 4
  assert.deepEqual(log.read(3, 1 << 20, true).abortedTransactions, []);
  log.close();
});

Deno.test("Markers are fenced by producer epoch and coordinator epoch", () => {
  const log = PartitionLog.open(memoryLibc(), DIR);
  assert.ok(produce(log, txnBatch(1, 0, 1, 5), 1).ok);
  const stale = writeMarker(log, marker(1, false, 4));
  assert.ok(!stale.ok && stale.errorCode === ErrorCode.INVALID_PRODUCER_EPOCH);
  assert.ok(writeMarker(log, marker(1, false, 5, 3)).ok);
  const oldCoordinator = writeMarker(log, marker(1, false, 5, 2));
  assert.ok(
    !oldCoordinator.ok && oldCoordinator.errorCode === ErrorCode.TRANSACTION_COORDINATOR_FENCED,
  );
  // A marker for a producer with no ongoing transaction is written all the same (Kafka).
  const again = writeMarker(log, marker(1, false, 5, 3));
  assert.ok(again.ok);
  assert.equal(log.segments[0].txnIndex.entries.length, 1);
  // A zombie's data batch with the old epoch is fenced.
  const zombie = produce(log, txnBatch(1, 1, 1, 4), 1);
  assert.ok(!zombie.ok && zombie.errorCode === ErrorCode.INVALID_PRODUCER_EPOCH);
  // Clients may not write markers.
  const forged = log.append(marker(1, true, 5, 3), { nowMs: 0 });
  assert.ok(!forged.ok && forged.errorCode === ErrorCode.INVALID_RECORD);
  log.close();
});

Deno.test("ProducerStateManager snapshots keep ongoing transactions; expiry spares them", () => {
  const state = new ProducerStateManager();
  const header = {
    producerId: 9,
    producerEpoch: 2,
    baseSequence: 0,
    lastOffsetDelta: 1,
    baseOffset: 40,
    maxTimestampMs: 5,
    isTransactional: true,
  };
  state.update(header);
  state.update({
    producerId: 10,
    producerEpoch: 0,
    baseSequence: 0,
    lastOffsetDelta: 0,
    baseOffset: 42,
    maxTimestampMs: 5,
  });
  assert.equal(state.firstUnstableOffset(), 40);
  const copy = new ProducerStateManager();
  copy.load(state.encode(), "test");
  assert.equal(copy.firstUnstableOffset(), 40);
  assert.deepEqual(copy.entry(9), state.entry(9));
  assert.equal(copy.removeExpired(1_000_000, 1000), 1); // producer 10 only
  assert.ok(copy.hasOngoingTxn(9));
});

Deno.test("Recovery rebuilds the transaction index and the LSO after a crash", async () => {
  const libc = memoryLibc();
  let log = PartitionLog.open(libc, DIR, { segmentBytes: 400 });
  for (let i = 0; i < 4; i++) {
    assert.ok(produce(log, txnBatch(1, 2 * i, 2), 1).ok);
    assert.ok(writeMarker(log, marker(1, i % 2 === 0)).ok);
  }
  assert.ok(produce(log, txnBatch(2, 0), 2).ok); // ongoing at the crash
  const before = log.segments.map((s) => s.txnIndex.entries.slice());
  const lso = log.lastStableOffset;
  assert.ok(log.segments.length > 1);
  assert.equal(before.flat().length, 2);
  const active = log.segments[log.segments.length - 1];
  assert.equal(active.txnIndex.entries.length, 1);
  // The log's bytes reach the disk (group commit), the active segment's index does not.
  await log.flushAsync();
  assert.equal(libc.durableSizeBytes(active.txnIndex.path), 0);
  libc.crash();
  log = PartitionLog.open(libc, DIR, { segmentBytes: 400 });
  assert.equal(log.loadStats.clean, false);
  assert.deepEqual(log.segments.map((s) => s.txnIndex.entries), before);
  assert.equal(log.lastStableOffset, lso);
  log.close();
  // A clean restart loads it all from the files and the snapshot.
  log = PartitionLog.open(libc, DIR, { segmentBytes: 400 });
  assert.deepEqual(log.segments.map((s) => s.txnIndex.entries), before);
  assert.equal(log.lastStableOffset, lso);
  log.close();
});

Deno.test("A torn transaction index is rebuilt from the whole log", () => {
  const libc = memoryLibc();
  let log = PartitionLog.open(libc, DIR, { segmentBytes: 400 });
  for (let i = 0; i < 4; i++) {
    assert.ok(produce(log, txnBatch(1, 2 * i, 2), 1).ok);
    assert.ok(writeMarker(log, marker(1, false)).ok);
  }
  const before = log.segments.map((s) => s.txnIndex.entries);
  const path = log.segments[0].txnIndex.path;
  log.close();
  const bytes = libc.readFile(path);
  libc.writeFileAtomic(path, bytes.subarray(0, bytes.length - 5));
  log = PartitionLog.open(libc, DIR, { segmentBytes: 400 });
  assert.deepEqual(log.segments.map((s) => s.txnIndex.entries), before);
  log.close();
});

Deno.test("Retention deletes a segment's transaction index with it", () => {
  const libc = memoryLibc();
  const log = PartitionLog.open(libc, DIR, { segmentBytes: 400 });
  for (let i = 0; i < 4; i++) {
    assert.ok(produce(log, txnBatch(1, 2 * i, 2), 1).ok);
    assert.ok(writeMarker(log, marker(1, false)).ok);
  }
  const path = log.segments[0].txnIndex.path;
  assert.ok(libc.exists(path));
  log.deleteRecordsBefore(log.segments[1].baseOffset);
  assert.equal(libc.exists(path), false);
  log.close();
});

Deno.test("compactLog() drops aborted data, keeps markers and stops at the LSO", async () => {
  const log = PartitionLog.open(memoryLibc(), DIR, {
    segmentBytes: 400,
    cleanupCompact: true,
    cleanupDelete: false,
  });
  const keyed = (producerId: number, sequence: number, key: string, value: string) =>
    encodeRecordBatch([{ key: text(key), value: text(value), timestampMs: 1 }], {
      producerId,
      producerEpoch: 0,
      baseSequence: sequence,
      isTransactional: true,
    });
  // Committed k=v1, then an aborted k=v2 that must not shadow it.
  assert.ok(produce(log, keyed(1, 0, "k", "v1"), 1).ok);
  assert.ok(writeMarker(log, marker(1, true)).ok);
  assert.ok(produce(log, keyed(1, 1, "k", "v2"), 1).ok);
  assert.ok(writeMarker(log, marker(1, false)).ok);
  assert.ok(produce(log, keyed(3, 0, "f", "x"), 3).ok);
  assert.ok(writeMarker(log, marker(3, true)).ok); // offset 5: segment 0 ends at 4
  // An undecided transaction from here on: nothing at or after it is cleaned.
  assert.ok(produce(log, keyed(2, 0, "k", "v3"), 2).ok);
  const lso = log.lastStableOffset;
  for (let i = 0; i < 6; i++) assert.ok(produce(log, keyed(2, 1 + i, `o${i}`, "x"), 2).ok);
  assert.ok(log.segments.length > 2);
  assert.ok(log.segments[0].nextOffset <= lso && log.segments[1].nextOffset > lso);
  const result = await compactLog(log, { nowMs: 0 });
  assert.equal(result.recordsRemoved, 1); // the aborted v2 only: v1 is the latest committed k
  const kept = decodeRecordBatches(concatSegments(log, lso));
  assert.deepEqual(
    kept.map((b) => [b.baseOffset, (b.attributes & 0x20) !== 0]),
    [[0, false], [1, true], [3, true], [4, false], [5, true]],
  );
  assert.equal(new TextDecoder().decode(kept[0].records[0].value!), "v1");
  assert.deepEqual(log.segments.flatMap((s) => s.txnIndex.entries).map((t) => t.lastOffset), [3]);
  // read_committed still sees v1 and skips nothing it should keep.
  const read = log.read(0, 1 << 20, true);
  assert.equal(read.lastStableOffset, lso);
  log.close();
});

function text(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** The bytes of every batch below `endOffset`. */
function concatSegments(log: PartitionLog, endOffset: number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const segment of log.segments) {
    segment.forEachBatch(segment.baseOffset, (header, positionBytes) => {
      if (header.baseOffset >= endOffset) return false;
      parts.push(segment.readBytes(positionBytes, header.sizeBytes));
    });
  }
  return concatBytes(parts);
}

Deno.test("ProducerStateManager.load() still reads version 1 snapshots (before transactions)", () => {
  const bytes = new Uint8Array(10 + 19);
  const view = new DataView(bytes.buffer);
  view.setInt16(0, 1);
  view.setInt32(6, 1);
  view.setFloat64(10, 77);
  view.setInt16(18, 3);
  view.setFloat64(20, 1234);
  view.setUint32(2, crc32c(bytes, 6));
  const state = new ProducerStateManager();
  state.load(bytes, "v1");
  assert.deepEqual(state.entry(77), {
    producerId: 77,
    producerEpoch: 3,
    lastTimestampMs: 1234,
    batches: [],
    currentTxnFirstOffset: -1,
    currentTxnLastOffset: -1,
    coordinatorEpoch: -1,
  });
  assert.equal(state.firstUnstableOffset(), undefined);
});

Deno.test("PartitionLog.read() with read_committed stops at an LSO in any segment, at any boundary", () => {
  const log = PartitionLog.open(memoryLibc(), DIR, { segmentBytes: 300 });
  const plain = () => encodeRecordBatch([{ key: null, value: text("v"), timestampMs: 1 }]);
  for (let i = 0; i < 12; i++) assert.ok(log.append(plain(), { nowMs: 0 }).ok);
  const bases = log.segments.map((s) => s.baseOffset);
  assert.ok(bases.length >= 3);
  // An ongoing transaction starting exactly at a segment boundary (its batch rolls).
  const txnSizeBytes = txnBatch(1, 0).length;
  while (log.segments[log.segments.length - 1].sizeBytes <= 300 - txnSizeBytes) {
    assert.ok(log.append(plain(), { nowMs: 0 }).ok);
  }
  assert.ok(produce(log, txnBatch(1, 0), 1).ok);
  const first = log.lastStableOffset;
  assert.equal(log.segmentFor(first).baseOffset, first);
  for (let i = 0; i < 6; i++) assert.ok(log.append(plain(), { nowMs: 0 }).ok);
  for (const from of [0, bases[1], first - 1]) {
    const read = log.read(from, 1 << 20, true);
    assert.equal(read.nextOffset, first, `from ${from}`);
    assert.deepEqual(read.abortedTransactions, []);
  }
  assert.equal(log.read(first, 1 << 20, true).slices.length, 0);
  // Small maxBytes still returns one whole batch below the LSO (KIP-74), never past it.
  const small = log.read(first - 1, 1, true);
  assert.equal(small.nextOffset, first);
  log.close();
});

Deno.test("Recovery over a transaction index that reached the disk rebuilds it without duplicates", () => {
  const libc = memoryLibc();
  let log = PartitionLog.open(libc, DIR, { segmentBytes: 400 });
  for (let i = 0; i < 5; i++) {
    assert.ok(produce(log, txnBatch(1, 2 * i, 2), 1).ok);
    assert.ok(writeMarker(log, marker(1, i % 2 === 1)).ok);
  }
  const before = log.segments.map((s) => s.txnIndex.entries.slice());
  log.flush(); // the log and the active segment's index are durable
  libc.crash();
  log = PartitionLog.open(libc, DIR, { segmentBytes: 400 });
  assert.equal(log.loadStats.clean, false);
  assert.ok(log.loadStats.replayedBatchCount > 0);
  assert.deepEqual(log.segments.map((s) => s.txnIndex.entries), before);
  log.close();
});

Deno.test("compactLog() drops markers after delete.retention.ms once their data is gone", async () => {
  const log = PartitionLog.open(memoryLibc(), DIR, cleanedConfig);
  writeCleanable(log);
  const txnIndex = () => log.segments.flatMap((s) => s.txnIndex.entries).map((t) => t.lastOffset);
  // Pass 1 reads (and drops) both transactions' data: the markers and the index stay.
  await compactLog(log, { nowMs: 10 });
  assert.deepEqual(markers(log), [[1, false], [3, false]]);
  assert.deepEqual(txnIndex(), [3]);
  // Pass 2 finds no data of either: the markers get their delete horizon, the entry goes.
  const second = await compactLog(log, { nowMs: 20 });
  assert.deepEqual(markers(log), [[1, true], [3, true]]);
  assert.equal(second.nextHorizonMs, 1020);
  assert.deepEqual(txnIndex(), []);
  // Before the horizon nothing changes; after it the markers go.
  await compactLog(log, { nowMs: 1019 });
  assert.deepEqual(markers(log), [[1, true], [3, true]]);
  await compactLog(log, { nowMs: 1020 });
  assert.deepEqual(markers(log), []);
  log.close();
});

Deno.test("The cleaner replaces a segment's txnindex before its log: a failed swap leaves no entry without its marker", async () => {
  const libc = memoryLibc({
    faults: [{
      syscall: "rename",
      pathIncludes: "00000000000000000000.log.cleaned",
      after: 1,
    }],
  });
  const log = PartitionLog.open(libc, DIR, cleanedConfig);
  writeCleanable(log);
  const path = log.segments[0].txnIndex.path;
  await compactLog(log, { nowMs: 10 }); // the first swap goes through
  assert.deepEqual(TransactionIndex.open(libc, path).entries.map((t) => t.lastOffset), [3]);
  let failed = false;
  try {
    await compactLog(log, { nowMs: 20 }); // the entry goes, then the log's rename fails
  } catch (error) {
    failed = error instanceof IoError;
  }
  assert.ok(failed, "the second swap failed");
  // On disk: the index lost the entry of a transaction without data; the old log keeps its
  // (unstamped) ABORT marker. The opposite order would have left the entry with no marker.
  assert.deepEqual(TransactionIndex.open(libc, path).entries, []);
  assert.deepEqual(markers(log), [[1, false], [3, false]]);
  log.close();
});

const cleanedConfig = {
  segmentBytes: 300,
  cleanupCompact: true,
  cleanupDelete: false,
  deleteRetentionMs: 1000,
};

/** A committed k=v1 (0, COMMIT 1) and an aborted j=w1 (2, ABORT 3), then k overwritten. */
function writeCleanable(log: PartitionLog): void {
  const keyed = (key: string, value: string, producer?: { id: number; sequence: number }) =>
    encodeRecordBatch([{ key: text(key), value: text(value), timestampMs: 1 }], {
      producerId: producer?.id ?? -1,
      producerEpoch: producer === undefined ? -1 : 0,
      baseSequence: producer?.sequence ?? -1,
      isTransactional: producer !== undefined,
    });
  assert.ok(produce(log, keyed("k", "v1", { id: 1, sequence: 0 }), 1).ok); // 0
  assert.ok(writeMarker(log, marker(1, true)).ok); // 1: COMMIT
  assert.ok(produce(log, keyed("j", "w1", { id: 1, sequence: 1 }), 1).ok); // 2
  assert.ok(writeMarker(log, marker(1, false)).ok); // 3: ABORT
  for (let i = 0; i < 8; i++) assert.ok(log.append(keyed("k", `v${i + 2}`), { nowMs: 0 }).ok);
}

/** The markers below the active segment: offset, and whether it carries a delete horizon. */
function markers(log: PartitionLog): [number, boolean][] {
  return decodeRecordBatches(concatSegments(log, log.activeSegmentBaseOffset))
    .filter((b) => (b.attributes & 0x20) !== 0)
    .map((b) => [b.baseOffset, (b.attributes & 0x40) !== 0]);
}
