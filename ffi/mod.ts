/**
 * The runtime port's public surface: the {@linkcode Libc} and
 * {@linkcode Runtime} interfaces, the binding of the running runtime (Deno or
 * Bun, picked once), and the in-memory libc with seeded faults for tests.
 * `deno.ts` and `bun.ts` are reached only through `load.ts`.
 *
 * @module
 */
export * from "./port.ts";
export {
  isBun,
  loadLibc,
  loadNativeCompressors,
  loadNativeCrc32c,
  loadNativeDecoders,
  loadRuntime,
} from "./load.ts";
export {
  type FaultPlan,
  type FaultRule,
  type MemoryLibc,
  memoryLibc,
  type MemoryLibcOptions,
} from "./memory.ts";
export { pwriteFully, type PwriteFullyRequest } from "./pwrite_fully.ts";
