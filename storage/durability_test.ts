/**
 * Idempotent appends, crash recovery and fault injection on a PartitionLog
 * over the in-memory libc.
 */
import { assert } from "../util/assert.ts";
import { Errno, OpenFlags } from "../ffi/port.ts";
import { type MemoryLibc, memoryLibc } from "../ffi/memory.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { encodeRecordBatch } from "../protocol/records.ts";
import type { Logger } from "../util/log.ts";
import { testBatch } from "./_test_util.ts";
import { CLEAN_SHUTDOWN_FILE_NAME } from "./log_files.ts";
import { PartitionLog } from "./partition_log.ts";

const DIR = "/data/t-0";

/** An idempotent batch of `count` records starting at `baseSequence`. */
function idempotentBatch(baseSequence: number, count = 2, producerEpoch = 0): Uint8Array {
  return encodeRecordBatch(
    Array.from({ length: count }, (_, i) => ({
      key: null,
      value: new TextEncoder().encode(`seq-${baseSequence + i}`),
      timestampMs: 1000 + baseSequence + i,
    })),
    { producerId: 42, producerEpoch, baseSequence },
  );
}

/** A logger that keeps its lines. */
function captureLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const logger = {
    lines,
    debug: (m: string) => void lines.push(m),
    info: (m: string) => void lines.push(m),
    warn: (m: string) => void lines.push(m),
    error: (m: string) => void lines.push(m),
    child: () => logger,
  };
  return logger;
}

function fileSize(libc: MemoryLibc, path: string): number {
  const fd = libc.open(path, OpenFlags.O_RDONLY);
  try {
    return libc.fileSize(fd);
  } finally {
    libc.close(fd);
  }
}

function truncateFile(libc: MemoryLibc, path: string, sizeBytes: number): void {
  const fd = libc.open(path, OpenFlags.O_RDWR);
  libc.ftruncate(fd, sizeBytes);
  libc.close(fd);
}

Deno.test("A retried idempotent batch is answered with its first offsets and stored once", () => {
  const libc = memoryLibc();
  const log = PartitionLog.open(libc, DIR);
  const first = log.append(idempotentBatch(0), { nowMs: 0 });
  assert.ok(first.ok && first.baseOffset === 0 && first.lastOffset === 1 && !first.duplicate);
  assert.ok(log.append(idempotentBatch(2), { nowMs: 0 }).ok);
  const sizeBytes = log.sizeBytes;
  const retry = log.append(idempotentBatch(0), { nowMs: 0 });
  assert.ok(retry.ok && retry.duplicate === true);
  assert.equal(retry.baseOffset, 0);
  assert.equal(retry.lastOffset, 1);
  assert.equal(log.sizeBytes, sizeBytes);
  assert.equal(log.logEndOffset, 4);
  const gap = log.append(idempotentBatch(7), { nowMs: 0 });
  assert.ok(!gap.ok && gap.errorCode === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  assert.ok(log.append(idempotentBatch(0, 1, 1), { nowMs: 0 }).ok); // epoch bump restarts at 0
  const fenced = log.append(idempotentBatch(4, 1, 0), { nowMs: 0 });
  assert.ok(!fenced.ok && fenced.errorCode === ErrorCode.INVALID_PRODUCER_EPOCH);
  assert.equal(log.logEndOffset, 5);
  log.close();
});

Deno.test("Producer state survives a clean restart (snapshot) and a crash (replayed headers)", () => {
  const libc = memoryLibc();
  let log = PartitionLog.open(libc, DIR, { segmentBytes: 400 });
  for (let s = 0; s < 20; s += 2) assert.ok(log.append(idempotentBatch(s), { nowMs: 0 }).ok);
  assert.ok(log.segments.length > 2);
  log.close();
  log = PartitionLog.open(libc, DIR, { segmentBytes: 400 });
  assert.equal(log.loadStats.replayedBatchCount, 0); // the close snapshot covers everything
  const dup = log.append(idempotentBatch(18), { nowMs: 0 });
  assert.ok(dup.ok && dup.duplicate && dup.baseOffset === 18);
  assert.ok(log.append(idempotentBatch(20), { nowMs: 0 }).ok);
  log.flush();
  libc.crash();
  log = PartitionLog.open(libc, DIR, { segmentBytes: 400 });
  assert.equal(log.loadStats.clean, false);
  assert.ok(log.loadStats.replayedBatchCount >= 1);
  const again = log.append(idempotentBatch(20), { nowMs: 0 });
  assert.ok(again.ok && again.duplicate && again.baseOffset === 20);
  assert.equal(log.append(idempotentBatch(23), { nowMs: 0 }).ok, false);
  assert.ok(log.append(idempotentBatch(22), { nowMs: 0 }).ok);
  log.close();
});

Deno.test("ENOSPC, EIO and short writes during append fail retriably and leave the log intact", () => {
  for (const fault of [{ errno: Errno.ENOSPC }, { errno: Errno.EIO }, { shortWrite: true }]) {
    const libc = memoryLibc({ seed: 7 });
    const log = PartitionLog.open(libc, DIR);
    assert.ok(log.append(idempotentBatch(0), { nowMs: 0 }).ok);
    const sizeBytes = log.sizeBytes;
    libc.addFault({ syscall: "pwrite", pathIncludes: ".log", times: 1, ...fault });
    if (fault.shortWrite) libc.addFault({ syscall: "pwrite", pathIncludes: ".log", times: 1 });
    const failed = log.append(idempotentBatch(2), { nowMs: 0 });
    assert.ok(
      !failed.ok && failed.errorCode === ErrorCode.KAFKA_STORAGE_ERROR,
      JSON.stringify(fault),
    );
    assert.equal(log.sizeBytes, sizeBytes);
    assert.equal(log.logEndOffset, 2);
    libc.clearFaults();
    const retried = log.append(idempotentBatch(2), { nowMs: 0 }); // not a duplicate: nothing was stored
    assert.ok(retried.ok && !retried.duplicate && retried.baseOffset === 2);
    log.close();
    const reopened = PartitionLog.open(libc, DIR);
    assert.equal(reopened.logEndOffset, 4);
    reopened.close();
  }
});

Deno.test("Faults during a roll fail the append; the next append rolls and nothing is lost", () => {
  const rules = [
    { syscall: "open", pathIncludes: "00000000000000000003.log" },
    { syscall: "ftruncate", pathIncludes: "00000000000000000003.index" },
    { syscall: "mmap", pathIncludes: "00000000000000000003.timeindex" },
    { syscall: "fdatasync", pathIncludes: "00000000000000000000.log" },
    { syscall: "msync", pathIncludes: "00000000000000000000.index" },
  ];
  for (const rule of rules) {
    const libc = memoryLibc();
    const logger = captureLogger();
    const log = PartitionLog.open(libc, DIR, { segmentBytes: 400 }, { logger });
    for (let i = 0; i < 3; i++) assert.ok(log.append(testBatch(1), { nowMs: 0 }).ok);
    assert.equal(log.segments.length, 1);
    libc.addFault({ ...rule, errno: Errno.ENOSPC, times: 1 });
    const failed = log.append(testBatch(1), { nowMs: 0 });
    assert.ok(!failed.ok && failed.errorCode === ErrorCode.KAFKA_STORAGE_ERROR, rule.syscall);
    assert.equal(log.logEndOffset, 3);
    libc.clearFaults();
    const ok = log.append(testBatch(1), { nowMs: 0 });
    assert.ok(ok.ok && ok.baseOffset === 3, `${rule.syscall}: ${JSON.stringify(ok)}`);
    assert.equal(log.segments.length, 2);
    log.close();
    const reopened = PartitionLog.open(libc, DIR, { segmentBytes: 400 });
    assert.equal(reopened.logEndOffset, 4);
    assert.equal(reopened.read(0, 10000).sizeBytes, 4 * testBatch(1).length);
    reopened.close();
  }
});

Deno.test("A failed flush poisons the segment until the next append reopens it", () => {
  const libc = memoryLibc();
  const log = PartitionLog.open(libc, DIR);
  assert.ok(log.append(testBatch(2), { nowMs: 0 }).ok);
  libc.addFault({ syscall: "fdatasync", times: 1 });
  assert.throws(() => log.flush(), /fdatasync/);
  assert.ok(log.segments[0].flushFailed);
  const next = log.append(testBatch(1), { nowMs: 0 });
  assert.ok(next.ok && next.baseOffset === 2);
  log.flush();
  assert.equal(log.recoveryPoint, 3);
  assert.equal(log.retiredSegmentCount, 0);
  log.close();
});

Deno.test("Recovery cuts a torn tail of every length inside the last batch", () => {
  const libc = memoryLibc();
  const batches = [testBatch(3), testBatch(2, 2000), testBatch(4, 3000, 30)];
  const build = PartitionLog.open(libc, DIR);
  for (const b of batches) assert.ok(build.append(b.slice(), { nowMs: 0 }).ok);
  build.close();
  const logPath = `${DIR}/00000000000000000000.log`;
  const whole = libc.readFile(logPath);
  const lastStart = batches[0].length + batches[1].length;
  for (let cut = 1; cut < batches[2].length; cut++) {
    libc.writeFileAtomic(logPath, whole.subarray(0, whole.length - cut));
    if (libc.exists(`${DIR}/${CLEAN_SHUTDOWN_FILE_NAME}`)) {
      libc.unlink(`${DIR}/${CLEAN_SHUTDOWN_FILE_NAME}`);
    }
    const logger = captureLogger();
    const log = PartitionLog.open(libc, DIR, {}, { logger });
    assert.equal(log.logEndOffset, 5, `cut ${cut}`);
    assert.equal(log.sizeBytes, lastStart);
    assert.equal(log.loadStats.truncatedBytes, batches[2].length - cut);
    assert.ok(
      logger.lines.some((l) => l.includes(logPath) && l.includes(`position ${lastStart}`)),
      logger.lines.join("\n"),
    );
    const appended = log.append(testBatch(1), { nowMs: 0 });
    assert.ok(appended.ok && appended.baseOffset === 5);
    log.close();
  }
});

Deno.test("A segment garbled by hand is cut at its last valid batch, later segments dropped", () => {
  const libc = memoryLibc();
  const config = { segmentBytes: 300 };
  const build = PartitionLog.open(libc, DIR, config);
  for (let i = 0; i < 8; i++) assert.ok(build.append(testBatch(1), { nowMs: 0 }).ok);
  const [first, second] = build.segments;
  assert.ok(build.segments.length >= 3);
  const batchBytes = testBatch(1).length;
  const garbledPath = second.logPath;
  const secondBase = second.baseOffset;
  assert.equal(first.baseOffset, 0);
  build.close();
  const fd = libc.open(garbledPath, OpenFlags.O_RDWR);
  libc.pwrite(fd, new Uint8Array([0xde, 0xad]), batchBytes + 70); // inside the second batch
  libc.close(fd);
  libc.unlink(`${DIR}/${CLEAN_SHUTDOWN_FILE_NAME}`);
  libc.unlink(`${DIR}/.denka_checkpoint`); // recover every segment
  const logger = captureLogger();
  const log = PartitionLog.open(libc, DIR, config, { logger });
  assert.equal(log.logEndOffset, secondBase + 1);
  assert.equal(log.segments.length, 2);
  assert.equal(fileSize(libc, garbledPath), batchBytes);
  assert.ok(
    logger.lines.some((l) => l.includes(garbledPath) && l.includes(`position ${batchBytes}`)),
  );
  assert.ok(logger.lines.some((l) => l.includes("follows a cut segment")));
  assert.ok(log.append(testBatch(1), { nowMs: 0 }).ok);
  log.close();
});

Deno.test("A corrupt or missing index is rebuilt from its log", () => {
  const libc = memoryLibc();
  const config = { segmentBytes: 400, indexIntervalBytes: 1 };
  const build = PartitionLog.open(libc, DIR, config);
  for (let i = 0; i < 9; i++) assert.ok(build.append(testBatch(1), { nowMs: 0 }).ok);
  const expected = build.read(4, 100000).sizeBytes;
  const [first, second] = build.segments.map((s) => s.offsetIndex.path);
  build.close();
  libc.writeFileAtomic(first, new Uint8Array(13).fill(0xff)); // not a whole number of entries
  libc.unlink(second);
  const log = PartitionLog.open(libc, DIR, config);
  assert.equal(log.loadStats.clean, true);
  assert.equal(log.read(4, 100000).sizeBytes, expected);
  assert.ok(log.segments[0].offsetIndex.entryCount > 0);
  assert.ok(log.segments[1].offsetIndex.entryCount > 0);
  log.close();
});

Deno.test("After power loss, segments past the recovery point are recovered and synced ones kept", () => {
  const libc = memoryLibc();
  const config = { segmentBytes: 300 };
  const log = PartitionLog.open(libc, DIR, config);
  for (let i = 0; i < 10; i++) assert.ok(log.append(testBatch(1), { nowMs: 0 }).ok);
  const activeBase = log.segments[log.segments.length - 1].baseOffset;
  assert.ok(activeBase > 0 && log.recoveryPoint === activeBase);
  libc.crash(); // the active segment's unsynced batches are gone
  const reopened = PartitionLog.open(libc, DIR, config);
  assert.equal(reopened.loadStats.recoveredSegmentCount, 0); // the active one was empty on disk
  assert.equal(reopened.logEndOffset, activeBase);
  reopened.close();
  truncateFile(libc, `${DIR}/00000000000000000000.log`, 10);
  libc.unlink(`${DIR}/${CLEAN_SHUTDOWN_FILE_NAME}`);
  const logger = captureLogger();
  const again = PartitionLog.open(libc, DIR, config, { logger });
  // Below the recovery point only headers are walked, but a cut file is still caught.
  assert.equal(again.logEndOffset, 0);
  assert.ok(logger.lines.some((l) => l.includes("00000000000000000000.log")));
  again.close();
});
