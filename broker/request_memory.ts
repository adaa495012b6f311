/**
 * The bytes of requests read but not yet answered, across all connections,
 * capped by Kafka's `queued.max.request.bytes` (Kafka's `MemoryPool`). A
 * connection reserves a frame's size before it reads the frame's body; when
 * the cap has no room, the connection stops reading (its socket is paused,
 * so TCP flow control stops the client) and waits in a FIFO for room,
 * instead of the broker's memory growing with what clients send.
 *
 * Strict, unlike Kafka's pool (which lets one allocation overdraw it): a
 * reservation is granted only when it fits, so the queued bytes never
 * exceed the cap. Progress is still certain because the cap is at least
 * `socket.request.max.bytes` (checked in `broker/config.ts`, as Kafka checks
 * it), so the largest frame fits once the others are answered. Waiters are
 * served in order: a large frame is not starved by a stream of small ones.
 *
 * @module
 */
import { assert } from "../util/assert.ts";

/** A reservation waiting for room; `cancel` it when its connection closes. */
export interface PendingReservation {
  cancel(): void;
}

interface Waiter {
  readonly sizeBytes: number;
  readonly onGranted: () => void;
  cancelled: boolean;
}

/** Counters the broker exposes (`broker.counters`). */
export interface RequestMemoryCounters {
  /** Bytes of requests read (or reserved for reading) and not yet answered. */
  queuedRequestBytes: number;
  /** The most {@linkcode RequestMemoryCounters.queuedRequestBytes} has been. */
  queuedRequestBytesPeak: number;
  /** Reservations that had to wait for room (the connection stopped reading meanwhile). */
  queuedRequestWaits: number;
}

/** The shared budget of queued request bytes. */
export class RequestMemoryPool {
  /** The cap; `Infinity` when unbounded (`queued.max.request.bytes=-1`). */
  readonly capBytes: number;
  readonly #counters: RequestMemoryCounters;
  readonly #waiters: Waiter[] = [];

  constructor(capBytes: number, counters: RequestMemoryCounters) {
    assert(capBytes > 0, "queued.max.request.bytes must be positive");
    this.capBytes = capBytes;
    this.#counters = counters;
  }

  /** Bytes reserved now. */
  get queuedBytes(): number {
    return this.#counters.queuedRequestBytes;
  }

  /**
   * Reserves `sizeBytes` now if it fits and nobody is waiting (returns
   * `undefined`), else queues the reservation: `onGranted` runs once it has
   * been made. `sizeBytes` must not exceed the cap.
   */
  reserve(sizeBytes: number, onGranted: () => void): PendingReservation | undefined {
    assert(sizeBytes >= 0 && sizeBytes <= this.capBytes, "a frame larger than the cap");
    if (this.#waiters.length === 0 && this.#fits(sizeBytes)) {
      this.#take(sizeBytes);
      return undefined;
    }
    const waiter: Waiter = { sizeBytes, onGranted, cancelled: false };
    this.#waiters.push(waiter);
    this.#counters.queuedRequestWaits++;
    return {
      cancel: () => {
        if (waiter.cancelled) return;
        waiter.cancelled = true;
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        this.#grant(); // the head may have changed
      },
    };
  }

  /** Gives back `sizeBytes` of an answered (or abandoned) request and grants waiters that now fit. */
  release(sizeBytes: number): void {
    assert(sizeBytes >= 0 && sizeBytes <= this.#counters.queuedRequestBytes, "release too large");
    this.#counters.queuedRequestBytes -= sizeBytes;
    this.#grant();
  }

  #fits(sizeBytes: number): boolean {
    return this.#counters.queuedRequestBytes + sizeBytes <= this.capBytes;
  }

  #take(sizeBytes: number): void {
    const c = this.#counters;
    c.queuedRequestBytes += sizeBytes;
    if (c.queuedRequestBytes > c.queuedRequestBytesPeak) {
      c.queuedRequestBytesPeak = c.queuedRequestBytes;
    }
  }

  #grant(): void {
    while (this.#waiters.length > 0 && this.#fits(this.#waiters[0].sizeBytes)) {
      const waiter = this.#waiters.shift()!;
      waiter.cancelled = true; // cancel() after the grant is a no-op
      this.#take(waiter.sizeBytes);
      waiter.onGranted();
    }
  }
}
