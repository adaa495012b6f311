/**
 * Encode and decode uncompressed RecordBatch v2 payloads: records as
 * zigzag-varint framed entries (length, attributes, timestampDelta,
 * offsetDelta, key, value, headers). Used by tests, the HTTP API and the
 * ListOffsets timestamp search; records are read with the one reader of
 * untrusted record bytes, `record_reader.ts`.
 *
 * @module
 */

import { ErrorCode } from "./error_codes.ts";
import { RecordReader } from "./record_reader.ts";
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
 * Walks the records of the uncompressed batch `batch` with the one record reader
 * (`record_reader.ts`), calling `onRecord` for each with its offset and timestamp; stops early
 * when it returns true. Returns why the bytes are bad, or undefined.
 */
function walkRecords(
  batch: RecordBatchView,
  onRecord: (offset: number, timestampMs: number, reader: RecordReader) => boolean,
): RecordBatchError | undefined {
  if (batch.compression !== 0) {
    return new RecordBatchError(
      ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
      "Compressed batches are not decoded",
      batch.positionBytes,
    );
  }
  const end = batch.positionBytes + batch.sizeBytes;
  if (end > batch.bytes.length) return corrupt("Truncated batch", batch.positionBytes);
  const reader = new RecordReader().reset(
    batch.bytes,
    batch.positionBytes + BATCH_HEADER_BYTES,
    end,
  );
  const baseOffset = batch.baseOffset;
  const baseTimestampMs = batch.baseTimestampMs;
  const logAppendTime = batch.isLogAppendTime;
  for (let i = 0; i < batch.recordCount; i++) {
    if (!reader.next()) {
      return corrupt(
        reader.error ?? "Truncated batch: fewer records than its count",
        reader.positionBytes,
      );
    }
    const timestampMs = logAppendTime
      ? batch.maxTimestampMs
      : baseTimestampMs + reader.timestampDelta;
    if (onRecord(baseOffset + reader.offsetDelta, timestampMs, reader)) return undefined;
  }
  return undefined;
}

function nullableBytes(
  reader: RecordReader,
  startBytes: number,
  lengthBytes: number,
): Uint8Array | null {
  return lengthBytes < 0 ? null : reader.bytes.slice(startBytes, startBytes + lengthBytes);
}

/** The headers of the record `reader` has just read (its bounds were checked by the reader). */
function readHeaders(reader: RecordReader): RecordHeader[] {
  const headers: RecordHeader[] = [];
  const bytes = reader.bytes;
  let p = reader.headersStartBytes;
  const varint = (): number => {
    let z = 0;
    let scale = 1;
    for (;;) {
      const b = bytes[p++];
      z += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      scale *= 128;
    }
  };
  for (let h = 0; h < reader.headerCount; h++) {
    const keyLength = varint();
    const key = textDecoder.decode(bytes.subarray(p, p + keyLength));
    p += keyLength;
    const valueLength = varint();
    headers.push({ key, value: valueLength < 0 ? null : bytes.slice(p, p + valueLength) });
    if (valueLength > 0) p += valueLength;
  }
  return headers;
}

/** Decodes the uncompressed batch at `positionBytes` of `bytes`; throws {@linkcode RecordBatchError} on bad bytes. */
export function decodeRecordBatch(bytes: Uint8Array, positionBytes = 0): DecodedBatch {
  const batch = new RecordBatchView(bytes, positionBytes);
  const records: DecodedRecord[] = [];
  const error = walkRecords(batch, (offset, timestampMs, reader) => {
    const key = nullableBytes(reader, reader.keyStartBytes, reader.keyLengthBytes);
    const value = nullableBytes(reader, reader.valueStartBytes, reader.valueLengthBytes);
    records.push({ offset, timestampMs, key, value, headers: readHeaders(reader) });
    return false;
  });
  if (error !== undefined) throw error;
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
  // A batch whose records cannot be read (none is accepted at produce) has no match.
  walkRecords(new RecordBatchView(bytes, positionBytes), (offset, timestampMs) => {
    if (timestampMs >= options.timestampMs && offset >= options.offsetMin) {
      found = { offset, timestampMs };
    }
    return found !== undefined;
  });
  return found;
}
