/**
 * Slows down repeated failed logins from one address. Kafka delays the
 * answer to a failed authentication by `connection.failed.authentication.delay.ms`
 * (default 100 ms) before closing the connection, so a client in a retry
 * loop cannot spin the broker; Denka doubles the delay with every further
 * failure from the same address (100, 200, 400 ... ms), up to
 * `delayMsMax`, and forgets an address after `forgetAfterMs` without a
 * failure or at its first success. The table is bounded: past
 * `addressesMax` addresses the one that failed least recently is dropped.
 *
 * Failures are logged through the broker's {@linkcode LogRateLimiter}
 * (kind `failed-authentication`), so a password-guessing loop cannot fill
 * the log.
 *
 * @module
 */
import type { LogRateLimiter } from "../../util/log.ts";

/** Kafka's default `connection.failed.authentication.delay.ms`. */
export const CONNECTION_FAILED_AUTHENTICATION_DELAY_MS_DEFAULT = 100;
/** The longest delay a failing address is given. */
export const LOGIN_FAILURE_DELAY_MS_MAX = 5_000;
/** Addresses tracked at most. */
export const LOGIN_FAILURE_ADDRESSES_MAX = 10_000;
/** An address without a failure for this long starts again from the base delay. */
export const LOGIN_FAILURE_FORGET_MS = 300_000;

/** Options of a {@linkcode LoginThrottle}. */
export interface LoginThrottleOptions {
  /** The first failure's delay, Kafka's `connection.failed.authentication.delay.ms` (0: none). */
  readonly delayMs?: number;
  readonly delayMsMax?: number;
  readonly addressesMax?: number;
  readonly forgetAfterMs?: number;
  readonly nowMs?: () => number;
  /** Where failures are logged (none: not logged). */
  readonly log?: LogRateLimiter;
}

interface Failures {
  count: number;
  lastMs: number;
}

/** Per-address failed-login delays. */
export class LoginThrottle {
  readonly #delayMs: number;
  readonly #delayMsMax: number;
  readonly #addressesMax: number;
  readonly #forgetAfterMs: number;
  readonly #nowMs: () => number;
  readonly #log: LogRateLimiter | undefined;
  /** Least recently failed first (a Map keeps insertion order; a failure re-inserts). */
  readonly #failures = new Map<string, Failures>();

  constructor(options: LoginThrottleOptions = {}) {
    this.#delayMs = options.delayMs ?? CONNECTION_FAILED_AUTHENTICATION_DELAY_MS_DEFAULT;
    this.#delayMsMax = Math.max(options.delayMsMax ?? LOGIN_FAILURE_DELAY_MS_MAX, this.#delayMs);
    this.#addressesMax = options.addressesMax ?? LOGIN_FAILURE_ADDRESSES_MAX;
    this.#forgetAfterMs = options.forgetAfterMs ?? LOGIN_FAILURE_FORGET_MS;
    this.#nowMs = options.nowMs ?? Date.now;
    this.#log = options.log;
  }

  /**
   * Records a failed login from `address` and returns how long to wait
   * before answering it and closing the connection.
   */
  failed(address: string, detail: { mechanism: string; reason: string }): number {
    const nowMs = this.#nowMs();
    const previous = this.#failures.get(address);
    this.#failures.delete(address);
    const fresh = previous === undefined || nowMs - previous.lastMs >= this.#forgetAfterMs;
    const count = fresh ? 1 : previous.count + 1;
    this.#failures.set(address, { count, lastMs: nowMs });
    if (this.#failures.size > this.#addressesMax) {
      this.#failures.delete(this.#failures.keys().next().value!);
    }
    const delayMs = this.delayFor(count);
    this.#log?.info(
      "failed-authentication",
      `Failed authentication with /${address} (${detail.mechanism}: ${detail.reason}); failure ${count} in a row, answered after ${delayMs} ms.`,
    );
    return delayMs;
  }

  /** Forgets an address's failures (a login from it succeeded). */
  succeeded(address: string): void {
    this.#failures.delete(address);
  }

  /** The delay of the `count`th failure in a row. */
  delayFor(count: number): number {
    if (this.#delayMs === 0) return 0;
    const doublings = Math.min(count - 1, 30);
    return Math.min(this.#delayMs * 2 ** doublings, this.#delayMsMax);
  }

  /** The number of addresses tracked. */
  get trackedAddressCount(): number {
    return this.#failures.size;
  }
}
