/**
 * The decompression functions of the system libraries Debian ships (zlib,
 * libzstd, liblz4, libsnappy), in the neutral form of `libc_symbols.ts`:
 * `ffi/deno.ts` and `ffi/bun.ts` open them from these tables, and
 * `ffi/codecs.ts` drives them. Each library is optional: a missing one leaves
 * its codec on the JS decoder.
 *
 * @module
 */
import type { NeutralSymbol } from "./libc_symbols.ts";

/** `inflateInit2_`, `inflate`, `inflateReset`, `inflateEnd` over a `z_stream` in a buffer. */
export const ZLIB_SYMBOLS = {
  inflateInit2_: { params: ["buffer", "i32", "buffer", "i32"], result: "i32" },
  inflate: { params: ["buffer", "i32"], result: "i32" },
  inflateReset: { params: ["buffer"], result: "i32" },
  inflateEnd: { params: ["buffer"], result: "i32" },
} as const satisfies Record<string, NeutralSymbol>;

/** The streaming decompressor of libzstd (a DStream is a DCtx since 1.3). */
export const ZSTD_SYMBOLS = {
  ZSTD_createDStream: { params: [], result: "pointer" },
  ZSTD_DCtx_reset: { params: ["pointer", "i32"], result: "usize" },
  ZSTD_decompressStream: { params: ["pointer", "buffer", "buffer"], result: "usize" },
  ZSTD_isError: { params: ["usize"], result: "i32" },
  ZSTD_getErrorName: { params: ["usize"], result: "pointer" },
  /** The size a frame header announces; 2^64-1 unknown, 2^64-2 error (both come back as BigInt). */
  ZSTD_getFrameContentSize: { params: ["buffer", "usize"], result: "usize" },
} as const satisfies Record<string, NeutralSymbol>;

/** liblz4's frame decoder (Kafka's lz4 codec is the LZ4 frame format since message v1). */
export const LZ4_SYMBOLS = {
  LZ4F_createDecompressionContext: { params: ["buffer", "i32"], result: "usize" },
  LZ4F_resetDecompressionContext: { params: ["pointer"], result: "void" },
  LZ4F_decompress: {
    params: ["pointer", "buffer", "buffer", "buffer", "buffer", "pointer"],
    result: "usize",
  },
  LZ4F_isError: { params: ["usize"], result: "i32" },
  LZ4F_getErrorName: { params: ["usize"], result: "pointer" },
  LZ4F_compressFrameBound: { params: ["usize", "pointer"], result: "usize" },
  LZ4F_compressFrame: {
    params: ["buffer", "usize", "buffer", "usize", "pointer"],
    result: "usize",
  },
} as const satisfies Record<string, NeutralSymbol>;

/** libsnappy's C API (raw blocks; the Xerial framing is read in `protocol/decompress.ts`). */
export const SNAPPY_SYMBOLS = {
  snappy_uncompressed_length: { params: ["buffer", "usize", "buffer"], result: "i32" },
  snappy_uncompress: { params: ["buffer", "usize", "buffer", "buffer"], result: "i32" },
  snappy_max_compressed_length: { params: ["usize"], result: "usize" },
  snappy_compress: { params: ["buffer", "usize", "buffer", "buffer"], result: "i32" },
} as const satisfies Record<string, NeutralSymbol>;

/** Each codec library: its Debian shared object and its symbols. */
export const CODEC_LIBRARIES = {
  zlib: { path: "libz.so.1", symbols: ZLIB_SYMBOLS },
  zstd: { path: "libzstd.so.1", symbols: ZSTD_SYMBOLS },
  lz4: { path: "liblz4.so.1", symbols: LZ4_SYMBOLS },
  snappy: { path: "libsnappy.so.1", symbols: SNAPPY_SYMBOLS },
} as const;

/** A bound C function as a binding returns it (results: number, bigint or a pointer). */
// deno-lint-ignore no-explicit-any
export type BoundFunction = (...args: any[]) => any;

/** The codec libraries a binding could open, plus the pointer helpers `codecs.ts` needs. */
export interface RawCodecLibraries<P> {
  readonly zlib?: Record<keyof typeof ZLIB_SYMBOLS, BoundFunction>;
  readonly zstd?: Record<keyof typeof ZSTD_SYMBOLS, BoundFunction>;
  readonly lz4?: Record<keyof typeof LZ4_SYMBOLS, BoundFunction>;
  readonly snappy?: Record<keyof typeof SNAPPY_SYMBOLS, BoundFunction>;
  /** The address of a view's first byte, to store in a C struct (valid while the view lives). */
  addressOf(bytes: Uint8Array): bigint;
  /** A pointer value from an address a C function wrote. */
  pointerFrom(address: bigint): P;
  /** The NUL-terminated string at `pointer` (`""` for null). */
  cString(pointer: P | null): string;
}
