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
import { useNativeCrc32c } from "../protocol/record_batch.ts";
import type { Libc, Runtime } from "./port.ts";

interface Binding {
  libc(): Libc;
  runtime(): Runtime;
  crc32c(): ((bytes: Uint8Array, crc: number) => number) | undefined;
}

/** True when running under Bun. */
export const isBun: boolean = "Bun" in globalThis;

const binding: Binding = isBun
  ? await import("./bun.ts").then((m) => ({
    libc: m.bunLibc,
    runtime: m.bunRuntime,
    crc32c: m.bunCrc32c,
  }))
  : await import("./deno.ts").then((m) => ({
    libc: m.denoLibc,
    runtime: m.denoRuntime,
    crc32c: m.denoCrc32c,
  }));

let runtime: Runtime | undefined;

let crcChosen = false;

/**
 * The libc port of the running runtime (one `dlopen` per process). The first
 * call also switches CRC-32C to the hardware one when `libisal.so.2` is
 * present (see `ffi/crc32c.ts`), unless `DENKA_CRC32C=js`.
 */
export function loadLibc(): Libc {
  if (!crcChosen) {
    crcChosen = true;
    if (process.env["DENKA_CRC32C"] !== "js") useNativeCrc32c(binding.crc32c());
  }
  return binding.libc();
}

/** The network port of the running runtime. */
export function loadRuntime(): Runtime {
  runtime ??= binding.runtime();
  return runtime;
}
