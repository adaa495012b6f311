/**
 * The acks=all produces of one partition waiting for its high watermark
 * (Kafka's delayed produce purgatory, for one partition): each waits for an
 * offset, and is answered once the high watermark reaches it, when
 * leadership is lost, or at its timeout.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";

interface Waiter {
  readonly offset: number;
  readonly resolve: (errorCode: number) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

/** See the module doc. */
export class CommitWaiters {
  readonly #waiters: Waiter[] = [];

  /** How many produces wait. */
  get size(): number {
    return this.#waiters.length;
  }

  /**
   * Resolves with what {@linkcode complete} or {@linkcode failAll} says, or REQUEST_TIMED_OUT
   * after `timeoutMs`.
   */
  wait(offset: number, timeoutMs: number): Promise<number> {
    return new Promise((resolve) => {
      const waiter: Waiter = {
        offset,
        resolve,
        timer: setTimeout(() => {
          const i = this.#waiters.indexOf(waiter);
          if (i >= 0) this.#waiters.splice(i, 1);
          resolve(ErrorCode.REQUEST_TIMED_OUT);
        }, Math.max(0, timeoutMs)),
      };
      this.#waiters.push(waiter);
    });
  }

  /** Answers every waiter whose offset is at or below `highWatermark` with `errorCode()`. */
  complete(highWatermark: number, errorCode: () => number): void {
    for (let i = 0; i < this.#waiters.length;) {
      const w = this.#waiters[i];
      if (w.offset > highWatermark) {
        i++;
        continue;
      }
      this.#waiters.splice(i, 1);
      clearTimeout(w.timer);
      w.resolve(errorCode());
    }
  }

  /** Answers every waiter with `errorCode` (leadership lost, shutdown). */
  failAll(errorCode: number): void {
    for (const w of this.#waiters.splice(0)) {
      clearTimeout(w.timer);
      w.resolve(errorCode);
    }
  }
}
