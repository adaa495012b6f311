/**
 * Decompression of a batch's records section, bounded and never throwing:
 * the system libraries through FFI where they are installed (zlib, libzstd,
 * liblz4, libsnappy: `ffi/codecs.ts`, installed by `ffi/load.ts` with
 * {@linkcode useNativeDecoders}), else the fallbacks of `decompress_js.ts`.
 * Output never grows past the caller's `outputBytesMax`: a batch that would
 * inflate further is refused as soon as the decoder gets there, so a small
 * "zip bomb" costs at most `outputBytesMax` bytes of memory.
 *
 * @module
 */
import { Codec, decompressJs, InflateLimitError, snappyBlockRanges } from "./decompress_js.ts";

export { Codec } from "./decompress_js.ts";

/** Inflated bytes, or why there are none. */
export type Inflated =
  | { readonly ok: true; readonly bytes: Uint8Array }
  | {
    readonly ok: false;
    /** The output would have passed `outputBytesMax`. */
    readonly tooLarge: boolean;
    readonly message: string;
  };

/** A native decoder of one codec's whole payload (for snappy: of one raw block). */
export type NativeDecoder = (input: Uint8Array, outputBytesMax: number) => Inflated;

/**
 * A payload inflated piece by piece. Only one stream is open at a time (decoding is
 * synchronous and the native decoders share their state): read it to its end, or drop it,
 * before opening the next one.
 */
export interface InflateStream {
  /**
   * Inflates into `out` from `offsetBytes` (there must be room): the bytes written, 0 at the
   * end of the payload, -1 on bad bytes ({@linkcode error} says why).
   */
  read(out: Uint8Array, offsetBytes: number): number;
  readonly error: string | undefined;
  /** The error is that the payload inflates past the bound it was opened with. */
  readonly tooLarge?: boolean;
}

/** Opens an {@linkcode InflateStream} over a whole payload. */
export type StreamOpener = (input: Uint8Array) => InflateStream;

/** The native decoders installed; a missing one falls back to `decompress_js.ts`. */
export interface NativeDecoders {
  readonly gzip?: NativeDecoder;
  readonly zstd?: NativeDecoder;
  readonly lz4?: NativeDecoder;
  /** A raw snappy block; the Xerial framing is read here. */
  readonly snappyBlock?: NativeDecoder;
  readonly gzipStream?: StreamOpener;
  readonly zstdStream?: StreamOpener;
  readonly lz4Stream?: StreamOpener;
}

let natives: NativeDecoders = {};

/** Installs the native decoders (`{}`: the JS ones everywhere). */
export function useNativeDecoders(decoders: NativeDecoders): void {
  natives = decoders;
}

/** Which decoder each codec uses (benchmark reports, logs). */
export function decoderImplementations(): Record<string, "native" | "js"> {
  return {
    gzip: natives.gzip ? "native" : "js",
    snappy: natives.snappyBlock ? "native" : "js",
    lz4: natives.lz4 ? "native" : "js",
    zstd: natives.zstd ? "native" : "js",
  };
}

/** The result of a decoder that passed `outputBytesMax`. */
export function inflateTooLarge(outputBytesMax: number): Inflated {
  return {
    ok: false,
    tooLarge: true,
    message: `Decompressed records exceed ${outputBytesMax} bytes`,
  };
}

/** The result of a decoder that met bad bytes. */
export function inflateCorrupt(codecName: string, detail: string): Inflated {
  return { ok: false, tooLarge: false, message: `Corrupt ${codecName} payload: ${detail}` };
}

/**
 * Decompresses `bytes` compressed with Kafka codec `codec` (1 gzip, 2 snappy,
 * 3 lz4, 4 zstd) into at most `outputBytesMax` bytes.
 */
export function inflate(codec: number, bytes: Uint8Array, outputBytesMax: number): Inflated {
  const native = codec === Codec.GZIP
    ? natives.gzip
    : codec === Codec.ZSTD
    ? natives.zstd
    : codec === Codec.LZ4
    ? natives.lz4
    : undefined;
  if (native !== undefined) return native(bytes, outputBytesMax);
  if (codec === Codec.SNAPPY && natives.snappyBlock !== undefined) {
    return snappyNative(bytes, outputBytesMax, natives.snappyBlock);
  }
  return inflateJs(codec, bytes, outputBytesMax);
}

/** {@linkcode inflate} with the fallback decoders only (tests and benchmarks compare the two). */
export function inflateJs(codec: number, bytes: Uint8Array, outputBytesMax: number): Inflated {
  if (codec < Codec.GZIP || codec > Codec.ZSTD) {
    return { ok: false, tooLarge: false, message: `Unknown compression codec "${codec}"` };
  }
  try {
    return { ok: true, bytes: decompressJs(codec, bytes, outputBytesMax) };
  } catch (e) {
    if (e instanceof InflateLimitError) return inflateTooLarge(outputBytesMax);
    return inflateCorrupt(CODEC_NAMES[codec], (e as Error).message);
  }
}

const CODEC_NAMES = ["none", "gzip", "snappy", "lz4", "zstd"];

/**
 * Opens a stream over `bytes` compressed with `codec`: the native streaming decoder when there
 * is one (gzip, zstd, lz4), else {@linkcode inflate} of the whole payload (at most
 * `outputBytesMax` bytes) served in pieces. The caller counts the bytes it reads against its
 * own bound.
 */
export function openInflateStream(
  codec: number,
  bytes: Uint8Array,
  outputBytesMax: number,
): InflateStream {
  const opener = codec === Codec.GZIP
    ? natives.gzipStream
    : codec === Codec.ZSTD
    ? natives.zstdStream
    : codec === Codec.LZ4
    ? natives.lz4Stream
    : undefined;
  if (opener !== undefined) return opener(bytes);
  return wholeAsStream(inflate(codec, bytes, outputBytesMax));
}

/** A stream over an already inflated payload (or its failure). */
function wholeAsStream(inflated: Inflated): InflateStream {
  let positionBytes = 0;
  return {
    error: inflated.ok ? undefined : inflated.message,
    tooLarge: !inflated.ok && inflated.tooLarge,
    read(out: Uint8Array, offsetBytes: number): number {
      if (!inflated.ok) return -1;
      const n = Math.min(out.length - offsetBytes, inflated.bytes.length - positionBytes);
      out.set(inflated.bytes.subarray(positionBytes, positionBytes + n), offsetBytes);
      positionBytes += n;
      return n;
    },
  };
}

function snappyNative(bytes: Uint8Array, outputBytesMax: number, block: NativeDecoder): Inflated {
  let ranges: number[];
  try {
    ranges = snappyBlockRanges(bytes);
  } catch (e) {
    return inflateCorrupt("snappy", (e as Error).message);
  }
  if (ranges.length === 2) return block(bytes.subarray(ranges[0], ranges[1]), outputBytesMax);
  const parts: Uint8Array[] = [];
  let totalBytes = 0;
  for (let i = 0; i < ranges.length; i += 2) {
    const part = block(bytes.subarray(ranges[i], ranges[i + 1]), outputBytesMax - totalBytes);
    if (!part.ok) return part.tooLarge ? inflateTooLarge(outputBytesMax) : part;
    parts.push(part.bytes);
    totalBytes += part.bytes.length;
  }
  const out = new Uint8Array(totalBytes);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return { ok: true, bytes: out };
}
