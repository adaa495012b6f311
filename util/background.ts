/**
 * Containment of the broker's background work: timers (retention, the
 * cleaner, `flush.ms`, group session expiry, offsets retention, throughput
 * samples), fire-and-forget promises and signal handlers. Such work has no
 * client to answer, and an error thrown out of it would reach the runtime as
 * an uncaught exception or unhandled rejection, which ends the process: one
 * bad partition, one full disk or one unexpected value would take every
 * client down. So an error there is logged (rate-limited per task) and
 * counted, and the broker goes on; the task runs again at its next tick.
 *
 * The one exception is a failed assertion (`util/assert.ts`): a broken
 * invariant is a bug, and the house rule is that the broker logs it and
 * stops rather than run on with state it can no longer trust. It is logged
 * with its stack and thrown on as an uncaught exception.
 *
 * @module
 */
import { AssertionError } from "node:assert";
import { type Logger, LogRateLimiter } from "./log.ts";

/** True for a failed assertion: a bug, after which the broker stops. */
export function isAssertionFailure(error: unknown): error is AssertionError {
  return error instanceof AssertionError;
}

/** One line for an error: its message, or its text for a thrown non-Error. */
export function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** See the module doc. One per broker. */
export class BackgroundTasks {
  /** Errors contained so far, by task name. */
  readonly failures = new Map<string, number>();
  readonly #logger: Logger;
  readonly #limiter: LogRateLimiter;

  /** `limiter` may be shared with other rate-limited logging (kinds are task names here). */
  constructor(logger: Logger, limiter: LogRateLimiter = new LogRateLimiter(logger)) {
    this.#logger = logger;
    this.#limiter = limiter;
  }

  /** Runs one step of `task`; see {@linkcode BackgroundTasks.failed} for what an error does. */
  run(task: string, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.failed(task, error);
    }
  }

  /** Watches a promise nobody awaits: a rejection is handled as {@linkcode BackgroundTasks.failed} says. */
  watch(task: string, promise: Promise<unknown>): void {
    promise.catch((error) => {
      try {
        this.failed(task, error);
      } catch (bug) {
        queueMicrotask(() => {
          throw bug;
        });
      }
    });
  }

  /**
   * Handles an error of background `task` (a constant name, "Retention"), about
   * `subject` if given (a partition directory): a failed assertion is logged with its
   * stack and rethrown (the broker stops); anything else is counted, logged at most
   * `RATE_LIMITED_MESSAGES_PER_INTERVAL_MAX` times a minute per task, and
   * swallowed.
   */
  failed(task: string, error: unknown, subject?: string): void {
    const what = subject === undefined ? task : `${task} of "${subject}"`;
    if (isAssertionFailure(error)) {
      this.#logger.error(`Bug in ${what}, stopping: ${error.stack ?? errorText(error)}`);
      throw error;
    }
    this.failures.set(task, (this.failures.get(task) ?? 0) + 1);
    this.#limiter.error(task, `${what} failed (it runs again later): ${errorText(error)}`);
  }

  /**
   * The last net, for the CLI's `unhandledRejection` event: a rejected promise nobody
   * awaited, which this module's callers missed, is handled as {@linkcode failed} says
   * (task "An unawaited promise"); for a failed assertion, `stop` is called after it is logged.
   */
  unhandledRejection(reason: unknown, stop: () => void): void {
    try {
      this.failed("An unawaited promise", reason);
    } catch {
      stop();
    }
  }
}
