/**
 * The segment-writer conformance cases through `PartitionLog`: rolls,
 * reads from any offset, the offset index, offsets past the relative range,
 * torn tails, crashes, ENOSPC. See `tests/_writer_conformance.ts`.
 *
 * @module
 */

import type { WriterCase, WriterEnv } from "./_writer_conformance.ts";
import { bytesOf, CHUNK_BYTES, readFile } from "./_writer_conformance_writer.ts";
import { Errno, type Libc, OpenFlags } from "../ffi/port.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { RecordBatchView } from "../protocol/record_batch.ts";
import { decodeRecordBatches, encodeRecordBatch } from "../protocol/records.ts";
import { CLEAN_SHUTDOWN_FILE_NAME, joinPath, segmentFileName } from "../storage/log_files.ts";
import type { LogConfig } from "../storage/log_config.ts";
import { OffsetIndex } from "../storage/offset_index.ts";
import { PartitionLog } from "../storage/partition_log.ts";
import type { WriterKind } from "../storage/segment_writer.ts";
import { assert } from "../util/assert.ts";

const smallLog: Partial<LogConfig> = {
  segmentBytes: 4096,
  indexIntervalBytes: 256,
  segmentIndexBytes: 4096,
  mmapChunkBytes: CHUNK_BYTES,
};

function batch(i: number, recordCount = 2): Uint8Array {
  const records = Array.from({ length: recordCount }, (_, r) => ({
    key: new TextEncoder().encode(`k${i}-${r}`),
    value: bytesOf(20 + (i % 7) * 9, i),
    headers: [{ key: "h", value: null }],
    timestampMs: 1_000 + i * 10 + r,
  }));
  return encodeRecordBatch(records);
}

/** Every offset, in order, fetched from `fetchOffset` on with one large read. */
export function offsetsFrom(
  libc: Libc,
  log: PartitionLog,
  fetchOffset: number,
  maxBytes = 1 << 30,
): number[] {
  const result = log.read(fetchOffset, maxBytes);
  assert.equal(result.errorCode, ErrorCode.NONE);
  const offsets: number[] = [];
  for (const slice of result.slices) {
    const bytes = new Uint8Array(slice.sizeBytes);
    assert.equal(libc.pread(slice.fd, bytes, slice.positionBytes), slice.sizeBytes);
    for (const b of decodeRecordBatches(bytes)) for (const r of b.records) offsets.push(r.offset);
  }
  return offsets;
}

/** The cases of this module, in order. */
export const LOG_CASES: WriterCase[] = [];
const test = (
  name: string,
  run: (env: WriterEnv, kind: WriterKind) => void | Promise<void>,
  memoryOnly = false,
) => LOG_CASES.push({ name, run, memoryOnly });

// ---------------------------------------------------------------------------------------------
// Through the partition log.

function openLog(env: WriterEnv, kind: WriterKind, config: Partial<LogConfig> = {}): PartitionLog {
  return PartitionLog.open(env.libc, joinPath(env.dir, "topic-0"), {
    ...smallLog,
    ...config,
    writerKind: kind,
  }, {
    nowMs: () => 0,
  });
}

test(
  "segments roll at segment.bytes; every offset reads back, also after reopening",
  (env, kind) => {
    let log = openLog(env, kind);
    for (let i = 0; i < 120; i++) assert.ok(log.append(batch(i), { nowMs: 0 }).ok);
    assert.equal(log.logEndOffset, 240);
    assert.ok(log.segments.length > 3);
    for (const s of log.segments) assert.ok(s.sizeBytes <= 4096);
    const all = Array.from({ length: 240 }, (_, i) => i);
    assert.deepEqual(offsetsFrom(env.libc, log, 0), all);
    const bases = log.segments.map((s) => s.baseOffset);
    log.close();
    const names = env.libc.readdir(joinPath(env.dir, "topic-0")).map((e) => e.name);
    for (const base of bases) assert.ok(names.includes(segmentFileName(base, ".log")));
    log = openLog(env, kind);
    assert.deepEqual(log.segments.map((s) => s.baseOffset), bases);
    assert.equal(log.logEndOffset, 240);
    assert.deepEqual(offsetsFrom(env.libc, log, 0), all);
    for (let i = 120; i < 130; i++) assert.ok(log.append(batch(i), { nowMs: 0 }).ok);
    assert.deepEqual(
      offsetsFrom(env.libc, log, 231),
      Array.from({ length: 30 }, (_, i) => i + 230),
    ); // from the batch holding 231
    log.close();
  },
);

test(
  "reads start at the batch holding any offset (floor, exact, between, beyond last entry)",
  (env, kind) => {
    const log = openLog(env, kind, { segmentBytes: 1 << 20, indexIntervalBytes: 300 });
    assert.equal(log.read(0, 1000).sizeBytes, 0); // empty log
    for (let i = 0; i < 60; i++) assert.ok(log.append(batch(i, 1 + (i % 3)), { nowMs: 0 }).ok);
    const index = log.segments[0].offsetIndex;
    assert.ok(index.entryCount > 3);
    const end = log.logEndOffset;
    for (let offset = 0; offset < end; offset++) {
      const offsets = offsetsFrom(env.libc, log, offset, 1);
      assert.ok(
        offsets.includes(offset) && offsets[0] <= offset,
        `fetch at ${offset} got ${offsets}`,
      );
    }
    assert.equal(log.read(end, 100).sizeBytes, 0);
    assert.equal(log.read(end + 1, 100).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    assert.equal(log.read(-1, 100).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    log.close();
  },
);

test("OffsetIndex.lookup(): empty, below first, exact, between, beyond last", (env) => {
  const path = joinPath(env.dir, "x.index");
  const index = OffsetIndex.open(env.libc, path, {
    baseOffset: 100,
    maxIndexBytes: 64,
    writable: true,
  });
  assert.deepEqual(index.lookup(150), { offset: 100, positionBytes: 0 });
  index.append(110, 1000);
  index.append(120, 2000);
  index.append(130, 3000);
  assert.deepEqual(index.lookup(105), { offset: 100, positionBytes: 0 });
  assert.deepEqual(index.lookup(120), { offset: 120, positionBytes: 2000 });
  assert.deepEqual(index.lookup(125), { offset: 120, positionBytes: 2000 });
  assert.deepEqual(index.lookup(10_000), { offset: 130, positionBytes: 3000 });
  for (let i = 3; i < 8; i++) index.append(140 + i, 4000 + i);
  assert.ok(index.isFull);
  assert.throws(() => index.append(1000, 100_000));
  index.trimToValidSize();
  index.close();
  const reopened = OffsetIndex.open(env.libc, path, {
    baseOffset: 100,
    maxIndexBytes: 64,
    writable: false,
  });
  assert.equal(reopened.entryCount, 8);
  assert.deepEqual(reopened.lookup(125), { offset: 120, positionBytes: 2000 });
  reopened.close();
});

test("a full offset index forces a roll", (env, kind) => {
  const log = openLog(env, kind, {
    segmentBytes: 1 << 20,
    indexIntervalBytes: 1,
    segmentIndexBytes: 4 * 8,
  });
  for (let i = 0; i < 30; i++) assert.ok(log.append(batch(i), { nowMs: 0 }).ok);
  assert.ok(log.segments.length >= 5);
  for (const s of log.segments) assert.ok(s.offsetIndex.entryCount <= 4);
  assert.deepEqual(offsetsFrom(env.libc, log, 0), Array.from({ length: 60 }, (_, i) => i));
  log.close();
});

test("offsets beyond the relative range (2^31 - 1, and past 2^32) force a roll", (env, kind) => {
  const log = openLog(env, kind);
  const at = (offset: number, i: number) => {
    const b = batch(i, 1);
    new RecordBatchView(b).setBaseOffset(offset);
    return log.append(b, { nowMs: 0, assignOffsets: false });
  };
  assert.ok(at(0, 0).ok);
  assert.ok(at(2 ** 31 - 1, 1).ok); // still fits segment 0
  assert.equal(log.segments.length, 1);
  assert.ok(at(2 ** 31, 2).ok);
  assert.ok(at(2 ** 32 + 2 ** 31 + 5, 3).ok);
  assert.deepEqual(log.segments.map((s) => s.baseOffset), [0, 2 ** 31, 2 ** 32 + 2 ** 31 + 5]);
  const stale = batch(4, 1);
  new RecordBatchView(stale).setBaseOffset(7);
  const rejected = log.append(stale, { nowMs: 0, assignOffsets: false });
  assert.ok(!rejected.ok && rejected.errorCode === ErrorCode.INVALID_RECORD);
  assert.deepEqual(offsetsFrom(env.libc, log, 1, 1), [2 ** 31 - 1]); // a gap reads the next batch
  assert.deepEqual(offsetsFrom(env.libc, log, 2 ** 31 + 1, 1), [2 ** 32 + 2 ** 31 + 5]);
  assert.equal(log.logEndOffset, 2 ** 32 + 2 ** 31 + 6);
  assert.ok(log.append(batch(5), { nowMs: 0 }).ok);
  log.close();
  const reopened = openLog(env, kind);
  assert.equal(reopened.logEndOffset, 2 ** 32 + 2 ** 31 + 8);
  assert.deepEqual(offsetsFrom(env.libc, reopened, 2 ** 31), [
    2 ** 31,
    2 ** 32 + 2 ** 31 + 5,
    2 ** 32 + 2 ** 31 + 6,
    2 ** 32 + 2 ** 31 + 7,
  ]);
  reopened.close();
});

test("a torn tail of every length inside the last batch is cut on reopen", (env, kind) => {
  const dir = joinPath(env.dir, "topic-0");
  let log = openLog(env, kind, { segmentBytes: 1 << 20 });
  for (let i = 0; i < 5; i++) assert.ok(log.append(batch(i), { nowMs: 0 }).ok);
  const lastStart = log.segments[0].sizeBytes;
  assert.ok(log.append(batch(5, 3), { nowMs: 0 }).ok);
  const fullBytes = log.segments[0].sizeBytes;
  log.close();
  const logPath = joinPath(dir, segmentFileName(0, ".log"));
  const original = readFile(env.libc, logPath);
  for (let cut = lastStart + 1; cut < fullBytes; cut++) {
    const fd = env.libc.open(logPath, OpenFlags.O_RDWR | OpenFlags.O_TRUNC);
    env.libc.pwrite(fd, original.subarray(0, cut), 0);
    env.libc.close(fd);
    env.libc.unlink(joinPath(dir, CLEAN_SHUTDOWN_FILE_NAME));
    log = openLog(env, kind, { segmentBytes: 1 << 20 });
    assert.equal(log.logEndOffset, 10, `cut at ${cut}`);
    assert.equal(log.segments[0].truncatedBytes, cut - lastStart);
    assert.equal(log.segments[0].sizeBytes, lastStart);
    log.close();
    assert.equal(readFile(env.libc, logPath).length, lastStart);
  }
  log = openLog(env, kind, { segmentBytes: 1 << 20 });
  assert.ok(log.append(batch(6), { nowMs: 0 }).ok);
  assert.deepEqual(offsetsFrom(env.libc, log, 8), [8, 9, 10, 11]);
  log.close();
});

test("a crash keeps what was flushed and recovery drops the rest", (env, kind) => {
  const memory = env.memory!;
  let log = openLog(env, kind, { segmentBytes: 1 << 20 });
  for (let i = 0; i < 10; i++) assert.ok(log.append(batch(i), { nowMs: 0 }).ok);
  log.flush();
  for (let i = 10; i < 15; i++) assert.ok(log.append(batch(i), { nowMs: 0 }).ok);
  memory.crash();
  log = openLog(env, kind, { segmentBytes: 1 << 20 });
  assert.equal(log.logEndOffset, 20);
  assert.deepEqual(offsetsFrom(env.libc, log, 18), [18, 19]);
  assert.ok(log.append(batch(20), { nowMs: 0 }).ok);
  log.close();
}, true);

test(
  "ENOSPC on append returns KAFKA_STORAGE_ERROR, takes no offset, and appends resume",
  (env, kind) => {
    const memory = env.memory!;
    const log = openLog(env, kind, { segmentBytes: 1 << 20 });
    assert.ok(log.append(batch(0), { nowMs: 0 }).ok);
    memory.addFault({
      syscall: kind === "pwrite" ? "pwrite" : "fallocate",
      pathIncludes: ".log",
      errno: Errno.ENOSPC,
      times: 3,
    });
    let big = batch(1, 1);
    for (let i = 0; i < 3; i++) {
      big = encodeRecordBatch([{ key: null, value: bytesOf(CHUNK_BYTES, 1), timestampMs: 5 }]);
      const failed = log.append(big, { nowMs: 0 });
      assert.ok(!failed.ok && failed.errorCode === ErrorCode.KAFKA_STORAGE_ERROR);
      assert.equal(log.logEndOffset, 2);
    }
    const ok = log.append(big, { nowMs: 0 });
    assert.ok(ok.ok && ok.baseOffset === 2);
    assert.deepEqual(offsetsFrom(env.libc, log, 0), [0, 1, 2]);
    log.close();
  },
  true,
);
