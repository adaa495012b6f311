import { assert } from "../util/assert.ts";
import { memoryLibc } from "../ffi/memory.ts";
import { setBaseOffset } from "../protocol/record_batch.ts";
import { encodeRecordBatch } from "../protocol/records.ts";
import { malformedBatches } from "../protocol/_test_batches.ts";
import { compactLog } from "./cleaner.ts";
import { PartitionLog } from "./partition_log.ts";

const text = new TextEncoder();

function keyed(key: string, value: string): Uint8Array {
  return encodeRecordBatch([{ key: text.encode(key), value: text.encode(value), timestampMs: 1 }]);
}

/** Segment sizes, to tell whether a compaction rewrote anything. */
function sizes(log: PartitionLog): number[] {
  return log.segments.map((s) => s.sizeBytes);
}

for (
  const name of [
    "a record length varint longer than 10 bytes",
    "a zero-length record",
    "a negative header count",
    "a gzip batch whose records are malformed",
    "garbage gzip payload",
    "truncated zstd payload",
  ]
) {
  Deno.test(`compactLog() leaves a log holding ${name} as it is and says why`, async () => {
    const log = PartitionLog.open(memoryLibc(), "/data/c-0", {
      segmentBytes: 300,
      cleanupCompact: true,
      cleanupDelete: false,
    });
    const bad = malformedBatches().find((b) => b.name === name)!.bytes.slice();
    for (let round = 0; round < 3; round++) {
      assert.ok(log.append(keyed("k", `v${round}`), { nowMs: 0 }).ok);
    }
    // Older data dirs may hold such a batch: append it as replication would, unvalidated.
    setBaseOffset(bad, 0, log.logEndOffset);
    assert.ok(log.append(bad, { nowMs: 0, assignOffsets: false }).ok);
    for (let i = 0; i < 4; i++) assert.ok(log.append(keyed("z", `z${i}`), { nowMs: 0 }).ok);
    const before = sizes(log);
    const result = await compactLog(log, { nowMs: 0 });
    assert.match(result.unreadable ?? "", /^the batch at offset 3 cannot be read: ./);
    assert.equal(result.segmentsRewritten, 0);
    assert.deepEqual(sizes(log), before);
    log.close();
  });
}

Deno.test("compactLog() cleans a log of good batches and reports nothing unreadable", async () => {
  const log = PartitionLog.open(memoryLibc(), "/data/c-1", {
    segmentBytes: 300,
    cleanupCompact: true,
    cleanupDelete: false,
  });
  for (let i = 0; i < 8; i++) assert.ok(log.append(keyed("k", `v${i}`), { nowMs: 0 }).ok);
  const result = await compactLog(log, { nowMs: 0 });
  assert.equal(result.unreadable, undefined);
  assert.ok(result.recordsRemoved > 0 && result.segmentsRewritten > 0, JSON.stringify(result));
  log.close();
});
