/**
 * Bounded decoders over the system codec libraries (`codec_symbols.ts`),
 * runtime-neutral: a binding supplies the bound functions and pointer helpers,
 * `ffi/load.ts` opens them (`loadNativeDecoders`) and the broker installs them
 * into `protocol/decompress.ts` at start (`useNativeDecoders`).
 *
 * gzip, zstd and lz4 are streams (`InflateStream`: produce validation reads
 * records chunk by chunk from them); the whole-payload decoders read a stream
 * into an output buffer that starts small (or at the size the payload
 * announces) and doubles, never past `outputBytesMax + 1` bytes: one byte more
 * than the bound tells "exactly at the bound" from "past it", so a payload
 * that would inflate further is refused having cost at most the bound. snappy
 * blocks announce their size and are decoded whole. Bad or truncated input is
 * a result, never a throw. Decoding is synchronous and one stream is open at
 * a time, so one `z_stream`, one zstd DStream and one LZ4F context serve all.
 *
 * @module
 */
import type { RawCodecLibraries } from "./codec_symbols.ts";

// The shapes `protocol/decompress.ts` installs (`useNativeDecoders`), declared here as well:
// ffi/ imports nothing from protocol/, and the types match structurally.

/** Inflated bytes, or why there are none. */
export type Inflated =
  | { readonly ok: true; readonly bytes: Uint8Array }
  | { readonly ok: false; readonly tooLarge: boolean; readonly message: string };

/** A payload inflated piece by piece (see `protocol/decompress.ts`). */
export interface InflateStream {
  /** Bytes written into `out` from `offsetBytes`; 0 at the end; -1 on bad bytes (`error`). */
  read(out: Uint8Array, offsetBytes: number): number;
  readonly error: string | undefined;
}

/** Opens an {@linkcode InflateStream} over a whole payload. */
export type StreamOpener = (input: Uint8Array) => InflateStream;

/** Decodes a whole payload (for snappy: one raw block) into at most `outputBytesMax` bytes. */
export type NativeDecoder = (input: Uint8Array, outputBytesMax: number) => Inflated;

/** The decoders of the libraries that could be opened. */
export interface NativeDecoders {
  readonly gzip?: NativeDecoder;
  readonly zstd?: NativeDecoder;
  readonly lz4?: NativeDecoder;
  readonly snappyBlock?: NativeDecoder;
  readonly gzipStream?: StreamOpener;
  readonly zstdStream?: StreamOpener;
  readonly lz4Stream?: StreamOpener;
}

function inflateTooLarge(outputBytesMax: number): Inflated {
  return {
    ok: false,
    tooLarge: true,
    message: `Decompressed records exceed ${outputBytesMax} bytes`,
  };
}

function inflateCorrupt(codecName: string, detail: string): Inflated {
  return { ok: false, tooLarge: false, message: `Corrupt ${codecName} payload: ${detail}` };
}

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
  const gzipStream = raw.zlib === undefined ? undefined : zlibStreams(raw);
  const zstdStream = raw.zstd === undefined ? undefined : zstdStreams(raw);
  const lz4Stream = raw.lz4 === undefined ? undefined : lz4Streams(raw);
  return {
    gzip: gzipStream && drainer("gzip", gzipStream, gzipSizeHint),
    zstd: zstdStream && drainer("zstd", zstdStream, zstdSizeHint(raw)),
    lz4: lz4Stream && drainer("lz4", lz4Stream, () => 0),
    snappyBlock: raw.snappy === undefined ? undefined : snappyDecoder(raw),
    gzipStream,
    zstdStream,
    lz4Stream,
  };
}

/** A whole-payload decoder over a stream: reads into an {@linkcode Output} until the end. */
function drainer(
  codecName: string,
  open: StreamOpener,
  sizeHint: (input: Uint8Array) => number,
): NativeDecoder {
  return (input, outputBytesMax) => {
    const out = new Output(input.length, outputBytesMax, sizeHint(input));
    const stream = open(input);
    for (;;) {
      if (out.freeBytes === 0 && !out.grow()) return out.result();
      const n = stream.read(out.bytes, out.producedBytes);
      if (n < 0) {
        return {
          ok: false,
          tooLarge: false,
          message: stream.error ?? `Corrupt ${codecName} payload`,
        };
      }
      if (n === 0) return out.result();
      out.producedBytes += n;
    }
  };
}

/** A stream whose `read` is `step` until it reports the end or an error. */
class NativeStream implements InflateStream {
  error: string | undefined = undefined;
  ended = false;
  constructor(
    readonly codecName: string,
    readonly step: (stream: NativeStream, out: Uint8Array, offset: number) => number,
  ) {}
  read(out: Uint8Array, offsetBytes: number): number {
    if (this.error !== undefined) return -1;
    if (this.ended) return 0;
    return this.step(this, out, offsetBytes);
  }
  fail(detail: string): number {
    this.error = `Corrupt ${this.codecName} payload: ${detail}`;
    return -1;
  }
}

/** Calls without progress before a stream is declared stuck (never seen; a guard). */
const STALLED_CALLS_MAX = 4;

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

function zlibStreams<P>(raw: RawCodecLibraries<P>): StreamOpener {
  const z = raw.zlib!;
  const state = new Uint8Array(Z_STREAM_BYTES);
  const view = new DataView(state.buffer);
  if (z.inflateInit2_(state, Z_WINDOW_BITS_AUTO, ZLIB_VERSION, Z_STREAM_BYTES) !== Z_OK) {
    return () => new NativeStream("gzip", (s) => s.fail("zlib could not be initialised"));
  }
  return (input) => {
    z.inflateReset(state);
    view.setBigUint64(Z_NEXT_IN, raw.addressOf(input), true);
    view.setUint32(Z_AVAIL_IN, input.length, true);
    return new NativeStream("gzip", (stream, out, offset) => {
      for (let stalled = 0; stalled < STALLED_CALLS_MAX;) {
        const free = out.length - offset;
        view.setBigUint64(Z_NEXT_OUT, raw.addressOf(out) + BigInt(offset), true);
        view.setUint32(Z_AVAIL_OUT, free, true);
        const status = z.inflate(state, 0);
        const written = free - view.getUint32(Z_AVAIL_OUT, true);
        const inputLeft = view.getUint32(Z_AVAIL_IN, true);
        if (status === Z_STREAM_END) {
          if (inputLeft === 0) stream.ended = true;
          else z.inflateReset(state); // another gzip member follows
        } else if (status === Z_BUF_ERROR && written === 0) {
          return stream.fail("the stream ends early");
        } else if (status !== Z_OK && status !== Z_BUF_ERROR) {
          const msg = view.getBigUint64(Z_MSG, true);
          return stream.fail(
            msg === 0n ? `zlib status ${status}` : raw.cString(raw.pointerFrom(msg)),
          );
        }
        if (written > 0 || stream.ended) return written;
        stalled++;
      }
      return stream.fail("no progress");
    });
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

function zstdSizeHint<P>(raw: RawCodecLibraries<P>): (input: Uint8Array) => number {
  const z = raw.zstd!;
  return (input) => {
    const size = z.ZSTD_getFrameContentSize(input, input.length);
    return typeof size === "bigint" || size > Number.MAX_SAFE_INTEGER ? 0 : Number(size);
  };
}

function zstdStreams<P>(raw: RawCodecLibraries<P>): StreamOpener {
  const z = raw.zstd!;
  const context = z.ZSTD_createDStream();
  const inBuffer = new Uint8Array(ZSTD_BUFFER_BYTES);
  const outBuffer = new Uint8Array(ZSTD_BUFFER_BYTES);
  const inView = new DataView(inBuffer.buffer);
  const outView = new DataView(outBuffer.buffer);
  return (input) => {
    z.ZSTD_DCtx_reset(context, ZSTD_RESET_SESSION_ONLY);
    inView.setBigUint64(0, raw.addressOf(input), true);
    inView.setBigUint64(8, BigInt(input.length), true);
    inView.setBigUint64(16, 0n, true);
    return new NativeStream("zstd", (stream, out, offset) => {
      for (let stalled = 0; stalled < STALLED_CALLS_MAX;) {
        outView.setBigUint64(0, raw.addressOf(out), true);
        outView.setBigUint64(8, BigInt(out.length), true);
        outView.setBigUint64(16, BigInt(offset), true);
        const hint = z.ZSTD_decompressStream(context, outBuffer, inBuffer);
        if (z.ZSTD_isError(hint) !== 0) return stream.fail(raw.cString(z.ZSTD_getErrorName(hint)));
        const written = Number(outView.getBigUint64(16, true)) - offset;
        const inputDone = Number(inView.getBigUint64(16, true)) === input.length;
        if (Number(hint) === 0 && inputDone) stream.ended = true; // the last frame is complete
        if (written > 0 || stream.ended) return written;
        if (inputDone) return stream.fail("the frame ends early");
        stalled++;
      }
      return stream.fail("no progress");
    });
  };
}

const LZ4F_VERSION = 100;

function lz4Streams<P>(raw: RawCodecLibraries<P>): StreamOpener {
  const l = raw.lz4!;
  const contextCell = new Uint8Array(8);
  const created = l.LZ4F_createDecompressionContext(contextCell, LZ4F_VERSION);
  if (l.LZ4F_isError(created) !== 0) {
    return () => new NativeStream("lz4", (s) => s.fail("no LZ4F decompression context"));
  }
  const context = raw.pointerFrom(new DataView(contextCell.buffer).getBigUint64(0, true));
  const dstSize = new BigUint64Array(1);
  const srcSize = new BigUint64Array(1);
  const dstCell = new Uint8Array(dstSize.buffer);
  const srcCell = new Uint8Array(srcSize.buffer);
  return (input) => {
    l.LZ4F_resetDecompressionContext(context);
    let inputBytes = 0;
    return new NativeStream("lz4", (stream, out, offset) => {
      for (let stalled = 0; stalled < STALLED_CALLS_MAX;) {
        dstSize[0] = BigInt(out.length - offset);
        srcSize[0] = BigInt(input.length - inputBytes);
        const hint = l.LZ4F_decompress(
          context,
          out.subarray(offset),
          dstCell,
          input.subarray(inputBytes),
          srcCell,
          null,
        );
        if (l.LZ4F_isError(hint) !== 0) return stream.fail(raw.cString(l.LZ4F_getErrorName(hint)));
        const written = Number(dstSize[0]);
        inputBytes += Number(srcSize[0]);
        const inputDone = inputBytes === input.length;
        if (Number(hint) === 0 && inputDone) stream.ended = true;
        if (written > 0 || stream.ended) return written;
        if (inputDone) return stream.fail("the frame ends early");
        stalled++;
      }
      return stream.fail("no progress");
    });
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
