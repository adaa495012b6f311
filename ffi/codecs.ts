/**
 * Bounded decoders over the system codec libraries (`codec_symbols.ts`),
 * runtime-neutral: a binding supplies the bound functions and pointer helpers,
 * `ffi/load.ts` installs the result with `useNativeDecoders()`.
 *
 * Every decoder streams into an output buffer that starts small and doubles,
 * never past `outputBytesMax + 1` bytes: one byte more than the bound tells
 * "exactly at the bound" from "past it", so a payload that would inflate
 * further is refused having cost at most the bound. Bad or truncated input is
 * a result, never a throw. Decoding is synchronous (one call at a time), so
 * one `z_stream`, one zstd DStream and one LZ4F context serve every call.
 *
 * @module
 */
import {
  inflateCorrupt,
  type Inflated,
  inflateTooLarge,
  type NativeDecoder,
  type NativeDecoders,
} from "../protocol/decompress.ts";
import type { RawCodecLibraries } from "./codec_symbols.ts";

/** First output buffer: the size the payload announces, else this many times the input. */
const OUTPUT_INITIAL_RATIO = 4;
const OUTPUT_INITIAL_BYTES_MIN = 64 * 1024;
/**
 * An announced size (gzip's ISIZE, zstd's frame content size) is believed up to this many
 * times the input (deflate's own limit is ~1032), so a lying header costs no big allocation.
 */
const OUTPUT_HINT_RATIO_MAX = 1024;

/** An output buffer that grows by doubling up to `outputBytesMax + 1` bytes. */
class Output {
  bytes: Uint8Array;
  producedBytes = 0;
  readonly capacityMax: number;
  constructor(inputBytes: number, readonly outputBytesMax: number, hintBytes = 0) {
    this.capacityMax = outputBytesMax + 1;
    const hinted = hintBytes > 0 && hintBytes <= inputBytes * OUTPUT_HINT_RATIO_MAX
      ? hintBytes + 1
      : inputBytes * OUTPUT_INITIAL_RATIO;
    const initial = Math.max(OUTPUT_INITIAL_BYTES_MIN, hinted);
    this.bytes = new Uint8Array(Math.min(initial, this.capacityMax));
  }
  get freeBytes(): number {
    return this.bytes.length - this.producedBytes;
  }
  /** Makes room for more output; false when the buffer is at its largest. */
  grow(): boolean {
    if (this.bytes.length >= this.capacityMax) return false;
    const grown = new Uint8Array(Math.min(this.bytes.length * 2, this.capacityMax));
    grown.set(this.bytes.subarray(0, this.producedBytes));
    this.bytes = grown;
    return true;
  }
  result(): Inflated {
    if (this.producedBytes > this.outputBytesMax) return inflateTooLarge(this.outputBytesMax);
    return { ok: true, bytes: this.bytes.subarray(0, this.producedBytes) };
  }
}

/** The native decoders of the libraries `raw` could open (none: `{}`). */
export function nativeDecoders<P>(raw: RawCodecLibraries<P>): NativeDecoders {
  return {
    gzip: raw.zlib === undefined ? undefined : zlibDecoder(raw),
    zstd: raw.zstd === undefined ? undefined : zstdDecoder(raw),
    lz4: raw.lz4 === undefined ? undefined : lz4Decoder(raw),
    snappyBlock: raw.snappy === undefined ? undefined : snappyDecoder(raw),
  };
}

// zlib: a z_stream (LP64 layout, 112 bytes) kept in a buffer, pointers stored as addresses.
const Z_STREAM_BYTES = 112;
const Z_NEXT_IN = 0;
const Z_AVAIL_IN = 8;
const Z_NEXT_OUT = 24;
const Z_AVAIL_OUT = 32;
const Z_MSG = 48;
const Z_OK = 0;
const Z_STREAM_END = 1;
const Z_BUF_ERROR = -5;
/** Window bits 15, +32: detect a gzip or zlib header (Kafka's gzip is a gzip stream). */
const Z_WINDOW_BITS_AUTO = 15 + 32;
const ZLIB_VERSION = new TextEncoder().encode("1.2.13\0");

function zlibDecoder<P>(raw: RawCodecLibraries<P>): NativeDecoder {
  const z = raw.zlib!;
  const stream = new Uint8Array(Z_STREAM_BYTES);
  const view = new DataView(stream.buffer);
  if (z.inflateInit2_(stream, Z_WINDOW_BITS_AUTO, ZLIB_VERSION, Z_STREAM_BYTES) !== Z_OK) {
    return () => inflateCorrupt("gzip", "zlib could not be initialised");
  }
  return (input, outputBytesMax) => {
    z.inflateReset(stream);
    const out = new Output(input.length, outputBytesMax, gzipSizeHint(input));
    view.setBigUint64(Z_NEXT_IN, raw.addressOf(input), true);
    view.setUint32(Z_AVAIL_IN, input.length, true);
    for (;;) {
      if (out.freeBytes === 0 && !out.grow()) return out.result();
      const free = out.freeBytes;
      view.setBigUint64(Z_NEXT_OUT, raw.addressOf(out.bytes) + BigInt(out.producedBytes), true);
      view.setUint32(Z_AVAIL_OUT, free, true);
      const status = z.inflate(stream, 0);
      out.producedBytes += free - view.getUint32(Z_AVAIL_OUT, true);
      const inputLeft = view.getUint32(Z_AVAIL_IN, true);
      if (status === Z_STREAM_END) {
        if (inputLeft === 0) return out.result();
        z.inflateReset(stream); // another gzip member follows
        continue;
      }
      if (status === Z_OK || (status === Z_BUF_ERROR && out.freeBytes === 0)) continue;
      if (status === Z_BUF_ERROR) return inflateCorrupt("gzip", "the stream ends early");
      const msg = view.getBigUint64(Z_MSG, true);
      const detail = msg === 0n ? `zlib status ${status}` : raw.cString(raw.pointerFrom(msg));
      return inflateCorrupt("gzip", detail);
    }
  };
}

/** gzip's ISIZE trailer: the last member's size modulo 2^32 (a hint, never trusted). */
function gzipSizeHint(input: Uint8Array): number {
  const n = input.length;
  if (n < 18) return 0;
  return (input[n - 4] | (input[n - 3] << 8) | (input[n - 2] << 16) | (input[n - 1] << 24)) >>> 0;
}

// zstd: ZSTD_inBuffer / ZSTD_outBuffer are {pointer, size_t size, size_t pos}.
const ZSTD_BUFFER_BYTES = 24;
const ZSTD_RESET_SESSION_ONLY = 1;

function zstdDecoder<P>(raw: RawCodecLibraries<P>): NativeDecoder {
  const z = raw.zstd!;
  const stream = z.ZSTD_createDStream();
  const inBuffer = new Uint8Array(ZSTD_BUFFER_BYTES);
  const outBuffer = new Uint8Array(ZSTD_BUFFER_BYTES);
  const inView = new DataView(inBuffer.buffer);
  const outView = new DataView(outBuffer.buffer);
  return (input, outputBytesMax) => {
    z.ZSTD_DCtx_reset(stream, ZSTD_RESET_SESSION_ONLY);
    const size = z.ZSTD_getFrameContentSize(input, input.length);
    const hint = typeof size === "bigint" || size > Number.MAX_SAFE_INTEGER ? 0 : Number(size);
    const out = new Output(input.length, outputBytesMax, hint);
    inView.setBigUint64(0, raw.addressOf(input), true);
    inView.setBigUint64(8, BigInt(input.length), true);
    inView.setBigUint64(16, 0n, true);
    let inputBefore = 0;
    for (;;) {
      if (out.freeBytes === 0 && !out.grow()) return out.result();
      outView.setBigUint64(0, raw.addressOf(out.bytes), true);
      outView.setBigUint64(8, BigInt(out.bytes.length), true);
      outView.setBigUint64(16, BigInt(out.producedBytes), true);
      const hint = z.ZSTD_decompressStream(stream, outBuffer, inBuffer);
      if (z.ZSTD_isError(hint) !== 0) {
        return inflateCorrupt("zstd", raw.cString(z.ZSTD_getErrorName(hint)));
      }
      const producedBefore = out.producedBytes;
      out.producedBytes = Number(outView.getBigUint64(16, true));
      const inputBytes = Number(inView.getBigUint64(16, true));
      const inputDone = inputBytes === input.length;
      const stalled = out.producedBytes === producedBefore && inputBytes === inputBefore;
      inputBefore = inputBytes;
      if (Number(hint) === 0 && inputDone) return out.result(); // the last frame is complete
      if (inputDone && out.freeBytes > 0) {
        return inflateCorrupt("zstd", "the frame ends early");
      }
      if (stalled && out.freeBytes > 0) return inflateCorrupt("zstd", "no progress");
    }
  };
}

const LZ4F_VERSION = 100;

function lz4Decoder<P>(raw: RawCodecLibraries<P>): NativeDecoder {
  const l = raw.lz4!;
  const contextCell = new Uint8Array(8);
  const created = l.LZ4F_createDecompressionContext(contextCell, LZ4F_VERSION);
  if (l.LZ4F_isError(created) !== 0) return () => inflateCorrupt("lz4", "no LZ4F context");
  const context = raw.pointerFrom(new DataView(contextCell.buffer).getBigUint64(0, true));
  const dstSize = new BigUint64Array(1);
  const srcSize = new BigUint64Array(1);
  const dstCell = new Uint8Array(dstSize.buffer);
  const srcCell = new Uint8Array(srcSize.buffer);
  return (input, outputBytesMax) => {
    l.LZ4F_resetDecompressionContext(context);
    const out = new Output(input.length, outputBytesMax);
    let inputBytes = 0;
    for (;;) {
      if (out.freeBytes === 0 && !out.grow()) return out.result();
      dstSize[0] = BigInt(out.freeBytes);
      srcSize[0] = BigInt(input.length - inputBytes);
      const hint = l.LZ4F_decompress(
        context,
        out.bytes.subarray(out.producedBytes),
        dstCell,
        input.subarray(inputBytes),
        srcCell,
        null,
      );
      if (l.LZ4F_isError(hint) !== 0) {
        return inflateCorrupt("lz4", raw.cString(l.LZ4F_getErrorName(hint)));
      }
      const stalled = dstSize[0] === 0n && srcSize[0] === 0n;
      out.producedBytes += Number(dstSize[0]);
      inputBytes += Number(srcSize[0]);
      const inputDone = inputBytes === input.length;
      if (Number(hint) === 0 && inputDone) return out.result();
      if (inputDone && out.freeBytes > 0) return inflateCorrupt("lz4", "the frame ends early");
      if (stalled && out.freeBytes > 0) return inflateCorrupt("lz4", "no progress");
    }
  };
}

const SNAPPY_OK = 0;

function snappyDecoder<P>(raw: RawCodecLibraries<P>): NativeDecoder {
  const s = raw.snappy!;
  const length = new BigUint64Array(1);
  const lengthCell = new Uint8Array(length.buffer);
  return (input, outputBytesMax) => {
    if (s.snappy_uncompressed_length(input, input.length, lengthCell) !== SNAPPY_OK) {
      return inflateCorrupt("snappy", "bad length preamble");
    }
    const outputBytes = Number(length[0]);
    if (outputBytes > outputBytesMax) return inflateTooLarge(outputBytesMax);
    const out = new Uint8Array(outputBytes);
    if (s.snappy_uncompress(input, input.length, out, lengthCell) !== SNAPPY_OK) {
      return inflateCorrupt("snappy", "the block does not decode");
    }
    return { ok: true, bytes: out.subarray(0, Number(length[0])) };
  };
}

/** Compressors of the codecs `node:zlib` lacks (benchmarks and tests; produce never compresses). */
export interface NativeCompressors {
  /** A raw snappy block. */
  readonly snappy?: (input: Uint8Array) => Uint8Array;
  /** An LZ4 frame with liblz4's default preferences (64 KiB linked blocks). */
  readonly lz4?: (input: Uint8Array) => Uint8Array;
}

/** The compressors of the libraries `raw` could open. */
export function nativeCompressors<P>(raw: RawCodecLibraries<P>): NativeCompressors {
  const s = raw.snappy;
  const l = raw.lz4;
  return {
    snappy: s === undefined ? undefined : (input) => {
      const out = new Uint8Array(Number(s.snappy_max_compressed_length(input.length)));
      const length = new BigUint64Array([BigInt(out.length)]);
      const status = s.snappy_compress(input, input.length, out, new Uint8Array(length.buffer));
      if (status !== SNAPPY_OK) throw new Error(`snappy_compress failed with status ${status}`);
      return out.subarray(0, Number(length[0]));
    },
    lz4: l === undefined ? undefined : (input) => {
      const out = new Uint8Array(Number(l.LZ4F_compressFrameBound(input.length, null)));
      const written = l.LZ4F_compressFrame(out, out.length, input, input.length, null);
      if (l.LZ4F_isError(written) !== 0) {
        throw new Error(`LZ4F_compressFrame failed: ${raw.cString(l.LZ4F_getErrorName(written))}`);
      }
      return out.subarray(0, Number(written));
    },
  };
}
