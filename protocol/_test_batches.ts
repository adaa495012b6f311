/**
 * Test helpers: hand-built records and batches, well-formed or not, with a
 * valid CRC so that only the record rules can refuse them; and the malformed
 * batches of issue 10's "What was found" list with the error Kafka answers.
 *
 * @module
 */
import { gzipSync, zstdCompressSync } from "node:zlib";
import { ErrorCode } from "./error_codes.ts";
import {
  BATCH_HEADER_BYTES,
  BATCH_LOG_OVERHEAD_BYTES,
  BATCH_MAGIC_V2,
  BatchField,
  RecordBatchView,
  writeInt64,
} from "./record_batch.ts";
import { varintSizeBytes, writeVarint } from "./records.ts";

const text = new TextEncoder();

/** One record's fields; `body` replaces everything after the length when given. */
export interface RawRecord {
  readonly offsetDelta: number;
  readonly key?: string | null;
  readonly value?: string | null;
  readonly timestampDelta?: number;
  readonly headers?: readonly [string, string | null][];
}

function varint(value: number): number[] {
  const out = new Uint8Array(10);
  return [...out.subarray(0, writeVarint(out, 0, value))];
}

function nullable(s: string | null | undefined): number[] {
  if (s === null || s === undefined) return varint(-1);
  const b = text.encode(s);
  return [...varint(b.length), ...b];
}

/** The body of a record (attributes to headers), without its length. */
export function recordBody(r: RawRecord): number[] {
  const headers = r.headers ?? [];
  return [
    0,
    ...varint(r.timestampDelta ?? 0),
    ...varint(r.offsetDelta),
    ...nullable(r.key === undefined ? "k" : r.key),
    ...nullable(r.value === undefined ? "v" : r.value),
    ...varint(headers.length),
    ...headers.flatMap(([k, v]) => [...nullable(k), ...nullable(v)]),
  ];
}

/** `body` with its zigzag length prefix. */
export function framed(body: readonly number[]): number[] {
  return [...varint(body.length), ...body];
}

/** A record with its length prefix. */
export function recordBytes(r: RawRecord): number[] {
  const body = recordBody(r);
  return [...varint(body.length), ...body];
}

/** Header fields of {@linkcode rawBatch}. */
export interface RawBatchFields {
  readonly recordCount: number;
  readonly lastOffsetDelta?: number;
  readonly attributes?: number;
  readonly producerId?: number;
  readonly baseSequence?: number;
  readonly baseTimestampMs?: number;
  readonly maxTimestampMs?: number;
}

/** A v2 batch around `records` (already compressed if the attributes say so), CRC valid. */
export function rawBatch(records: ArrayLike<number>, fields: RawBatchFields): Uint8Array {
  const out = new Uint8Array(BATCH_HEADER_BYTES + records.length);
  out.set(records, BATCH_HEADER_BYTES);
  const dv = new DataView(out.buffer);
  dv.setInt32(BatchField.batchLength, out.length - BATCH_LOG_OVERHEAD_BYTES);
  dv.setInt32(BatchField.partitionLeaderEpoch, -1);
  dv.setInt8(BatchField.magic, BATCH_MAGIC_V2);
  dv.setInt16(BatchField.attributes, fields.attributes ?? 0);
  dv.setInt32(BatchField.lastOffsetDelta, fields.lastOffsetDelta ?? fields.recordCount - 1);
  writeInt64(dv, BatchField.baseTimestamp, fields.baseTimestampMs ?? 1000);
  writeInt64(dv, BatchField.maxTimestamp, fields.maxTimestampMs ?? fields.baseTimestampMs ?? 1000);
  writeInt64(dv, BatchField.producerId, fields.producerId ?? -1);
  dv.setInt16(BatchField.producerEpoch, -1);
  dv.setInt32(BatchField.baseSequence, fields.baseSequence ?? -1);
  dv.setInt32(BatchField.recordCount, fields.recordCount);
  new RecordBatchView(out).updateCrc();
  return out;
}

/** `count` well-formed keyed records, offset deltas 0..count-1. */
export function goodRecords(count: number, prefix = "v"): number[] {
  return Array.from(
    { length: count },
    (_, i) => recordBytes({ offsetDelta: i, key: `k${i}`, value: `${prefix}${i}` }),
  ).flat();
}

/** A malformed batch and what produce answers. */
export interface BadBatch {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly errorCode: number;
  /** Another answer that is right too (a truncated zstd frame: node:zlib returns what it got). */
  readonly alsoAccepted?: number;
}

/** Varint bytes with the continuation bit on `n` bytes, then a last byte. */
function overlongVarint(n: number): number[] {
  return [...Array(n).fill(0x80), 0x00];
}

/** The batches issue 10 found stored by produce, and a few more of each LogValidator rule. */
export function malformedBatches(): BadBatch[] {
  const one = recordBytes({ offsetDelta: 0 });
  const body = recordBody({ offsetDelta: 0 });
  const gzipOf = (b: number[]) => [...gzipSync(new Uint8Array(b))];
  return [
    {
      name: "a record length varint longer than 10 bytes",
      bytes: rawBatch([...overlongVarint(11), ...body], { recordCount: 1 }),
      errorCode: ErrorCode.INVALID_RECORD,
    },
    {
      name: "an offset delta varint longer than 5 bytes",
      bytes: rawBatch([...varint(body.length + 5), 0, 0, ...overlongVarint(5), ...body.slice(3)], {
        recordCount: 1,
      }),
      errorCode: ErrorCode.INVALID_RECORD,
    },
    {
      name: "a truncated record",
      bytes: rawBatch(one.slice(0, one.length - 2), { recordCount: 1 }),
      errorCode: ErrorCode.INVALID_RECORD,
    },
    {
      name: "a zero-length record",
      bytes: rawBatch([0], { recordCount: 1 }),
      errorCode: ErrorCode.INVALID_RECORD,
    },
    {
      name: "recordCount 2^31-1 with one real record",
      bytes: rawBatch(one, { recordCount: 2147483647 }),
      errorCode: ErrorCode.INVALID_RECORD,
    },
    {
      name: "fewer records than recordCount",
      bytes: rawBatch(goodRecords(2), { recordCount: 3 }),
      errorCode: ErrorCode.INVALID_RECORD,
    },
    {
      name: "bytes left after recordCount records",
      bytes: rawBatch(goodRecords(3), { recordCount: 2 }),
      errorCode: ErrorCode.INVALID_RECORD,
    },
    {
      name: "offset deltas out of order",
      bytes: rawBatch(
        [...recordBytes({ offsetDelta: 1 }), ...recordBytes({ offsetDelta: 0 })],
        { recordCount: 2 },
      ),
      errorCode: ErrorCode.INVALID_RECORD,
    },
    {
      name: "a negative header count",
      bytes: rawBatch(
        [...varint(body.length), ...body.slice(0, -1), ...varint(-5)],
        { recordCount: 1 },
      ),
      errorCode: ErrorCode.INVALID_RECORD,
    },
    {
      name: "garbage gzip payload",
      bytes: rawBatch([0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9], {
        recordCount: 1,
        attributes: 1,
      }),
      errorCode: ErrorCode.CORRUPT_MESSAGE,
    },
    {
      name: "truncated gzip payload",
      bytes: rawBatch(gzipOf(goodRecords(20)).slice(0, 30), { recordCount: 20, attributes: 1 }),
      errorCode: ErrorCode.CORRUPT_MESSAGE,
    },
    {
      name: "truncated zstd payload",
      bytes: rawBatch(
        [...zstdCompressSync(new Uint8Array(goodRecords(20)))].slice(0, 20),
        { recordCount: 20, attributes: 4 },
      ),
      errorCode: ErrorCode.CORRUPT_MESSAGE,
      alsoAccepted: ErrorCode.INVALID_RECORD,
    },
    {
      name: "garbage lz4 payload",
      bytes: rawBatch([4, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82, 9, 9, 9, 9, 9], {
        recordCount: 1,
        attributes: 3,
      }),
      errorCode: ErrorCode.CORRUPT_MESSAGE,
    },
    {
      name: "garbage snappy payload",
      bytes: rawBatch([40, 0xff, 0xff, 0xff, 0x01], { recordCount: 1, attributes: 2 }),
      errorCode: ErrorCode.CORRUPT_MESSAGE,
    },
    {
      name: "an empty gzip payload",
      bytes: rawBatch([], { recordCount: 1, attributes: 1 }),
      errorCode: ErrorCode.CORRUPT_MESSAGE,
    },
    {
      name: "an empty zstd payload",
      bytes: rawBatch([], { recordCount: 1, attributes: 4 }),
      errorCode: ErrorCode.CORRUPT_MESSAGE,
      alsoAccepted: ErrorCode.INVALID_RECORD,
    },
    ...[5, 6, 7].map((codec) => ({
      name: `compression codec bits ${codec}`,
      bytes: rawBatch(one, { recordCount: 1, attributes: codec }),
      errorCode: ErrorCode.CORRUPT_MESSAGE,
    })),
    {
      name: "a gzip batch whose records are malformed",
      bytes: rawBatch(gzipOf([...overlongVarint(11), ...body]), { recordCount: 1, attributes: 1 }),
      errorCode: ErrorCode.INVALID_RECORD,
    },
    {
      name: "a control batch from a client",
      bytes: rawBatch(one, { recordCount: 1, attributes: 0x20 }),
      errorCode: ErrorCode.INVALID_RECORD,
    },
    {
      name: "an idempotent batch with a negative base sequence",
      bytes: rawBatch(one, { recordCount: 1, producerId: 7, baseSequence: -1 }),
      errorCode: ErrorCode.INVALID_RECORD,
    },
  ];
}

/** A gzip batch of one keyed record whose value is `valueBytes` zero bytes (a "zip bomb"). */
export function gzipBomb(valueBytes: number): Uint8Array {
  const head = [0, 0, ...varint(0), ...varint(1), 0x6b, ...varint(valueBytes)];
  const bodyBytes = head.length + valueBytes + 1;
  const lengthBytes = varintSizeBytes(bodyBytes);
  const plain = new Uint8Array(lengthBytes + bodyBytes);
  writeVarint(plain, 0, bodyBytes);
  plain.set(head, lengthBytes); // the value's zeros and the header count 0 are already there
  return rawBatch(gzipSync(plain, { level: 9 }), { recordCount: 1, attributes: 1 });
}
