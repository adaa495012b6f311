/**
 * Picks the binding for the running runtime, once: Bun when `globalThis.Bun`
 * exists, Deno otherwise. The binding is loaded with a dynamic `import()` at
 * module evaluation (top-level await), so Deno never loads `bun:ffi` and Bun
 * never evaluates `Deno.*`, while {@linkcode loadLibc} and
 * {@linkcode loadRuntime} stay synchronous. `bun build --compile` bundles both
 * bindings (the specifiers are literal); only the matching one runs.
 *
 * @module
 */

import process from "node:process";
import type { RawCodecLibraries } from "./codec_symbols.ts";
import {
  type NativeCompressors,
  nativeCompressors,
  type NativeDecoders,
  nativeDecoders,
} from "./codecs.ts";
import type { Libc, Runtime } from "./port.ts";

interface Binding {
  libc(): Libc;
  runtime(): Runtime;
  crc32c(): ((bytes: Uint8Array, crc: number) => number) | undefined;
  codecs(): RawCodecLibraries<unknown>;
}

/** True when running under Bun. */
export const isBun: boolean = "Bun" in globalThis;

const binding: Binding = isBun
  ? await import("./bun.ts").then((m) => ({
    libc: m.bunLibc,
    runtime: m.bunRuntime,
    crc32c: m.bunCrc32c,
    codecs: m.bunCodecLibraries as () => RawCodecLibraries<unknown>,
  }))
  : await import("./deno.ts").then((m) => ({
    libc: m.denoLibc,
    runtime: m.denoRuntime,
    crc32c: m.denoCrc32c,
    codecs: m.denoCodecLibraries as () => RawCodecLibraries<unknown>,
  }));

let runtime: Runtime | undefined;

let crc: { fn: ((bytes: Uint8Array, crc: number) => number) | undefined } | undefined;

/** The libc port of the running runtime (one `dlopen` per process). */
export function loadLibc(): Libc {
  return binding.libc();
}

/**
 * The hardware CRC-32C of the running runtime (`libisal.so.2`, see
 * `ffi/crc32c.ts`), or `undefined` when the library is missing or
 * `DENKA_CRC32C=js`. The broker installs it into `protocol/` at start
 * (`useNativeCrc32c`): `ffi/` itself imports nothing from the layers above.
 */
export function loadNativeCrc32c(): ((bytes: Uint8Array, crc: number) => number) | undefined {
  crc ??= { fn: process.env["DENKA_CRC32C"] === "js" ? undefined : binding.crc32c() };
  return crc.fn;
}

/** The network port of the running runtime. */
export function loadRuntime(): Runtime {
  runtime ??= binding.runtime();
  return runtime;
}

let libraries: RawCodecLibraries<unknown> | undefined;
let decoders: NativeDecoders | undefined;

function codecLibraries(): RawCodecLibraries<unknown> {
  libraries ??= binding.codecs();
  return libraries;
}

/**
 * Decoders over the system codec libraries this runtime can open (zlib, libzstd, liblz4,
 * libsnappy; see `ffi/codecs.ts`), opened once; `{}` when `DENKA_CODECS=js`. The broker
 * installs them into `protocol/` at start (`useNativeDecoders`), as it does the CRC-32C.
 */
export function loadNativeDecoders(): NativeDecoders {
  decoders ??= process.env["DENKA_CODECS"] === "js" ? {} : nativeDecoders(codecLibraries());
  return decoders;
}

/** snappy and lz4 compressors over the system libraries (benchmarks and tests). */
export function loadNativeCompressors(): NativeCompressors {
  return nativeCompressors(codecLibraries());
}
