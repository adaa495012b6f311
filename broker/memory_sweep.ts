/**
 * Gives memory back after a burst, from the connection sweep. Every
 * {@linkcode MEMORY_TRIM_INTERVAL_MS} at most, the shared frame-buffer pool
 * drops its free buffers if it went unused; and once a burst is over (many
 * connections closed, or large requests queued and all answered) the
 * runtime runs a full GC and hands malloc's free pages back to the kernel
 * (`malloc_trim`). Without that, an idle broker keeps the buffers of 10,000
 * closed connections: V8 collects only when JS allocates, and glibc keeps
 * freed memory in its arenas. Not on a timer alone: a full GC costs a pause,
 * which a steadily busy broker need not pay.
 *
 * @module
 */
import type { Runtime } from "../ffi/port.ts";
import type { FrameBufferPool } from "./frame_buffers.ts";

/** How often memory is given back, at most. */
export const MEMORY_TRIM_INTERVAL_MS = 10_000;
/** Closed connections (from the most open since the last release) that make a burst. */
export const CLOSED_CONNECTIONS_BURST_COUNT = 1000;
/** Queued request bytes (the most seen since the last release) that make a burst. */
export const QUEUED_REQUEST_BURST_BYTES = 64 * 1024 * 1024;

/** The counters the sweep reads. */
interface MemoryCounters {
  readonly connectionsOpen: number;
  readonly queuedRequestBytes: number;
}

/** Trims pools, and releases memory after bursts, on the sweep's clock. */
export class MemorySweep {
  readonly #runtime: Pick<Runtime, "releaseFreeMemory">;
  readonly #frameBuffers: FrameBufferPool;
  readonly #counters: MemoryCounters;
  #lastTrimMs = -Infinity;
  #connectionsOpenMax = 0;
  #queuedBytesMax = 0;

  constructor(
    runtime: Pick<Runtime, "releaseFreeMemory">,
    frameBuffers: FrameBufferPool,
    counters: MemoryCounters,
  ) {
    this.#runtime = runtime;
    this.#frameBuffers = frameBuffers;
    this.#counters = counters;
  }

  sweep(nowMs: number): void {
    const { connectionsOpen, queuedRequestBytes } = this.#counters;
    this.#connectionsOpenMax = Math.max(this.#connectionsOpenMax, connectionsOpen);
    this.#queuedBytesMax = Math.max(this.#queuedBytesMax, queuedRequestBytes);
    if (nowMs - this.#lastTrimMs < MEMORY_TRIM_INTERVAL_MS) return;
    this.#lastTrimMs = nowMs;
    this.#frameBuffers.trim();
    const closedBurst = this.#connectionsOpenMax - connectionsOpen >=
      CLOSED_CONNECTIONS_BURST_COUNT;
    const requestBurst = this.#queuedBytesMax >= QUEUED_REQUEST_BURST_BYTES &&
      queuedRequestBytes === 0;
    if (!closedBurst && !requestBurst) return;
    this.#connectionsOpenMax = connectionsOpen;
    this.#queuedBytesMax = 0;
    this.#runtime.releaseFreeMemory();
  }
}
