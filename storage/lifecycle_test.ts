/** Retention, DeleteRecords, deferred fd closes and compaction, with a fake clock. */
import { assert } from "../util/assert.ts";
import { memoryLibc } from "../ffi/memory.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { BatchAttribute, RecordBatchView } from "../protocol/record_batch.ts";
import { decodeRecordBatches, encodeRecordBatch } from "../protocol/records.ts";
import { gunzipSync, gzipSync, zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { testBatch } from "./_test_util.ts";
import { compactLog } from "./cleaner.ts";
import { PartitionLog } from "./partition_log.ts";

const DIR = "/data/t-0";
const text = new TextEncoder();

function keyed(records: [string | null, string | null][], timestampMs = 1000): Uint8Array {
  return encodeRecordBatch(records.map(([k, v], i) => ({
    key: k === null ? null : text.encode(k),
    value: v === null ? null : text.encode(v),
    timestampMs: timestampMs + i,
  })));
}

/** Re-wraps an uncompressed batch's records with a codec (1 gzip, 4 zstd). */
function compressed(batch: Uint8Array, codec: 1 | 4): Uint8Array {
  const records = batch.subarray(61);
  const packed = codec === 1 ? gzipSync(records) : zstdCompressSync(records);
  const out = new Uint8Array(61 + packed.length);
  out.set(batch.subarray(0, 61));
  out.set(packed, 61);
  const view = new RecordBatchView(out);
  view.view.setInt32(8, out.length - 12);
  view.view.setInt16(21, codec);
  view.updateCrc();
  return out;
}

/** Every (offset, key, value) readable from the log start. */
function readAll(log: PartitionLog): [number, string | null, string | null][] {
  const out: [number, string | null, string | null][] = [];
  for (const segment of log.segments) {
    if (segment.sizeBytes === 0) continue;
    const bytes = segment.readBytes(0, segment.sizeBytes);
    for (const b of decodeRecordBatchesAnyCodec(bytes)) {
      for (const r of b) out.push(r);
    }
  }
  return out.filter(([offset]) => offset >= log.logStartOffset);
}

function decodeRecordBatchesAnyCodec(
  bytes: Uint8Array,
): [number, string | null, string | null][][] {
  const decoder = new TextDecoder();
  const view = new RecordBatchView(bytes);
  const out: [number, string | null, string | null][][] = [];
  for (let p = 0; p < bytes.length; p += view.moveTo(p).sizeBytes) {
    view.moveTo(p);
    let batch: Uint8Array = bytes.slice(p, p + view.sizeBytes);
    if (view.compression !== 0) batch = decompressBatch(batch);
    out.push(
      decodeRecordBatches(batch)[0].records.map((r) => [
        r.offset,
        r.key === null ? null : decoder.decode(r.key),
        r.value === null ? null : decoder.decode(r.value),
      ]),
    );
  }
  return out;
}

function decompressBatch(batch: Uint8Array): Uint8Array {
  const view = new RecordBatchView(batch);
  const records = view.compression === 1
    ? gunzipSync(batch.subarray(61))
    : zstdDecompressSync(batch.subarray(61));
  const out = new Uint8Array(61 + records.length);
  out.set(batch.subarray(0, 61));
  out.set(records, 61);
  const v = new RecordBatchView(out);
  v.view.setInt32(8, out.length - 12);
  v.view.setInt16(21, view.attributes & ~7);
  return out;
}

Deno.test("retention.ms deletes whole segments oldest first, rolling when all are old", () => {
  const libc = memoryLibc();
  const log = PartitionLog.open(libc, DIR, { segmentBytes: 300, retentionMs: 1000 });
  for (let i = 0; i < 9; i++) {
    assert.ok(log.append(testBatch(1, 10_000 + i * 100), { nowMs: 0 }).ok);
  }
  const segmentCount = log.segments.length;
  assert.ok(segmentCount >= 3);
  assert.equal(log.deleteRetentionBreached(10_000 + 500).count, 0);
  const secondBase = log.segments[1].baseOffset;
  // Two batches 100 ms apart per segment: only segment 0 is more than 1000 ms old.
  const verdict = log.deleteRetentionBreached(log.segments[0].maxTimestamp.timestampMs + 1001);
  assert.equal(verdict.reason, "retention.ms");
  assert.equal(log.logStartOffset, secondBase);
  assert.ok(!libc.exists(`${DIR}/00000000000000000000.log`));
  assert.equal(log.read(0, 1000).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
  log.deleteRetentionBreached(1_000_000);
  assert.equal(log.segments.length, 1);
  assert.equal(log.segments[0].sizeBytes, 0);
  assert.equal(log.logStartOffset, 9);
  assert.equal(log.logEndOffset, 9);
  assert.ok(log.append(testBatch(1), { nowMs: 0 }).ok);
  log.close();
  const reopened = PartitionLog.open(libc, DIR, { segmentBytes: 300 });
  assert.equal(reopened.logStartOffset, 9);
  assert.equal(reopened.logEndOffset, 10);
  reopened.close();
});

Deno.test("retention.bytes keeps the log under its size, never deleting the last segment's data needlessly", () => {
  const libc = memoryLibc();
  const batchBytes = testBatch(1).length;
  const log = PartitionLog.open(libc, DIR, {
    segmentBytes: 3 * batchBytes,
    retentionBytes: 4 * batchBytes,
  });
  for (let i = 0; i < 10; i++) assert.ok(log.append(testBatch(1), { nowMs: 0 }).ok);
  assert.equal(log.sizeBytes, 10 * batchBytes);
  const verdict = log.deleteRetentionBreached(0);
  assert.equal(verdict.reason, "retention.bytes");
  assert.equal(verdict.count, 2);
  assert.equal(log.sizeBytes, 4 * batchBytes);
  assert.equal(log.logStartOffset, 6);
  log.reconfigure({ cleanupDelete: false, retentionBytes: 0 });
  assert.equal(log.deleteRetentionBreached(0).count, 0); // compact-only: no size retention
  log.close();
});

Deno.test("DeleteRecords raises the log start offset and deletes segments below it", () => {
  const libc = memoryLibc();
  const log = PartitionLog.open(libc, DIR, { segmentBytes: 300 });
  for (let i = 0; i < 9; i++) assert.ok(log.append(testBatch(1), { nowMs: 0 }).ok);
  assert.equal(log.deleteRecordsBefore(100).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
  const before = log.segments.length;
  const result = log.deleteRecordsBefore(4);
  assert.deepEqual(result, { errorCode: ErrorCode.NONE, logStartOffset: 4 });
  assert.ok(log.segments.length < before);
  assert.equal(log.read(3, 1000).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
  assert.equal(log.read(4, 1000).errorCode, ErrorCode.NONE);
  assert.deepEqual(log.deleteRecordsBefore(2), { errorCode: ErrorCode.NONE, logStartOffset: 4 });
  log.close();
  const reopened = PartitionLog.open(libc, DIR, { segmentBytes: 300 });
  assert.equal(reopened.logStartOffset, 4); // from the checkpoint, inside a segment
  reopened.close();
});

Deno.test("A deleted segment's fd stays open until reads leased before the deletion settle", () => {
  const libc = memoryLibc();
  const log = PartitionLog.open(libc, DIR, { segmentBytes: 300, retentionMs: 10 });
  for (let i = 0; i < 6; i++) assert.ok(log.append(testBatch(1, 1000), { nowMs: 0 }).ok);
  const fdsBefore = libc.openFdCount();
  const early = log.retainReads();
  const slices = log.read(0, 100000).slices;
  log.deleteRetentionBreached(100_000);
  const late = log.retainReads();
  assert.ok(log.retiredSegmentCount > 0);
  // The old fds still read the deleted bytes.
  const socket = libc.openSocket();
  for (const s of slices) libc.sendfile(socket, s.fd, s.positionBytes, s.sizeBytes);
  assert.equal(libc.socketBytes(socket).length, 6 * testBatch(1).length);
  late();
  assert.ok(log.retiredSegmentCount > 0); // a lease taken after the deletion does not hold it
  early();
  early(); // idempotent
  assert.equal(log.retiredSegmentCount, 0);
  assert.ok(libc.openFdCount() < fdsBefore);
  log.close();
});

Deno.test("Compaction keeps the latest value per key, then drops tombstones after delete.retention.ms", async () => {
  const libc = memoryLibc();
  const config = {
    segmentBytes: 200,
    cleanupCompact: false,
    cleanupDelete: false,
    deleteRetentionMs: 5000,
  };
  // Compaction is turned on after the appends: a compacted topic refuses the keyless record.
  const log = PartitionLog.open(libc, DIR, config);
  const input: [string | null, string | null][] = [
    ["a", "a1"],
    ["b", "b1"],
    ["a", "a2"],
    ["c", "c1"],
    ["b", null],
    [null, "no-key"],
    ["a", "a3"],
    ["d", "d1"],
    ["e", "e1"],
  ];
  for (const record of input) assert.ok(log.append(keyed([record]), { nowMs: 0 }).ok);
  log.reconfigure({ cleanupCompact: true });
  const activeBase = log.segments[log.segments.length - 1].baseOffset;
  assert.equal(activeBase, 8, "two records per segment");
  const first = await compactLog(log, { nowMs: 1000 });
  assert.ok(first.segmentsRewritten > 0);
  assert.equal(first.recordsRemoved, 3); // a1, b1, a2
  assert.equal(first.nextHorizonMs, 6000);
  const afterFirst = readAll(log).filter(([o]) => o < activeBase);
  assert.deepEqual(afterFirst, [
    [3, "c", "c1"],
    [4, "b", null],
    [5, null, "no-key"],
    [6, "a", "a3"],
    [7, "d", "d1"],
  ]);
  const tombstoneBatch = log.segments.find((s) => s.baseOffset <= 4 && s.nextOffset > 4)!;
  const stored = new RecordBatchView(tombstoneBatch.readBytes(0, tombstoneBatch.sizeBytes));
  assert.ok((stored.attributes & BatchAttribute.DELETE_HORIZON) !== 0);
  const early = await compactLog(log, { nowMs: 5999 });
  assert.equal(early.tombstonesRemoved, 0);
  const late = await compactLog(log, { nowMs: 6000 });
  assert.equal(late.tombstonesRemoved, 1);
  assert.deepEqual(readAll(log).filter(([o]) => o < activeBase), [
    [3, "c", "c1"],
    [
      5,
      null,
      "no-key",
    ],
    [6, "a", "a3"],
    [7, "d", "d1"],
  ]);
  assert.equal(log.read(0, 100000).errorCode, ErrorCode.NONE);
  log.close();
  const reopened = PartitionLog.open(libc, DIR, config);
  assert.deepEqual(readAll(reopened).map(([o]) => o), [3, 5, 6, 7, 8]);
  reopened.close();
});

Deno.test("Compaction reads and rewrites gzip and zstd batches with their codec", async () => {
  for (const codec of [1, 4] as const) {
    const libc = memoryLibc();
    const config = { segmentBytes: 200, cleanupCompact: true };
    const log = PartitionLog.open(libc, DIR, config);
    assert.ok(log.append(compressed(keyed([["k", "v1"], ["x", "x1"]]), codec), { nowMs: 0 }).ok);
    assert.ok(log.append(compressed(keyed([["k", "v2"]]), codec), { nowMs: 0 }).ok);
    for (let i = 0; i < 3; i++) assert.ok(log.append(keyed([["z", `z${i}`]]), { nowMs: 0 }).ok);
    assert.ok(log.segments.length >= 3);
    const result = await compactLog(log, { nowMs: 0 });
    assert.ok(result.recordsRemoved >= 1, JSON.stringify(result));
    const firstSegment = log.segments[0];
    const view = new RecordBatchView(firstSegment.readBytes(0, firstSegment.sizeBytes));
    assert.equal(view.compression, codec);
    assert.deepEqual(readAll(log).slice(0, 2), [[1, "x", "x1"], [2, "k", "v2"]]);
    log.close();
  }
});
