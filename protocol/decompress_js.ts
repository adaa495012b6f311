/**
 * The fallback decoders of record batch payloads, used when the system
 * library of a codec is missing (see `decompress.ts`, which calls them and
 * turns their throws into results): gzip and zstd through `node:zlib`
 * (present in Deno and Bun), snappy (raw, or Xerial-framed as the Java client
 * writes it) and LZ4 frames decoded here in plain TypeScript. Every decoder
 * stops with {@linkcode InflateLimitError} before its output passes
 * `outputBytesMax`.
 *
 * @module
 */
import { gunzipSync, zstdDecompressSync } from "node:zlib";

/** Kafka's codec ids. */
export const Codec = { NONE: 0, GZIP: 1, SNAPPY: 2, LZ4: 3, ZSTD: 4 } as const;

/** Thrown when the output would pass the caller's bound. */
export class InflateLimitError extends Error {
  constructor(outputBytesMax: number) {
    super(`Decompressed data exceeds ${outputBytesMax} bytes.`);
    this.name = "InflateLimitError";
  }
}

/** Decompresses a batch's records section; throws on corrupt input or an unknown codec. */
export function decompressJs(codec: number, bytes: Uint8Array, outputBytesMax: number): Uint8Array {
  switch (codec) {
    case Codec.NONE:
      return bytes;
    case Codec.GZIP:
      return zlibCapped(
        () => gunzipSync(bytes, { maxOutputLength: outputBytesMax }),
        outputBytesMax,
      );
    case Codec.ZSTD:
      return zlibCapped(
        () => zstdDecompressSync(bytes, { maxOutputLength: outputBytesMax }),
        outputBytesMax,
      );
    case Codec.SNAPPY:
      return snappyDecompress(bytes, outputBytesMax);
    case Codec.LZ4:
      return lz4FrameDecompress(bytes, outputBytesMax);
    default:
      throw new Error(`Unknown compression codec ${codec}.`);
  }
}

/** node:zlib's cap error (`ERR_BUFFER_TOO_LARGE`, a RangeError) as an {@linkcode InflateLimitError}. */
function zlibCapped(inflate: () => Uint8Array, outputBytesMax: number): Uint8Array {
  try {
    const out = inflate();
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (e) {
    if ((e as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") {
      throw new InflateLimitError(outputBytesMax);
    }
    throw e;
  }
}

/** A growable output buffer with LZ77 back-references. */
class Output {
  bytes: Uint8Array;
  length = 0;
  constructor(initialBytes: number, readonly maxBytes: number) {
    this.bytes = new Uint8Array(Math.max(64, Math.min(initialBytes, maxBytes)));
  }
  #reserve(n: number): void {
    const need = this.length + n;
    if (need > this.maxBytes) throw new InflateLimitError(this.maxBytes);
    if (need <= this.bytes.length) return;
    const grown = new Uint8Array(Math.min(this.maxBytes, Math.max(need, this.bytes.length * 2)));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }
  literal(src: Uint8Array, start: number, n: number): void {
    if (start + n > src.length) throw new Error("A literal overruns the compressed data.");
    this.#reserve(n);
    this.bytes.set(src.subarray(start, start + n), this.length);
    this.length += n;
  }
  copy(offset: number, n: number): void {
    if (offset <= 0 || offset > this.length) throw new Error(`Bad back-reference ${offset}.`);
    this.#reserve(n);
    for (let i = 0; i < n; i++, this.length++) {
      this.bytes[this.length] = this.bytes[this.length - offset];
    }
  }
  result(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }
}

const XERIAL_MAGIC = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00];
const XERIAL_HEADER_BYTES = 16;

/**
 * The blocks of a snappy payload as `[start, end)` pairs: one raw block, or the
 * length-prefixed blocks of Xerial framing (magic, version, compatible version).
 * Throws on a framing that overruns the payload.
 */
export function snappyBlockRanges(bytes: Uint8Array): number[] {
  const xerial = bytes.length >= XERIAL_HEADER_BYTES &&
    XERIAL_MAGIC.every((b, i) => bytes[i] === b);
  if (!xerial) return [0, bytes.length];
  const ranges: number[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  for (let p = XERIAL_HEADER_BYTES; p < bytes.length;) {
    if (p + 4 > bytes.length) throw new Error("Truncated Xerial snappy block length.");
    const blockBytes = view.getInt32(p);
    p += 4;
    if (blockBytes < 0 || p + blockBytes > bytes.length) throw new Error("Truncated snappy block.");
    ranges.push(p, p + blockBytes);
    p += blockBytes;
  }
  return ranges;
}

/** Snappy: a raw block, or Xerial framing (magic, version, then length-prefixed blocks). */
export function snappyDecompress(bytes: Uint8Array, outputBytesMax: number): Uint8Array {
  const ranges = snappyBlockRanges(bytes);
  const out = new Output(bytes.length * 2, outputBytesMax);
  for (let i = 0; i < ranges.length; i += 2) snappyBlock(bytes, ranges[i], ranges[i + 1], out);
  return out.result();
}

function snappyBlock(src: Uint8Array, start: number, end: number, out: Output): Output {
  let p = start;
  let expected = 0;
  for (let shift = 0;; shift += 7) {
    if (p >= end || shift > 28) throw new Error("Bad snappy length preamble.");
    const b = src[p++];
    expected += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) break;
  }
  if (out.length + expected > out.maxBytes) throw new InflateLimitError(out.maxBytes);
  const startLength = out.length;
  const need = (n: number): void => {
    if (p + n > end) throw new Error("Truncated snappy element.");
  };
  while (p < end) {
    const tag = src[p++];
    const kind = tag & 3;
    if (kind === 0) {
      let n = tag >>> 2;
      if (n >= 60) {
        const extra = n - 59;
        need(extra);
        n = 0;
        for (let i = 0; i < extra; i++) n += src[p++] * 2 ** (8 * i);
      }
      need(n + 1);
      out.literal(src, p, n + 1);
      p += n + 1;
    } else if (kind === 1) {
      need(1);
      const n = ((tag >>> 2) & 7) + 4;
      out.copy(((tag >>> 5) << 8) | src[p++], n);
    } else if (kind === 2) {
      need(2);
      out.copy(src[p] | (src[p + 1] << 8), (tag >>> 2) + 1);
      p += 2;
    } else {
      need(4);
      out.copy(
        (src[p] | (src[p + 1] << 8) | (src[p + 2] << 16)) + src[p + 3] * 2 ** 24,
        (tag >>> 2) + 1,
      );
      p += 4;
    }
  }
  if (out.length - startLength !== expected) throw new Error("Snappy length mismatch.");
  return out;
}

const LZ4_MAGIC = 0x184d2204;

/** An LZ4 frame (what Kafka's v2 batches carry). Checksums are skipped, not checked. */
export function lz4FrameDecompress(bytes: Uint8Array, outputBytesMax: number): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  if (bytes.length < 7 || view.getUint32(0, true) !== LZ4_MAGIC) {
    throw new Error("Not an LZ4 frame.");
  }
  const flags = bytes[4];
  let p = 6 + ((flags & 0x08) !== 0 ? 8 : 0) + ((flags & 0x01) !== 0 ? 4 : 0) + 1;
  const blockChecksum = (flags & 0x10) !== 0;
  const out = new Output(bytes.length * 3, outputBytesMax);
  for (;;) {
    if (p + 4 > bytes.length) throw new Error("Truncated LZ4 frame.");
    const word = view.getUint32(p, true);
    p += 4;
    if (word === 0) break;
    const blockBytes = word & 0x7fffffff;
    if (p + blockBytes > bytes.length) throw new Error("Truncated LZ4 block.");
    if ((word & 0x80000000) !== 0) out.literal(bytes, p, blockBytes);
    else lz4Block(bytes, p, p + blockBytes, out);
    p += blockBytes + (blockChecksum ? 4 : 0);
  }
  return out.result();
}

function lz4Block(src: Uint8Array, start: number, end: number, out: Output): void {
  let p = start;
  const length = (base: number): number => {
    let n = base;
    if (base === 15) {
      for (let b = 255; b === 255;) {
        if (p >= end) throw new Error("Truncated LZ4 length.");
        b = src[p++];
        n += b;
      }
    }
    return n;
  };
  while (p < end) {
    const token = src[p++];
    const literals = length(token >>> 4);
    if (p + literals > end) throw new Error("A literal overruns the LZ4 block.");
    out.literal(src, p, literals);
    p += literals;
    if (p >= end) break; // the last sequence has literals only
    if (p + 2 > end) throw new Error("Truncated LZ4 match offset.");
    const offset = src[p] | (src[p + 1] << 8);
    p += 2;
    out.copy(offset, length(token & 15) + 4);
  }
}
