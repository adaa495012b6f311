/**
 * Gives memory back after a burst, from the connection sweep: at most every
 * {@linkcode MEMORY_TRIM_INTERVAL_MS}, the shared frame-buffer pool drops
 * its free buffers if it went unused, and the runtime hands malloc's free
 * pages back to the kernel (`malloc_trim`). Without the latter, the read
 * and frame buffers freed when thousands of connections close stay in
 * glibc's arenas and in the RSS.
 *
 * @module
 */
import type { Runtime } from "../ffi/port.ts";
import type { FrameBufferPool } from "./frame_buffers.ts";

/** How often free memory is given back, at most. */
export const MEMORY_TRIM_INTERVAL_MS = 10_000;

/** Counters that tell whether anything happened since the last trim. */
interface ActivityCounters {
  readonly connectionsAccepted: number;
  readonly requests: number;
}

/** Trims pools and malloc's arenas on the sweep's clock. */
export class MemorySweep {
  readonly #runtime: Pick<Runtime, "releaseFreeMemory">;
  readonly #frameBuffers: FrameBufferPool;
  readonly #counters: ActivityCounters;
  #lastTrimMs = -Infinity;
  #lastActivity = -1;

  constructor(
    runtime: Pick<Runtime, "releaseFreeMemory">,
    frameBuffers: FrameBufferPool,
    counters: ActivityCounters,
  ) {
    this.#runtime = runtime;
    this.#frameBuffers = frameBuffers;
    this.#counters = counters;
  }

  sweep(nowMs: number): void {
    if (nowMs - this.#lastTrimMs < MEMORY_TRIM_INTERVAL_MS) return;
    this.#lastTrimMs = nowMs;
    this.#frameBuffers.trim();
    const activity = this.#counters.connectionsAccepted + this.#counters.requests;
    if (activity === this.#lastActivity) return; // nothing freed since the last trim
    this.#lastActivity = activity;
    this.#runtime.releaseFreeMemory();
  }
}
