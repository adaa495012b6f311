/**
 * Group commit: produces that must wait for the disk mark their partition
 * log dirty and await one shared flush. A pass runs once per turn of the
 * event loop (`setImmediate`, after the I/O callbacks of that turn) and
 * starts one `fdatasync` per dirty log, off the JS thread
 * ({@linkcode Libc.fdatasyncAsync}), all of them at once: the kernel can
 * share one journal commit between partitions, and the event loop goes on
 * reading and appending the next requests while the disk works.
 *
 * A log has at most one flush in flight. Requests that arrive meanwhile wait
 * for the flush after it, which starts at the first pass after the one in
 * flight settles and covers all of them: the longer a flush takes, the more
 * requests share the next one.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import { IoError } from "../ffi/port.ts";

/** What the flusher needs of a log. */
export interface Flushable {
  readonly isClosed: boolean;
  /** Makes what was appended before the call durable; rejects with IoError. */
  flushAsync(): Promise<void>;
}

/** Counters of {@linkcode GroupCommit}. */
export interface GroupCommitStats {
  /** Flush passes that started at least one flush. */
  passes: number;
  /** Log flushes started. */
  flushes: number;
  /** Waiters resolved or rejected. */
  waiters: number;
  /** Log flushes that failed. */
  failures: number;
}

interface Pending {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** See the module doc. */
export class GroupCommit {
  readonly stats: GroupCommitStats = { passes: 0, flushes: 0, waiters: 0, failures: 0 };
  /** Logs whose next flush has not started, with who waits for it. */
  readonly #waiting = new Map<Flushable, Pending[]>();
  /** Flushes running, by log; they never reject. */
  readonly #inFlight = new Map<Flushable, Promise<void>>();
  readonly #schedule: (run: () => void) => void;
  readonly #onError: (error: unknown) => void;
  #scheduled = false;

  /**
   * `schedule` runs the pass later (default `setImmediate`; tests may run it by hand).
   * `onError` gets a flush error that is not an IoError (a bug), a turn later, after the
   * waiters were rejected with it; by default it is thrown as uncaught.
   */
  constructor(
    options: { schedule?: (run: () => void) => void; onError?: (error: unknown) => void } = {},
  ) {
    this.#schedule = options.schedule ?? ((run) => setImmediate(run));
    this.#onError = options.onError ?? ((error) => {
      throw error;
    });
  }

  /**
   * Resolves once everything appended to `log` so far is on disk; rejects with the IoError
   * of a failed flush. A log closed meanwhile counts as flushed (close flushes).
   */
  durable(log: Flushable): Promise<void> {
    return new Promise((resolve, reject) => {
      let list = this.#waiting.get(log);
      if (list === undefined) this.#waiting.set(log, list = []);
      list.push({ resolve, reject });
      this.#request();
    });
  }

  /** Flushes `log` at the next pass without anyone waiting (flush.ms, flush.messages with acks=0). */
  request(log: Flushable): void {
    if (!this.#waiting.has(log)) this.#waiting.set(log, []);
    this.#request();
  }

  /** Logs with a flush pending or running. */
  get pendingCount(): number {
    return new Set([...this.#waiting.keys(), ...this.#inFlight.keys()]).size;
  }

  /** Starts the flush of every waiting log that has none in flight. */
  runPass(): void {
    this.#scheduled = false;
    let started = 0;
    for (const [log, waiters] of this.#waiting) {
      if (this.#inFlight.has(log)) continue; // its waiters join the flush after that one
      this.#waiting.delete(log);
      // Started a microtask later, so that it is in #inFlight before it can settle.
      this.#inFlight.set(log, Promise.resolve().then(() => this.#flush(log, waiters)));
      started++;
    }
    if (started > 0) this.stats.passes++;
  }

  /** Runs passes until nothing waits and no flush runs (before the logs close). */
  async drain(): Promise<void> {
    while (this.#waiting.size > 0 || this.#inFlight.size > 0) {
      this.runPass();
      await Promise.all(this.#inFlight.values());
    }
  }

  async #flush(log: Flushable, waiters: Pending[]): Promise<void> {
    let failure: Error | undefined = undefined;
    if (!log.isClosed) {
      this.stats.flushes++;
      try {
        await log.flushAsync();
      } catch (error) {
        failure = error as Error;
        this.stats.failures++;
        // Not an operating error: a bug. Its waiters fail, and onError hears of it.
        if (!(error instanceof IoError)) queueMicrotask(() => this.#onError(error));
      }
    }
    this.#inFlight.delete(log);
    this.stats.waiters += waiters.length;
    for (const w of waiters) failure === undefined ? w.resolve() : w.reject(failure);
    if (this.#waiting.size > 0) this.#request();
  }

  #request(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#schedule(() => this.runPass());
  }
}
