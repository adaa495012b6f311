import { assert } from "../util/assert.ts";
import { concatBytes } from "../util/bytes.ts";
import { memoryLibc } from "../ffi/memory.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { BatchField, RecordBatchView } from "../protocol/record_batch.ts";
import { testBatch } from "./_test_util.ts";
import { CLEAN_SHUTDOWN_FILE_NAME } from "./log_files.ts";
import { type AppendSuccess, PartitionLog } from "./partition_log.ts";
import { PARTITION_LEADER_EPOCH } from "./log_append.ts";

Deno.test("PartitionLog.open() on an empty directory creates segment 0", () => {
  const libc = memoryLibc();
  const log = PartitionLog.open(libc, "/data/t-0");
  assert.equal(log.logStartOffset, 0);
  assert.equal(log.logEndOffset, 0);
  assert.deepEqual(libc.readdir("/data/t-0").map((e) => e.name), [
    "00000000000000000000.index",
    "00000000000000000000.log",
    "00000000000000000000.timeindex",
  ]);
  log.close();
  assert.ok(libc.exists(`/data/t-0/${CLEAN_SHUTDOWN_FILE_NAME}`));
  log.close(); // idempotent
});

Deno.test("PartitionLog.append() assigns offsets in place and reports the result", () => {
  const libc = memoryLibc();
  const appended: AppendSuccess[] = [];
  const log = PartitionLog.open(libc, "/d/t-0", {}, { onAppend: (r) => appended.push(r) });
  const blob = concatBytes([testBatch(3), testBatch(2)]);
  assert.equal(new RecordBatchView(blob, 0).partitionLeaderEpoch, -1); // as a producer sends it
  const first = log.append(blob, { nowMs: 0 });
  assert.deepEqual(first, {
    ok: true,
    baseOffset: 0,
    lastOffset: 4,
    logAppendTimeMs: -1,
    logStartOffset: 0,
    recordCount: 5,
    sizeBytes: blob.length,
  });
  assert.equal(new RecordBatchView(blob, testBatch(3).length).baseOffset, 3); // patched in the caller's buffer
  assert.equal(new RecordBatchView(blob, 0).partitionLeaderEpoch, PARTITION_LEADER_EPOCH);
  assert.equal(new RecordBatchView(blob, testBatch(3).length).partitionLeaderEpoch, 0);
  const second = log.append(testBatch(1), { nowMs: 0 });
  assert.ok(second.ok && second.baseOffset === 5 && second.lastOffset === 5);
  assert.equal(log.logEndOffset, 6);
  assert.equal(log.highWatermark, 6);
  assert.deepEqual(appended, [first, second]);
  log.close();
});

Deno.test("PartitionLog.append() rejects the whole blob when any batch is bad, taking no offsets", () => {
  const libc = memoryLibc();
  const log = PartitionLog.open(libc, "/d/t-0", { maxMessageBytes: 500, segmentBytes: 2000 });
  const bad = testBatch(2);
  bad[bad.length - 1] ^= 1;
  const cases: [Uint8Array, number][] = [
    [concatBytes([testBatch(1), bad]), ErrorCode.CORRUPT_MESSAGE],
    [concatBytes([testBatch(1), testBatch(1).subarray(0, 30)]), ErrorCode.CORRUPT_MESSAGE],
    [new Uint8Array(0), ErrorCode.INVALID_RECORD],
    [testBatch(20), ErrorCode.MESSAGE_TOO_LARGE],
    [concatBytes(Array.from({ length: 30 }, () => testBatch(1))), ErrorCode.RECORD_LIST_TOO_LARGE],
  ];
  const magic1 = testBatch(1);
  magic1[BatchField.magic] = 1;
  cases.push([magic1, ErrorCode.INVALID_RECORD]);
  for (const [bytes, errorCode] of cases) {
    const result = log.append(bytes, { nowMs: 0 });
    assert.ok(!result.ok);
    assert.equal(result.errorCode, errorCode, result.message);
  }
  assert.equal(log.logEndOffset, 0);
  assert.equal(log.sizeBytes, 0);
  log.close();
});

Deno.test("PartitionLog rolls after segment.ms of record time", () => {
  const libc = memoryLibc();
  const log = PartitionLog.open(libc, "/d/t-0", { segmentMs: 1000 });
  assert.ok(log.append(testBatch(1, 10_000), { nowMs: 0 }).ok);
  assert.ok(log.append(testBatch(1, 11_000), { nowMs: 0 }).ok);
  assert.equal(log.segments.length, 1);
  assert.ok(log.append(testBatch(1, 11_001), { nowMs: 0 }).ok);
  assert.deepEqual(log.segments.map((s) => s.baseOffset), [0, 2]);
  log.close();
});

Deno.test("PartitionLog.offsetForTimestamp() and maxTimestamp() search across segments", () => {
  const libc = memoryLibc();
  let log = PartitionLog.open(libc, "/d/t-0", { segmentBytes: 600, indexIntervalBytes: 50 });
  for (let i = 0; i < 20; i++) assert.ok(log.append(testBatch(2, 1000 + i * 10), { nowMs: 0 }).ok);
  assert.ok(log.segments.length > 2);
  const check = () => {
    assert.deepEqual(log.offsetForTimestamp(0), { offset: 0, timestampMs: 1000 });
    assert.deepEqual(log.offsetForTimestamp(1091), { offset: 19, timestampMs: 1091 });
    assert.deepEqual(log.offsetForTimestamp(1095), { offset: 20, timestampMs: 1100 });
    assert.deepEqual(log.offsetForTimestamp(1191), { offset: 39, timestampMs: 1191 });
    assert.equal(log.offsetForTimestamp(1192), undefined);
    assert.deepEqual(log.maxTimestamp(), { offset: 39, timestampMs: 1191 });
  };
  assert.equal(PartitionLog.open(libc, "/d/empty-0").maxTimestamp(), undefined);
  check();
  log.close();
  log = PartitionLog.open(libc, "/d/t-0", { segmentBytes: 600, indexIntervalBytes: 50 });
  check();
  log.close();
});

Deno.test("PartitionLog.open() deletes orphan index files and ignores other files", () => {
  const libc = memoryLibc();
  libc.mkdirp("/d/t-0");
  libc.writeFileAtomic("/d/t-0/00000000000000000050.index", new Uint8Array(8));
  libc.writeFileAtomic("/d/t-0/leader-epoch-checkpoint", new Uint8Array(1));
  const log = PartitionLog.open(libc, "/d/t-0");
  assert.ok(!libc.exists("/d/t-0/00000000000000000050.index"));
  assert.ok(libc.exists("/d/t-0/leader-epoch-checkpoint"));
  log.close();
});

Deno.test("PartitionLog.deleteFiles() closes everything and removes the directory", () => {
  const libc = memoryLibc();
  const log = PartitionLog.open(libc, "/d/t-0", { segmentBytes: 500 });
  for (let i = 0; i < 10; i++) assert.ok(log.append(testBatch(2), { nowMs: 0 }).ok);
  log.deleteFiles();
  assert.ok(!libc.exists("/d/t-0"));
  assert.equal(libc.openFdCount(), 0);
  assert.equal(libc.liveMappingCount(), 0);
});

Deno.test("PartitionLog.close() after a failed flush leaves no clean-shutdown marker", () => {
  const libc = memoryLibc();
  const log = PartitionLog.open(libc, "/d/t-0");
  assert.ok(log.append(testBatch(2), { nowMs: 0 }).ok);
  libc.addFault({ syscall: "fdatasync", times: 1 });
  assert.throws(() => log.close());
  assert.ok(!libc.exists(`/d/t-0/${CLEAN_SHUTDOWN_FILE_NAME}`));
  assert.equal(libc.openFdCount(), 0);
  const reopened = PartitionLog.open(libc, "/d/t-0");
  assert.equal(reopened.logEndOffset, 2);
  reopened.close();
});
