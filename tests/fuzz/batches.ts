/**
 * Record batches for the fuzz suite: valid ones (uncompressed, gzip, zstd,
 * keyed and tombstones, so a compacted topic has work) and one builder per
 * rule of Kafka's `LogValidator` that a batch can break while its CRC-32C is
 * right, so that only record validation can refuse it.
 *
 * @module
 */
import { gzipSync, zstdCompressSync } from "node:zlib";
import {
  BATCH_HEADER_BYTES,
  BATCH_LOG_OVERHEAD_BYTES,
  BatchAttribute,
  BatchField,
  RecordBatchView,
} from "../../protocol/record_batch.ts";
import { encodeRecordBatch, type RecordInput, writeVarint } from "../../protocol/records.ts";
import type { Prng } from "./prng.ts";

const KEYS = ["k0", "k1", "k2", "k3"].map((k) => new TextEncoder().encode(k));
const CODEC_GZIP = 1;
const CODEC_SNAPPY = 2;
const CODEC_LZ4 = 3;
const CODEC_ZSTD = 4;

/** 1 to 5 records; keyed ones draw from 4 keys (compaction finds duplicates), some tombstones. */
export function sampleRecords(rng: Prng, keyed: boolean): RecordInput[] {
  const n = rng.range(1, 5);
  const nowMs = Date.now();
  return Array.from({ length: n }, () => ({
    key: keyed ? rng.pick(KEYS) : (rng.chance(0.5) ? null : rng.pick(KEYS)),
    value: keyed && rng.chance(0.15) ? null : rng.bytes(rng.range(0, 64)),
    headers: rng.chance(0.2) ? [{ key: "h", value: rng.bytes(3) }] : [],
    timestampMs: nowMs,
  }));
}

/**
 * A batch with `payload` as its records section and the header of `template`,
 * with batchLength, the given fields and the CRC-32C made consistent.
 */
export function rebuild(
  template: Uint8Array,
  payload: Uint8Array,
  fields: { attributes?: number; recordCount?: number; lastOffsetDelta?: number; magic?: number } =
    {},
): Uint8Array {
  const out = new Uint8Array(BATCH_HEADER_BYTES + payload.length);
  out.set(template.subarray(0, BATCH_HEADER_BYTES));
  out.set(payload, BATCH_HEADER_BYTES);
  const v = new DataView(out.buffer);
  v.setInt32(BatchField.batchLength, out.length - BATCH_LOG_OVERHEAD_BYTES);
  if (fields.attributes !== undefined) v.setInt16(BatchField.attributes, fields.attributes);
  if (fields.recordCount !== undefined) v.setInt32(BatchField.recordCount, fields.recordCount);
  if (fields.lastOffsetDelta !== undefined) {
    v.setInt32(BatchField.lastOffsetDelta, fields.lastOffsetDelta);
  }
  if (fields.magic !== undefined) v.setInt8(BatchField.magic, fields.magic);
  new RecordBatchView(out).updateCrc();
  return out;
}

/** The records section of a batch. */
export function payloadOf(batch: Uint8Array): Uint8Array {
  return batch.subarray(BATCH_HEADER_BYTES);
}

function compress(codec: number, bytes: Uint8Array): Uint8Array {
  return new Uint8Array(codec === CODEC_GZIP ? gzipSync(bytes) : zstdCompressSync(bytes));
}

/** A valid batch: uncompressed, gzip or zstd. */
export function validBatch(rng: Prng, keyed: boolean): Uint8Array {
  const plain = encodeRecordBatch(sampleRecords(rng, keyed));
  const codec = rng.pick([0, 0, CODEC_GZIP, CODEC_ZSTD]);
  if (codec === 0) return plain;
  return rebuild(plain, compress(codec, payloadOf(plain)), { attributes: codec });
}

/** One record's bytes with each field given raw (lengths may lie). */
function rawRecord(
  r: { key?: Uint8Array | null; value?: Uint8Array; offsetDelta?: number; lengthDelta?: number },
): Uint8Array {
  const key = r.key === undefined ? KEYS[0] : r.key;
  const value = r.value ?? Uint8Array.of(1, 2, 3);
  const body = new Uint8Array(64 + (key?.length ?? 0) + value.length);
  let p = 0;
  body[p++] = 0; // attributes
  p = writeVarint(body, p, 0); // timestampDelta
  p = writeVarint(body, p, r.offsetDelta ?? 0);
  p = writeVarint(body, p, key === null ? -1 : key.length);
  if (key !== null) body.set(key, p), p += key.length;
  p = writeVarint(body, p, value.length);
  body.set(value, p);
  p += value.length;
  p = writeVarint(body, p, 0); // headers
  const out = new Uint8Array(p + 10);
  const q = writeVarint(out, 0, p + (r.lengthDelta ?? 0));
  out.set(body.subarray(0, p), q);
  return out.subarray(0, q + p);
}

function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, at), at += p.length;
  return out;
}

/** A batch breaking one record-validation rule; Kafka refuses it with a non-zero error code. */
export interface InvalidBatch {
  /** The rule, for the report. */
  readonly rule: string;
  /** Only meaningful on a compacted topic (a null key is fine elsewhere). */
  readonly compactedOnly?: boolean;
  build(rng: Prng): Uint8Array;
}

const T = () =>
  encodeRecordBatch([{ key: KEYS[0], value: Uint8Array.of(1), timestampMs: Date.now() }]);

/** Every rule, one builder each (the CRC is always right). */
export const INVALID_BATCHES: readonly InvalidBatch[] = [
  {
    rule: "record length varint longer than 10 bytes",
    build: () =>
      rebuild(
        T(),
        cat(
          Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
          payloadOf(T()).subarray(1),
        ),
      ),
  },
  {
    rule: "key length varint longer than 10 bytes",
    build: () => {
      const rec = cat(
        Uint8Array.of(0, 0, 0),
        new Uint8Array(10).fill(0xff),
        Uint8Array.of(1, 0, 0),
      );
      return rebuild(T(), cat(Uint8Array.of(rec.length * 2), rec));
    },
  },
  {
    rule: "fewer records than recordCount (truncated records)",
    build: () => rebuild(T(), rawRecord({}), { recordCount: 2, lastOffsetDelta: 1 }),
  },
  {
    rule: "record cut short inside the batch",
    build: () => rebuild(T(), rawRecord({}).subarray(0, 5)),
  },
  {
    rule: "record length past the batch end",
    build: () => rebuild(T(), rawRecord({ lengthDelta: 40 })),
  },
  { rule: "zero-length record", build: () => rebuild(T(), Uint8Array.of(0)) },
  {
    rule: "negative record length",
    build: () => rebuild(T(), cat(Uint8Array.of(0x09), rawRecord({}).subarray(1))),
  },
  {
    rule: "bytes after the last record",
    build: (rng) => rebuild(T(), cat(rawRecord({}), rng.bytes(7))),
  },
  {
    rule: "key length below -1",
    build: () => {
      const rec = Uint8Array.of(0, 0, 0, 9, /* zigzag -5 */ 2, 7, 0);
      return rebuild(T(), cat(Uint8Array.of(rec.length * 2), rec));
    },
  },
  {
    rule: "header count huge",
    build: () => {
      const rec = Uint8Array.of(0, 0, 0, 2, 0x61, 2, 7, 0xfe, 0xff, 0xff, 0xff, 0x0f);
      return rebuild(T(), cat(Uint8Array.of(rec.length * 2), rec));
    },
  },
  {
    rule: "garbage gzip payload",
    build: (rng) => rebuild(T(), rng.bytes(40), { attributes: CODEC_GZIP }),
  },
  {
    rule: "truncated gzip payload",
    build: () => {
      const z = compress(CODEC_GZIP, payloadOf(T()));
      return rebuild(T(), z.subarray(0, z.length >> 1), { attributes: CODEC_GZIP });
    },
  },
  {
    rule: "garbage zstd payload",
    build: (rng) => rebuild(T(), rng.bytes(40), { attributes: CODEC_ZSTD }),
  },
  {
    rule: "truncated zstd payload",
    build: () => {
      const z = compress(CODEC_ZSTD, payloadOf(T()));
      return rebuild(T(), z.subarray(0, z.length - 4), { attributes: CODEC_ZSTD });
    },
  },
  {
    rule: "garbage snappy payload",
    build: (rng) => rebuild(T(), rng.bytes(40), { attributes: CODEC_SNAPPY }),
  },
  {
    rule: "garbage lz4 payload",
    build: (rng) => rebuild(T(), rng.bytes(40), { attributes: CODEC_LZ4 }),
  },
  {
    rule: "gzip payload holding corrupt records",
    build: (rng) => rebuild(T(), compress(CODEC_GZIP, rng.bytes(30)), { attributes: CODEC_GZIP }),
  },
  { rule: "compression codec 5", build: () => rebuild(T(), payloadOf(T()), { attributes: 5 }) },
  { rule: "compression codec 6", build: () => rebuild(T(), payloadOf(T()), { attributes: 6 }) },
  { rule: "compression codec 7", build: () => rebuild(T(), payloadOf(T()), { attributes: 7 }) },
  {
    rule: "recordCount 2^31-1 with one real record",
    build: () =>
      rebuild(T(), payloadOf(T()), { recordCount: 0x7fffffff, lastOffsetDelta: 0x7ffffffe }),
  },
  {
    rule: "recordCount 2^31-1, lastOffsetDelta 0",
    build: () => rebuild(T(), payloadOf(T()), { recordCount: 0x7fffffff }),
  },
  { rule: "recordCount 0", build: () => rebuild(T(), payloadOf(T()), { recordCount: 0 }) },
  { rule: "recordCount -1", build: () => rebuild(T(), payloadOf(T()), { recordCount: -1 }) },
  {
    rule: "lastOffsetDelta not recordCount-1",
    build: () => rebuild(T(), payloadOf(T()), { lastOffsetDelta: 5 }),
  },
  {
    rule: "offset deltas out of order",
    build: () =>
      rebuild(T(), cat(rawRecord({ offsetDelta: 1 }), rawRecord({ offsetDelta: 0 })), {
        recordCount: 2,
        lastOffsetDelta: 1,
      }),
  },
  {
    rule: "offset delta past lastOffsetDelta",
    build: () => rebuild(T(), rawRecord({ offsetDelta: 9 })),
  },
  {
    rule: "control bit set by a client",
    build: () => rebuild(T(), payloadOf(T()), { attributes: BatchAttribute.CONTROL }),
  },
  { rule: "magic 1 in a v2-sized batch", build: () => rebuild(T(), payloadOf(T()), { magic: 1 }) },
  { rule: "magic 3", build: () => rebuild(T(), payloadOf(T()), { magic: 3 }) },
  {
    rule: "record without a key on a compacted topic",
    compactedOnly: true,
    build: () => rebuild(T(), rawRecord({ key: null })),
  },
];

let bomb: Uint8Array | undefined;

/** A gzip batch of ~100 KB that inflates to 100 MiB of zeros (built once). */
export function gzipBombBatch(): Uint8Array {
  bomb ??= rebuild(T(), compress(CODEC_GZIP, new Uint8Array(100 * 1024 * 1024)), {
    attributes: CODEC_GZIP,
  });
  return bomb;
}
