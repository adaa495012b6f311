/**
 * The fuzz suite's own record-batch checker, written apart from the broker's
 * code so it can judge it: magic 2, CRC-32C, a known codec, a payload that
 * decompresses (capped), and records that parse exactly as Kafka's
 * `LogValidator` requires (count, lengths, varints of at most 10 bytes,
 * offset deltas 0..lastOffsetDelta in order, nothing left over, no control
 * bit from a client).
 *
 * @module
 */
import { gunzipSync, zstdDecompressSync } from "node:zlib";
import { inflateJs } from "../../protocol/decompress.ts";
import {
  BATCH_HEADER_BYTES,
  BATCH_LOG_OVERHEAD_BYTES,
  RecordBatchView,
} from "../../protocol/record_batch.ts";

/** Largest decompressed payload the checker inflates. */
const INFLATED_BYTES_MAX = 64 * 1024 * 1024;
const VARINT_BYTES_MAX = 10;

class Bad extends Error {}

class Cursor {
  p = 0;
  constructor(readonly bytes: Uint8Array) {}
  varint(): number {
    let z = 0;
    let scale = 1;
    for (let i = 0; i < VARINT_BYTES_MAX; i++) {
      if (this.p >= this.bytes.length) throw new Bad("truncated varint");
      const b = this.bytes[this.p++];
      z += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      scale *= 128;
    }
    throw new Bad("varint longer than 10 bytes");
  }
  skip(n: number, what: string): void {
    if (n < 0 || this.p + n > this.bytes.length) throw new Bad(`${what} of ${n} bytes overruns`);
    this.p += n;
  }
  nullable(what: string, allowNull: boolean): void {
    const n = this.varint();
    if (n === -1 && allowNull) return;
    this.skip(n, what);
  }
}

/** Problems of one batch as a client-facing validator sees them, or undefined when it is valid. */
export function checkBatch(
  batch: Uint8Array,
  options: { keyRequired?: boolean; stored?: boolean } = {},
): string | undefined {
  try {
    checkOrThrow(batch, options.keyRequired ?? false, options.stored ?? false);
    return undefined;
  } catch (e) {
    if (e instanceof Bad) return e.message;
    return `checker: ${(e as Error).message}`;
  }
}

/**
 * `stored`: the batch was read from the log, where compaction may have removed records while
 * keeping lastOffsetDelta (as Kafka's cleaner does): deltas need only increase within
 * 0..lastOffsetDelta.
 */
function checkOrThrow(batch: Uint8Array, keyRequired: boolean, stored: boolean): void {
  if (batch.length < BATCH_HEADER_BYTES) throw new Bad("shorter than a batch header");
  const v = new RecordBatchView(batch);
  if (v.magic !== 2) throw new Bad(`magic ${v.magic}`);
  if (v.sizeBytes !== batch.length) {
    throw new Bad(
      `batchLength ${v.batchLengthBytes} vs ${batch.length - BATCH_LOG_OVERHEAD_BYTES}`,
    );
  }
  if (!v.isCrcValid()) throw new Bad("CRC mismatch");
  if (v.isControl) return; // written by the broker itself (transaction markers)
  const codec = v.compression;
  if (codec > 4) throw new Bad(`compression codec ${codec}`);
  const count = v.recordCount;
  if (count < (stored ? 0 : 1)) throw new Bad(`recordCount ${count}`);
  const lastOffsetDelta = v.lastOffsetDelta;
  if (stored ? lastOffsetDelta < count - 1 : lastOffsetDelta !== count - 1) {
    throw new Bad(`lastOffsetDelta ${v.lastOffsetDelta} with ${count} records`);
  }
  const payload = inflated(codec, batch.subarray(BATCH_HEADER_BYTES));
  const c = new Cursor(payload);
  let previousDelta = -1;
  for (let i = 0; i < count; i++) {
    if (c.p >= payload.length) throw new Bad(`record ${i} of ${count} missing`);
    const lengthBytes = c.varint();
    if (lengthBytes <= 0 || c.p + lengthBytes > payload.length) {
      throw new Bad(`record ${i} length ${lengthBytes} with ${payload.length - c.p} bytes left`);
    }
    const end = c.p + lengthBytes;
    const rec = new Cursor(payload.subarray(c.p, end));
    rec.skip(1, "attributes");
    rec.varint(); // timestampDelta
    const offsetDelta = rec.varint();
    const inOrder = stored
      ? offsetDelta > previousDelta && offsetDelta <= lastOffsetDelta
      : offsetDelta === i;
    if (!inOrder) throw new Bad(`record ${i} has offset delta ${offsetDelta}`);
    previousDelta = offsetDelta;
    const keyAt = rec.p;
    rec.nullable("key", true);
    if (keyRequired && rec.bytes[keyAt] === 1) {
      throw new Bad(`record ${i} has no key on a compacted topic`);
    }
    rec.nullable("value", true);
    const headers = rec.varint();
    if (headers < 0) throw new Bad(`record ${i} header count ${headers}`);
    for (let h = 0; h < headers; h++) {
      rec.nullable("header key", false);
      rec.nullable("header value", true);
    }
    if (rec.p !== lengthBytes) {
      throw new Bad(`record ${i} has ${lengthBytes - rec.p} bytes past its fields`);
    }
    c.p = end;
  }
  if (c.p !== payload.length) throw new Bad(`${payload.length - c.p} bytes after the last record`);
}

/**
 * A payload decompressed apart from the broker's decoders where the runtime has one (gzip and
 * zstd through `node:zlib`), else by the project's JS decoders (snappy, lz4); capped.
 */
function inflated(codec: number, payload: Uint8Array): Uint8Array {
  if (codec === 0) return payload;
  try {
    const options = { maxOutputLength: INFLATED_BYTES_MAX };
    if (codec === 1) return new Uint8Array(gunzipSync(payload, options));
    if (codec === 4) return new Uint8Array(zstdDecompressSync(payload, options));
  } catch (e) {
    throw new Bad(`codec ${codec} payload: ${(e as Error).message}`);
  }
  const out = inflateJs(codec, payload, INFLATED_BYTES_MAX);
  if (!out.ok) throw new Bad(`codec ${codec} payload: ${out.message}`);
  return out.bytes;
}

/** Splits a records blob into whole batches; a partial trailing batch is dropped. */
export function splitBatches(blob: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  let p = 0;
  while (p + BATCH_LOG_OVERHEAD_BYTES <= blob.length) {
    const size = view.getInt32(p + 8) + BATCH_LOG_OVERHEAD_BYTES;
    if (size < BATCH_LOG_OVERHEAD_BYTES || p + size > blob.length) break;
    out.push(blob.subarray(p, p + size));
    p += size;
  }
  return out;
}
