/**
 * Recycled buffers for large request frames, shared by every connection and
 * bounded: a fresh 1 MiB buffer costs 256 first-touch page faults, which
 * are slow on this kind of VM, so the buffers of handled Produce frames are
 * reused for the next large frame. The pool keeps at most
 * {@linkcode FRAME_POOL_FREE_BYTES_MAX} of free buffers (each connection
 * once kept two of up to 4 MiB, forever), and {@linkcode FrameBufferPool.trim}
 * drops them all once the pool has gone unused, so the memory goes back
 * after a burst.
 *
 * @module
 */

/** Frames from this size up to {@linkcode POOLED_FRAME_MAX_BYTES} use recycled buffers. */
export const POOLED_FRAME_MIN_BYTES = 64 * 1024;
/** Largest recycled frame buffer (a produce request of a few 1 MiB batches fits). */
export const POOLED_FRAME_MAX_BYTES = 4 * 1024 * 1024;
/** Bytes of free recycled buffers kept, at most (16 producers of 1 MiB batches fit). */
export const FRAME_POOL_FREE_BYTES_MAX = 32 * 1024 * 1024;

/** The shared pool of large frame buffers. */
export class FrameBufferPool {
  readonly #free: Uint8Array[] = [];
  #freeBytes = 0;
  #usedSinceTrim = false;

  /** Bytes held by free buffers. */
  get freeBytes(): number {
    return this.#freeBytes;
  }

  /**
   * A buffer for a frame of `sizeBytes`: a recycled one for large frames
   * when one fits, else a new one (large ones with a power-of-two capacity,
   * so that frames of similar sizes share buffers).
   */
  take(sizeBytes: number): Uint8Array {
    if (sizeBytes < POOLED_FRAME_MIN_BYTES || sizeBytes > POOLED_FRAME_MAX_BYTES) {
      return new Uint8Array(sizeBytes);
    }
    this.#usedSinceTrim = true;
    const free = this.#free;
    for (let i = 0; i < free.length; i++) {
      if (free[i].length >= sizeBytes) {
        const buffer = free.splice(i, 1)[0];
        this.#freeBytes -= buffer.length;
        return buffer.subarray(0, sizeBytes);
      }
    }
    return new Uint8Array(2 ** Math.ceil(Math.log2(sizeBytes))).subarray(0, sizeBytes);
  }

  /**
   * Takes back the buffer of a frame nobody holds a view of any more (the
   * caller knows: a handled Produce request). Buffers not from `take()`'s
   * pooled range, or past the pool's bound, are left to the GC.
   */
  give(frame: Uint8Array): void {
    const capacity = frame.buffer.byteLength;
    if (capacity > POOLED_FRAME_MAX_BYTES) return this.free(frame);
    if (
      frame.length < POOLED_FRAME_MIN_BYTES || frame.byteOffset !== 0 ||
      this.#freeBytes + capacity > FRAME_POOL_FREE_BYTES_MAX
    ) return;
    this.#free.push(new Uint8Array(frame.buffer as ArrayBuffer));
    this.#freeBytes += capacity;
  }

  /**
   * Frees a large frame's memory now rather than at the next GC, which V8
   * and JSC run only as JS allocates (eight 100 MB frames in a row peaked at
   * 450 MB of RSS): the buffer is detached (`transfer(0)`), so it must be
   * one nobody holds a view of.
   */
  free(frame: Uint8Array): void {
    if (
      frame.buffer.byteLength > POOLED_FRAME_MAX_BYTES && !(frame.buffer as ArrayBuffer).detached
    ) {
      (frame.buffer as ArrayBuffer).transfer(0);
    }
  }

  /** Drops every free buffer if none was taken since the last call (the broker's sweep calls it). */
  trim(): void {
    if (!this.#usedSinceTrim) {
      this.#free.length = 0;
      this.#freeBytes = 0;
    }
    this.#usedSinceTrim = false;
  }
}
