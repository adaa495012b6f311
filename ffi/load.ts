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

import type { Libc, Runtime } from "./port.ts";

interface Binding {
  libc(): Libc;
  runtime(): Runtime;
}

/** True when running under Bun. */
export const isBun: boolean = "Bun" in globalThis;

const binding: Binding = isBun
  ? await import("./bun.ts").then((m) => ({ libc: m.bunLibc, runtime: m.bunRuntime }))
  : await import("./deno.ts").then((m) => ({ libc: m.denoLibc, runtime: m.denoRuntime }));

let runtime: Runtime | undefined;

/** The libc port of the running runtime (one `dlopen` per process). */
export function loadLibc(): Libc {
  return binding.libc();
}

/** The network port of the running runtime. */
export function loadRuntime(): Runtime {
  runtime ??= binding.runtime();
  return runtime;
}
