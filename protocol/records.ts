/**
 * Encode and decode uncompressed RecordBatch v2 payloads: records as
 * zigzag-varint framed entries (length, attributes, timestampDelta,
 * offsetDelta, key, value, headers). Used by tests, the HTTP API and the
 * ListOffsets timestamp search; the produce and fetch paths never decode.
 *
 * @module
 */

import { ErrorCode } from "./error_codes.ts";
import {
  BATCH_HEADER_BYTES,
  BATCH_LOG_OVERHEAD_BYTES,
  BATCH_MAGIC_V2,
  BatchAttribute,
  BatchField,
  RecordBatchError,
  RecordBatchView,
  writeInt64,
} from "./record_batch.ts";

/** A record header. */
export interface RecordHeader {
  readonly key: string;
  readonly value: Uint8Array | null;
}

/** A record to encode. */
export interface RecordInput {
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers?: readonly RecordHeader[];
  readonly timestampMs: number;
}

/** A decoded record, with its absolute offset. */
export interface DecodedRecord extends RecordInput {
  readonly offset: number;
  readonly headers: readonly RecordHeader[];
}

/** A decoded batch: header fields plus its records. */
export interface DecodedBatch {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly partitionLeaderEpoch: number;
  readonly attributes: number;
  readonly baseTimestampMs: number;
  readonly maxTimestampMs: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly sizeBytes: number;
  readonly records: DecodedRecord[];
}

/** Options of {@linkcode encodeRecordBatch}. */
export interface EncodeBatchOptions {
  readonly baseOffset?: number;
  readonly partitionLeaderEpoch?: number;
  readonly producerId?: number;
  readonly producerEpoch?: number;
  readonly baseSequence?: number;
  readonly isTransactional?: boolean;
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: true });

// ---------------------------------------------------------------------------------------------
// Varints (zigzag), exact for safe integers.

/** Bytes of the zigzag varint of `value`. */
export function varintSizeBytes(value: number): number {
  let z = value >= 0 ? value * 2 : -value * 2 - 1;
  let n = 1;
  while (z >= 128) {
    z = Math.floor(z / 128);
    n++;
  }
  return n;
}

/** Writes the zigzag varint of `value` at `positionBytes`; returns the position after it. */
export function writeVarint(bytes: Uint8Array, positionBytes: number, value: number): number {
  let z = value >= 0 ? value * 2 : -value * 2 - 1;
  let p = positionBytes;
  while (z >= 128) {
    bytes[p++] = (z % 128) | 0x80;
    z = Math.floor(z / 128);
  }
  bytes[p++] = z;
  return p;
}

/** A cursor reading zigzag varints and raw bytes; throws CORRUPT_MESSAGE past `endBytes`. */
class Cursor {
  constructor(
    readonly bytes: Uint8Array,
    public positionBytes: number,
    readonly endBytes: number,
  ) {}
  varint(): number {
    let z = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.positionBytes >= this.endBytes) {
        throw corrupt("Truncated varint", this.positionBytes);
      }
      const b = this.bytes[this.positionBytes++];
      z += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      scale *= 128;
    }
    throw corrupt("Varint longer than 10 bytes", this.positionBytes);
  }
  take(lengthBytes: number): Uint8Array {
    if (lengthBytes < 0 || this.positionBytes + lengthBytes > this.endBytes) {
      throw corrupt(`Field of ${lengthBytes} bytes overruns the record`, this.positionBytes);
    }
    const out = this.bytes.subarray(this.positionBytes, this.positionBytes + lengthBytes);
    this.positionBytes += lengthBytes;
    return out;
  }
  nullableBytes(): Uint8Array | null {
    const lengthBytes = this.varint();
    return lengthBytes < 0 ? null : this.take(lengthBytes).slice();
  }
}

function corrupt(message: string, positionBytes: number): RecordBatchError {
  return new RecordBatchError(ErrorCode.CORRUPT_MESSAGE, message, positionBytes);
}

// ---------------------------------------------------------------------------------------------
// Encode.

function recordBodySizeBytes(
  r: RecordInput,
  timestampDelta: number,
  offsetDelta: number,
  keys: Uint8Array[],
): number {
  let n = 1 + varintSizeBytes(timestampDelta) + varintSizeBytes(offsetDelta);
  n += r.key === null ? 1 : varintSizeBytes(r.key.length) + r.key.length;
  n += r.value === null ? 1 : varintSizeBytes(r.value.length) + r.value.length;
  const headers = r.headers ?? [];
  n += varintSizeBytes(headers.length);
  for (let i = 0; i < headers.length; i++) {
    const value = headers[i].value;
    n += varintSizeBytes(keys[i].length) + keys[i].length;
    n += value === null ? 1 : varintSizeBytes(value.length) + value.length;
  }
  return n;
}

function writeNullable(bytes: Uint8Array, p: number, value: Uint8Array | null): number {
  if (value === null) return writeVarint(bytes, p, -1);
  p = writeVarint(bytes, p, value.length);
  bytes.set(value, p);
  return p + value.length;
}

/** Encodes one uncompressed v2 batch with a valid CRC. `records` must not be empty. */
export function encodeRecordBatch(
  records: readonly RecordInput[],
  options: EncodeBatchOptions = {},
): Uint8Array {
  if (records.length === 0) throw new RangeError("A record batch needs at least one record");
  const baseTimestampMs = records[0].timestampMs;
  let maxTimestampMs = baseTimestampMs;
  const headerKeys = records.map((r) => (r.headers ?? []).map((h) => textEncoder.encode(h.key)));
  const bodySizes: number[] = [];
  let sizeBytes = BATCH_HEADER_BYTES;
  records.forEach((r, i) => {
    if (r.timestampMs > maxTimestampMs) maxTimestampMs = r.timestampMs;
    const body = recordBodySizeBytes(r, r.timestampMs - baseTimestampMs, i, headerKeys[i]);
    bodySizes.push(body);
    sizeBytes += varintSizeBytes(body) + body;
  });
  const bytes = new Uint8Array(sizeBytes);
  const view = new DataView(bytes.buffer);
  writeInt64(view, BatchField.baseOffset, options.baseOffset ?? 0);
  view.setInt32(BatchField.batchLength, sizeBytes - BATCH_LOG_OVERHEAD_BYTES);
  view.setInt32(BatchField.partitionLeaderEpoch, options.partitionLeaderEpoch ?? -1);
  view.setInt8(BatchField.magic, BATCH_MAGIC_V2);
  view.setInt16(BatchField.attributes, options.isTransactional ? BatchAttribute.TRANSACTIONAL : 0);
  view.setInt32(BatchField.lastOffsetDelta, records.length - 1);
  writeInt64(view, BatchField.baseTimestamp, baseTimestampMs);
  writeInt64(view, BatchField.maxTimestamp, maxTimestampMs);
  writeInt64(view, BatchField.producerId, options.producerId ?? -1);
  view.setInt16(BatchField.producerEpoch, options.producerEpoch ?? -1);
  view.setInt32(BatchField.baseSequence, options.baseSequence ?? -1);
  view.setInt32(BatchField.recordCount, records.length);
  let p = BATCH_HEADER_BYTES;
  records.forEach((r, i) => {
    p = writeVarint(bytes, p, bodySizes[i]);
    bytes[p++] = 0; // record attributes
    p = writeVarint(bytes, p, r.timestampMs - baseTimestampMs);
    p = writeVarint(bytes, p, i);
    p = writeNullable(bytes, p, r.key);
    p = writeNullable(bytes, p, r.value);
    const headers = r.headers ?? [];
    p = writeVarint(bytes, p, headers.length);
    headers.forEach((h, j) => {
      p = writeNullable(bytes, p, headerKeys[i][j]);
      p = writeNullable(bytes, p, h.value);
    });
  });
  new RecordBatchView(bytes).updateCrc();
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// Decode.

/**
 * Decodes the records of the batch at `positionBytes`, calling `onRecord` for each with
 * (offset, timestampMs, cursor positioned at the key); stops early when it returns true.
 */
function walkRecords(
  batch: RecordBatchView,
  onRecord: (offset: number, timestampMs: number, cursor: Cursor, endBytes: number) => boolean,
): void {
  if (batch.compression !== 0) {
    throw new RecordBatchError(
      ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
      "Compressed batches are not decoded",
      batch.positionBytes,
    );
  }
  const end = batch.positionBytes + batch.sizeBytes;
  if (end > batch.bytes.length) throw corrupt("Truncated batch", batch.positionBytes);
  const cursor = new Cursor(batch.bytes, batch.positionBytes + BATCH_HEADER_BYTES, end);
  const baseOffset = batch.baseOffset;
  const baseTimestampMs = batch.baseTimestampMs;
  const logAppendTime = batch.isLogAppendTime;
  for (let i = 0; i < batch.recordCount; i++) {
    const bodyBytes = cursor.varint();
    const recordEnd = cursor.positionBytes + bodyBytes;
    if (bodyBytes < 0 || recordEnd > end) {
      throw corrupt("Record overruns the batch", cursor.positionBytes);
    }
    cursor.take(1); // attributes
    const timestampDelta = cursor.varint();
    const offsetDelta = cursor.varint();
    const timestampMs = logAppendTime ? batch.maxTimestampMs : baseTimestampMs + timestampDelta;
    if (onRecord(baseOffset + offsetDelta, timestampMs, cursor, recordEnd)) return;
    cursor.positionBytes = recordEnd;
  }
}

/** Decodes the uncompressed batch at `positionBytes` of `bytes`. */
export function decodeRecordBatch(bytes: Uint8Array, positionBytes = 0): DecodedBatch {
  const batch = new RecordBatchView(bytes, positionBytes);
  const records: DecodedRecord[] = [];
  walkRecords(batch, (offset, timestampMs, cursor, endBytes) => {
    const key = cursor.nullableBytes();
    const value = cursor.nullableBytes();
    const headerCount = cursor.varint();
    const headers: RecordHeader[] = [];
    for (let h = 0; h < headerCount; h++) {
      const headerKey = cursor.take(cursor.varint());
      headers.push({ key: textDecoder.decode(headerKey), value: cursor.nullableBytes() });
    }
    if (cursor.positionBytes !== endBytes) {
      throw corrupt("Record length mismatch", cursor.positionBytes);
    }
    records.push({ offset, timestampMs, key, value, headers });
    return false;
  });
  return {
    baseOffset: batch.baseOffset,
    lastOffset: batch.lastOffset,
    partitionLeaderEpoch: batch.partitionLeaderEpoch,
    attributes: batch.attributes,
    baseTimestampMs: batch.baseTimestampMs,
    maxTimestampMs: batch.maxTimestampMs,
    producerId: batch.producerId,
    producerEpoch: batch.producerEpoch,
    baseSequence: batch.baseSequence,
    sizeBytes: batch.sizeBytes,
    records,
  };
}

/** Decodes every whole batch in `bytes`; a trailing partial batch (as fetch may return) is skipped. */
export function decodeRecordBatches(bytes: Uint8Array): DecodedBatch[] {
  const batches: DecodedBatch[] = [];
  const view = new RecordBatchView(bytes);
  for (let p = 0; p + BATCH_LOG_OVERHEAD_BYTES <= bytes.length;) {
    const sizeBytes = view.moveTo(p).sizeBytes;
    if (p + sizeBytes > bytes.length) break;
    batches.push(decodeRecordBatch(bytes, p));
    p += sizeBytes;
  }
  return batches;
}

/**
 * The first record of the batch at `positionBytes` with timestamp >= `timestampMs` and
 * offset >= `offsetMin` (Kafka's `FileRecords.searchForTimestamp` inside one batch).
 */
export function findRecordByTimestamp(
  bytes: Uint8Array,
  positionBytes: number,
  options: { readonly timestampMs: number; readonly offsetMin: number },
): { offset: number; timestampMs: number } | undefined {
  let found: { offset: number; timestampMs: number } | undefined;
  walkRecords(new RecordBatchView(bytes, positionBytes), (offset, timestampMs) => {
    if (timestampMs >= options.timestampMs && offset >= options.offsetMin) {
      found = { offset, timestampMs };
    }
    return found !== undefined;
  });
  return found;
}
