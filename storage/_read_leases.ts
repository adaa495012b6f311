/**
 * Deferred closing of segments that left a log while reads may still use
 * their fds. A read takes a lease stamped with the current epoch; retiring a
 * segment stamps it with that epoch and starts a new one. A retired segment's
 * fd is closed once no lease from its epoch or earlier is held: reads that
 * began after it left could not have seen it. Unlike one counter per
 * partition, a steady stream of fetches cannot keep old fds open forever.
 *
 * @module
 */

import type { Segment } from "./segment.ts";

/** See the module doc. */
export class ReadLeases {
  #epoch = 0;
  /** Leases held, by epoch. */
  readonly #held = new Map<number, number>();
  #retired: { segment: Segment; epoch: number }[] = [];

  /** Retired segments whose fd is still open. */
  get retiredCount(): number {
    return this.#retired.length;
  }

  /** Takes a lease; the returned function releases it (idempotent). */
  lease(): () => void {
    const epoch = this.#epoch;
    this.#held.set(epoch, (this.#held.get(epoch) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = this.#held.get(epoch)! - 1;
      if (left === 0) this.#held.delete(epoch);
      else this.#held.set(epoch, left);
      this.#closeUnleased();
    };
  }

  /** Takes `segment` out of service now ({@linkcode Segment.retire}); closes its fd when unleased. */
  retire(segment: Segment): void {
    segment.retire();
    this.#retired.push({ segment, epoch: this.#epoch });
    this.#epoch++;
    this.#closeUnleased();
  }

  /** Closes every retired fd now (the log is closing; sends in flight are being dropped). */
  closeAll(): void {
    const retired = this.#retired;
    this.#retired = [];
    for (const r of retired) r.segment.closeFd();
  }

  #closeUnleased(): void {
    let oldestHeld = Infinity;
    for (const epoch of this.#held.keys()) oldestHeld = Math.min(oldestHeld, epoch);
    const keep: { segment: Segment; epoch: number }[] = [];
    for (const r of this.#retired) {
      if (r.epoch < oldestHeld) r.segment.closeFd();
      else keep.push(r);
    }
    this.#retired = keep;
  }
}
