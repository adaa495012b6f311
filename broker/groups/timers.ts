/**
 * Timers of the group coordinator (session expiry, rebalance deadlines,
 * offset retention): one-shot callbacks on a clock that tests can replace,
 * all cancelled at once when the coordinator shuts down. An idle group costs
 * one timer per member, never a polling loop.
 *
 * @module
 */

/** A scheduled callback. */
export interface Timer {
  /** Cancels the callback if it has not run yet. Idempotent. */
  cancel(): void;
}

/** Where timers come from: the runtime's `setTimeout`, or a manual clock in tests. */
export interface TimerPort {
  set(fn: () => void, delayMs: number): unknown;
  clear(handle: unknown): void;
}

/** The runtime's timers. */
export const runtimeTimers: TimerPort = {
  set: (fn, delayMs) => setTimeout(fn, delayMs),
  clear: (handle) => clearTimeout(handle as number),
};

/** A set of live timers that can all be cancelled at shutdown. */
export class Timers {
  readonly #port: TimerPort;
  readonly #onError: ((error: unknown) => void) | undefined;
  readonly #live = new Set<{ handle: unknown }>();
  #closed = false;

  /** `onError` gets what a callback throws (the broker contains it); without it, it is thrown on. */
  constructor(port: TimerPort = runtimeTimers, onError?: (error: unknown) => void) {
    this.#port = port;
    this.#onError = onError;
  }

  /** Runs `fn` once after `delayMs` (clamped to at least 0), unless cancelled first. */
  schedule(delayMs: number, fn: () => void): Timer {
    if (this.#closed) return { cancel() {} };
    const entry = { handle: undefined as unknown };
    entry.handle = this.#port.set(() => {
      if (!this.#live.delete(entry)) return;
      if (this.#onError === undefined) return fn();
      try {
        fn();
      } catch (error) {
        this.#onError(error);
      }
    }, Math.max(0, delayMs));
    this.#live.add(entry);
    return {
      cancel: () => {
        if (this.#live.delete(entry)) this.#port.clear(entry.handle);
      },
    };
  }

  /** Timers scheduled and not yet run or cancelled. */
  get liveCount(): number {
    return this.#live.size;
  }

  /** Cancels every live timer; later `schedule` calls do nothing. */
  close(): void {
    this.#closed = true;
    for (const entry of this.#live) this.#port.clear(entry.handle);
    this.#live.clear();
  }
}

/** A clock for tests: timers run only when {@linkcode ManualClock.advance} passes their deadline. */
export class ManualClock implements TimerPort {
  #nowMs: number;
  #nextId = 1;
  readonly #pending = new Map<number, { atMs: number; fn: () => void }>();

  constructor(startMs = 1_000_000) {
    this.#nowMs = startMs;
  }

  /** The current time. */
  nowMs(): number {
    return this.#nowMs;
  }

  set(fn: () => void, delayMs: number): unknown {
    const id = this.#nextId++;
    this.#pending.set(id, { atMs: this.#nowMs + delayMs, fn });
    return id;
  }

  clear(handle: unknown): void {
    this.#pending.delete(handle as number);
  }

  /** Moves time forward by `ms`, running due timers in deadline order (including ones they schedule). */
  advance(ms: number): void {
    const endMs = this.#nowMs + ms;
    for (;;) {
      let nextId = -1;
      let nextAtMs = Infinity;
      for (const [id, t] of this.#pending) {
        if (t.atMs < nextAtMs || (t.atMs === nextAtMs && id < nextId)) {
          nextId = id;
          nextAtMs = t.atMs;
        }
      }
      if (nextId < 0 || nextAtMs > endMs) break;
      const t = this.#pending.get(nextId)!;
      this.#pending.delete(nextId);
      this.#nowMs = Math.max(this.#nowMs, t.atMs);
      t.fn();
    }
    this.#nowMs = endMs;
  }

  /** Timers waiting to run. */
  get pendingCount(): number {
    return this.#pending.size;
  }
}
