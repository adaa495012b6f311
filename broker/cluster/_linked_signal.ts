/**
 * An abort signal that aborts when any of its sources does, held strongly by
 * them. `AbortSignal.any()` is not enough here: Deno keeps the signals it
 * makes only weakly from their sources (denoland/deno#29075), so after a
 * garbage collection aborting a source no longer reaches a fetch made with
 * one, and an etcd watch outlived `close()` (a broker's stop waited forever).
 *
 * @module
 */

/** A signal linked to its sources, and the function that unlinks it. */
export interface LinkedSignal {
  readonly signal: AbortSignal;
  /** Drops the listeners on the sources (call once the signal is no longer needed). */
  readonly dispose: () => void;
}

/** See the module doc. */
export function linkSignals(sources: readonly AbortSignal[]): LinkedSignal {
  const controller = new AbortController();
  const onAbort = () => {
    dispose();
    controller.abort();
  };
  const dispose = () => {
    for (const source of sources) source.removeEventListener("abort", onAbort);
  };
  if (sources.some((s) => s.aborted)) {
    controller.abort();
    return { signal: controller.signal, dispose: () => {} };
  }
  for (const source of sources) source.addEventListener("abort", onAbort, { once: true });
  return { signal: controller.signal, dispose };
}
