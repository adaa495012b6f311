import { RecordBatchView } from "../protocol/record_batch.ts";
import { validateBatchRecords } from "../protocol/record_validator.ts";
import { assertEquals } from "../util/assert.ts";
import { buildBatch } from "./client_ops.ts";

for (const compression of ["lz4", "zstd"] as const) {
  Deno.test(`buildBatch() with ${compression} gives a smaller batch that produce validation accepts`, () => {
    const shape = { recordBytes: 1024, batchBytes: 64 * 1024, keyed: false };
    const plain = buildBatch({ ...shape, compression: undefined });
    const packed = buildBatch({ ...shape, compression });
    assertEquals(packed.records, plain.records);
    const view = new RecordBatchView(packed.bytes);
    assertEquals(view.compression, compression === "lz4" ? 3 : 4);
    assertEquals(packed.bytes.length < plain.bytes.length / 2, true, "not compressible");
    const verdict = validateBatchRecords(view, { nowMs: Date.now(), maxMessageBytes: 1 << 20 });
    assertEquals(verdict.ok, true, JSON.stringify(verdict));
  });
}
