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

Deno.test("compactLog() keeps whole the stored batches its record reader refuses, and cleans the rest", async () => {
  const log = PartitionLog.open(memoryLibc(), "/data/c-0", {
    segmentBytes: 300,
    cleanupCompact: true,
    cleanupDelete: false,
  });
  const names = [
    "a record length varint longer than 10 bytes",
    "a zero-length record",
    "a negative header count",
    "a gzip batch whose records are malformed",
    "garbage gzip payload",
  ];
  const bad = malformedBatches().filter((b) => names.includes(b.name));
  assert.equal(bad.length, names.length);
  for (let round = 0; round < 4; round++) {
    assert.ok(log.append(keyed("k", `v${round}`), { nowMs: 0 }).ok);
    // Older data dirs may hold such batches: append them as replication would, unvalidated.
    const batch = bad[round % bad.length].bytes.slice();
    setBaseOffset(batch, 0, log.logEndOffset);
    assert.ok(log.append(batch, { nowMs: 0, assignOffsets: false }).ok);
  }
  // Later keyed batches fill segments, so that every batch above is in an inactive one.
  for (let i = 0; i < 4; i++) assert.ok(log.append(keyed("z", `z${i}`), { nowMs: 0 }).ok);
  const before = log.segments.slice(0, -1).reduce((n, s) => n + s.sizeBytes, 0);
  const result = await compactLog(log, { nowMs: 0 });
  assert.ok(result.recordsRemoved >= 3, JSON.stringify(result)); // k: v0, v1, v2
  assert.equal(result.batchesSkipped, 4, JSON.stringify(result));
  const after = log.segments.slice(0, -1).reduce((n, s) => n + s.sizeBytes, 0);
  assert.ok(after < before, "nothing was rewritten");
  log.close();
});
