/** Containment of retention and the cleaner: uncleanable partitions, retried I/O errors, bugs. */
import { AssertionError } from "node:assert";
import { IoError, OpenFlags } from "../ffi/port.ts";
import { memoryLibc } from "../ffi/memory.ts";
import { BATCH_HEADER_BYTES, RecordBatchView } from "../protocol/record_batch.ts";
import { encodeRecordBatch } from "../protocol/records.ts";
import { GroupCommit } from "../storage/flusher.ts";
import { segmentPath } from "../storage/log_files.ts";
import type { PartitionLog } from "../storage/partition_log.ts";
import { assertEquals, assertOk, assertRejects } from "../util/assert.ts";
import { BackgroundTasks } from "../util/background.ts";
import type { Logger } from "../util/log.ts";
import { LogMaintenance, type LogMaintenanceOptions } from "./log_maintenance.ts";
import { defaultTopicConfigs } from "./topic_config.ts";
import { TopicRegistry } from "./topics.ts";

const text = new TextEncoder();

function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger: Logger = {
    debug: () => {},
    info: (m) => lines.push(`INFO ${m}`),
    warn: (m) => lines.push(`WARN ${m}`),
    error: (m) => lines.push(`ERROR ${m}`),
    child: () => logger,
  };
  return { logger, lines };
}

/** Two compacted topics, "bad" and "good", with four one-record segments each ("k" three times). */
function setUp(options: Partial<LogMaintenanceOptions> = {}) {
  const libc = memoryLibc();
  const { logger, lines } = capture();
  const topics = TopicRegistry.open(libc, {
    dataDir: "/data",
    defaults: defaultTopicConfigs(),
    writerKind: "pwrite",
    logger,
  });
  const compacted = {
    "cleanup.policy": "compact",
    "segment.bytes": "100",
    "segment.index.bytes": "1200",
  };
  const logs = ["bad", "good"].map((name) => topics.create(name, 1, compacted).partitions[0].log);
  for (const log of logs) appendKeyed(log, [["k", "v1"], ["k", "v2"], ["x", "x1"], ["k", "v3"]]);
  const maintenance = new LogMaintenance(topics, {
    retentionCheckIntervalMs: 1000,
    nowMs: () => 0,
    logger,
    flusher: new GroupCommit(),
    ...options,
  });
  return { libc, topics, logs, maintenance, lines };
}

function appendKeyed(log: PartitionLog, records: [string, string][]): void {
  for (const [key, value] of records) {
    const batch = encodeRecordBatch([{
      key: text.encode(key),
      value: text.encode(value),
      timestampMs: 0,
    }]);
    assertOk(log.append(batch, { nowMs: 0 }).ok);
  }
}

/**
 * Rewrites the first batch of `log`'s first segment on disk, as a broker that stored it
 * before records were validated would have: its first record's length varint runs past
 * 10 bytes; the CRC is made right again, so only a record reader can tell.
 */
function corruptFirstBatch(libc: ReturnType<typeof memoryLibc>, log: PartitionLog): void {
  const path = segmentPath(log.dir, 0, ".log");
  const fd = libc.open(path, OpenFlags.O_RDWR);
  try {
    const header = new Uint8Array(BATCH_HEADER_BYTES);
    libc.pread(fd, header, 0);
    const bytes = new Uint8Array(new RecordBatchView(header).sizeBytes);
    libc.pread(fd, bytes, 0);
    bytes.fill(0xff, BATCH_HEADER_BYTES, BATCH_HEADER_BYTES + 11);
    new RecordBatchView(bytes).updateCrc();
    libc.pwrite(fd, bytes, 0);
  } finally {
    libc.close(fd);
  }
}

Deno.test("LogMaintenance marks a partition whose cleaning fails uncleanable and cleans the others", async () => {
  const { libc, logs, maintenance, lines, topics } = setUp();
  const [bad] = logs;
  corruptFirstBatch(libc, bad);
  const first = await maintenance.runOnce();
  assertOk(first.segmentsCompacted > 0, "the good partition was compacted");
  assertEquals(maintenance.uncleanablePartitions().map((u) => u.log), [bad]);
  assertOk(maintenance.uncleanablePartitions()[0].reason.length > 0);
  const marked = lines.filter((l) => l.includes("uncleanable"));
  assertEquals(marked.length, 1);
  assertOk(marked[0].startsWith(`ERROR Marked "${bad.dir}" uncleanable`), marked[0]);
  // Both partitions take appends; only the good one is cleaned again.
  for (const log of logs) appendKeyed(log, [["x", "x2"], ["x", "x3"]]);
  const second = await maintenance.runOnce();
  assertOk(second.segmentsCompacted > 0);
  assertEquals(lines.filter((l) => l.includes("uncleanable")).length, 1, "logged once");
  assertEquals(maintenance.uncleanablePartitions().length, 1);
  topics.close();
});

Deno.test("LogMaintenance forgets an uncleanable partition whose topic was deleted", async () => {
  const { libc, logs, maintenance, topics } = setUp();
  corruptFirstBatch(libc, logs[0]);
  await maintenance.runOnce();
  assertEquals(maintenance.uncleanablePartitions().length, 1);
  topics.delete("bad");
  assertEquals(maintenance.uncleanablePartitions().length, 0);
  topics.close();
});

Deno.test("LogMaintenance retries a compaction that failed with an I/O error", async () => {
  let calls = 0;
  const { logger, lines } = capture();
  const background = new BackgroundTasks(logger);
  const { maintenance, topics } = setUp({
    logger,
    background,
    compact: (log) => {
      calls++;
      if (calls <= 2) throw new IoError("pwrite", 28, `${log.dir}/x.cleaned`);
      return Promise.resolve({
        segmentsRewritten: 1,
        recordsRemoved: 0,
        tombstonesRemoved: 0,
        batchesSkipped: 0,
        nextHorizonMs: Infinity,
      });
    },
  });
  const first = await maintenance.runOnce();
  assertEquals(first.segmentsCompacted, 0);
  assertEquals(maintenance.uncleanablePartitions().length, 0);
  assertEquals(background.failures.get("Compaction"), 2);
  assertOk(lines.some((l) => l.startsWith('ERROR Compaction of "/data/bad-0" failed')), lines[0]);
  const second = await maintenance.runOnce();
  assertEquals(second.segmentsCompacted, 2, "both partitions were tried again");
  topics.close();
});

Deno.test("LogMaintenance.runOnce() rejects with a failed assertion, and the next run still runs", async () => {
  let failing = true;
  const { maintenance, topics, lines } = setUp({
    compact: () => {
      if (failing) throw new AssertionError({ message: "Offsets must grow" });
      return Promise.resolve({
        segmentsRewritten: 0,
        recordsRemoved: 0,
        tombstonesRemoved: 0,
        batchesSkipped: 0,
        nextHorizonMs: Infinity,
      });
    },
  });
  await assertRejects(() => maintenance.runOnce(), AssertionError);
  assertOk(lines.some((l) => l.startsWith('ERROR Bug in Compaction of "/data/bad-0", stopping')));
  assertEquals(maintenance.uncleanablePartitions().length, 0);
  failing = false;
  assertEquals((await maintenance.runOnce()).segmentsCompacted, 0);
  await maintenance.stop();
  topics.close();
});

Deno.test("LogMaintenance.runRetention() goes on past a partition whose retention throws", () => {
  const { logs, maintenance, topics, lines } = setUp();
  const [bad] = logs;
  bad.deleteRetentionBreached = () => {
    throw new TypeError("Cannot read properties of undefined");
  };
  const totals = maintenance.runRetention();
  assertEquals(totals.segmentsDeleted, 0);
  assertOk(lines.some((l) => l.startsWith('ERROR Retention of "/data/bad-0" failed')), lines[0]);
  topics.close();
});

Deno.test("LogMaintenance.checkFlushPolicy() reads flush.ms against the broker's clock", () => {
  const libc = memoryLibc();
  const { logger } = capture();
  let nowMs = 1_000_000;
  const clock = () => nowMs;
  const topics = TopicRegistry.open(libc, {
    dataDir: "/data",
    defaults: defaultTopicConfigs(),
    writerKind: "pwrite",
    logger,
    nowMs: clock,
  });
  const log = topics.create("timed", 1, { "flush.ms": "5000" }).partitions[0].log;
  const requested: PartitionLog[] = [];
  const flusher = new GroupCommit();
  flusher.request = (l) => void requested.push(l as PartitionLog);
  const maintenance = new LogMaintenance(topics, {
    retentionCheckIntervalMs: 1000,
    nowMs: clock,
    logger,
    flusher,
  });
  appendKeyed(log, [["k", "v"]]);
  nowMs += 4999;
  maintenance.checkFlushPolicy();
  assertEquals(requested.length, 0, "flushed before flush.ms passed on the broker's clock");
  nowMs += 1;
  maintenance.checkFlushPolicy();
  assertEquals(requested, [log]);
  topics.close();
});
