/**
 * Group commit: produces that must wait for the disk mark their partition
 * log dirty and await one shared flush. The flush pass runs once per turn of
 * the event loop (`setImmediate`, after the I/O callbacks of that turn), so
 * every request that arrived in the same turn, on any connection, shares one
 * `fdatasync` per partition.
 *
 * The libc port is synchronous: an `fdatasync` blocks the event loop while it
 * runs (about 0.5 ms per MiB written since the last flush, plus a fixed
 * cost; see bench/). Requests arriving meanwhile wait in the kernel's socket
 * buffers and join the next pass, which is what makes the batching natural.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import { IoError } from "../ffi/port.ts";

/** What the flusher needs of a log. */
export interface Flushable {
  readonly isClosed: boolean;
  /** Throws IoError. */
  flush(): void;
}

/** Counters of {@linkcode GroupCommit}. */
export interface GroupCommitStats {
  /** Flush passes run. */
  passes: number;
  /** Log flushes (one per dirty log per pass). */
  flushes: number;
  /** Waiters resolved or rejected. */
  waiters: number;
  /** Log flushes that failed. */
  failures: number;
}

interface Pending {
  readonly resolve: () => void;
  readonly reject: (error: IoError) => void;
}

/** See the module doc. */
export class GroupCommit {
  readonly stats: GroupCommitStats = { passes: 0, flushes: 0, waiters: 0, failures: 0 };
  readonly #waiting = new Map<Flushable, Pending[]>();
  readonly #schedule: (run: () => void) => void;
  #scheduled = false;

  /** `schedule` runs the pass later (default `setImmediate`; tests may run it by hand). */
  constructor(options: { schedule?: (run: () => void) => void } = {}) {
    this.#schedule = options.schedule ?? ((run) => setImmediate(run));
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

  /** Logs with a flush pending. */
  get pendingCount(): number {
    return this.#waiting.size;
  }

  /** Runs a flush pass now. */
  runPass(): void {
    this.#scheduled = false;
    if (this.#waiting.size === 0) return;
    this.stats.passes++;
    const batch = [...this.#waiting];
    this.#waiting.clear();
    for (const [log, waiters] of batch) {
      let failure: IoError | undefined = undefined;
      if (!log.isClosed) {
        try {
          this.stats.flushes++;
          log.flush();
        } catch (error) {
          if (!(error instanceof IoError)) throw error;
          this.stats.failures++;
          failure = error;
        }
      }
      this.stats.waiters += waiters.length;
      for (const w of waiters) failure === undefined ? w.resolve() : w.reject(failure);
    }
  }

  #request(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#schedule(() => this.runPass());
  }
}
