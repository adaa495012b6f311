/**
 * The broker's open connections and their limits, under Kafka's names:
 * `max.connections` and `max.connections.per.ip` (a connection past either
 * is closed at once, with a rate-limited log line: `util/log.ts`'s `LogRateLimiter`), `connections.max.idle.ms`
 * (a connection with no bytes in or out for that long, and no request in
 * progress, is closed), and Denka's `connections.frame.timeout.ms` (a frame
 * whose first byte arrived must arrive whole within it, counted while the
 * broker is reading; Kafka has no such limit, but without it a connection
 * that sends a size prefix and stops holds its descriptor forever).
 *
 * One sweep timer serves every connection (checking timestamps the
 * connections keep), not a timer per connection: 10,000 idle connections
 * cost one timer.
 *
 * @module
 */
import type { Socket } from "../ffi/port.ts";
import type { Logger, LogRateLimiter } from "../util/log.ts";
import type { Connection } from "./connection.ts";

/** The longest time between two sweeps. */
export const SWEEP_INTERVAL_MS_MAX = 1000;

/** The limits, from `broker/config.ts`. */
export interface ConnectionLimits {
  /** Kafka's max.connections. */
  readonly connectionsMax: number;
  /** Kafka's max.connections.per.ip. */
  readonly connectionsPerIpMax: number;
  /** Kafka's connections.max.idle.ms. */
  readonly idleMsMax: number;
  /** connections.frame.timeout.ms. */
  readonly frameTimeoutMs: number;
}

/** The counters the table keeps (`broker.counters`). */
export interface ConnectionCounters {
  connectionsOpen: number;
  connectionsRefused: number;
  connectionsClosedIdle: number;
  connectionsClosedFrameTimeout: number;
}

/** The host part of `host:port` (IPv6 hosts come without brackets). */
export function hostOf(address: string): string {
  const colon = address.lastIndexOf(":");
  return colon < 0 ? address : address.slice(0, colon);
}

/** Open connections, their limits and the sweep. */
export class ConnectionTable {
  readonly limits: ConnectionLimits;
  readonly #connections = new Set<Connection>();
  readonly #perHost = new Map<string, number>();
  readonly #counters: ConnectionCounters;
  readonly #log: Logger;
  readonly #warnings: LogRateLimiter;
  readonly #nowMs: () => number;
  readonly #onSweep: (nowMs: number) => void;
  #timer: ReturnType<typeof setInterval> | undefined;
  #coarseNowMs: number;

  constructor(
    limits: ConnectionLimits,
    options: {
      counters: ConnectionCounters;
      logger: Logger;
      /** Refusals and frame timeouts are logged through it (a client may repeat them). */
      warnings: LogRateLimiter;
      nowMs: () => number;
      /** Runs after each sweep (the broker trims pools there). */
      onSweep?: (nowMs: number) => void;
    },
  ) {
    this.limits = limits;
    this.#counters = options.counters;
    this.#log = options.logger;
    this.#nowMs = options.nowMs;
    this.#warnings = options.warnings;
    this.#onSweep = options.onSweep ?? (() => {});
    this.#coarseNowMs = options.nowMs();
  }

  /**
   * The clock as of the last sweep: what connections stamp their activity
   * with, read without a clock call per request (timeouts are at least four
   * sweeps long; the sweep adds one interval of slack, so a connection is
   * closed between its limit and two sweeps after it).
   */
  get coarseNowMs(): number {
    return this.#coarseNowMs;
  }

  get size(): number {
    return this.#connections.size;
  }

  /** The time between sweeps: a quarter of the shortest timeout, at most {@linkcode SWEEP_INTERVAL_MS_MAX}. */
  get sweepIntervalMs(): number {
    const shortestMs = Math.min(this.limits.idleMsMax, this.limits.frameTimeoutMs);
    return Math.max(1, Math.min(SWEEP_INTERVAL_MS_MAX, Math.floor(shortestMs / 4)));
  }

  /**
   * True when a new connection from `socket` is within the limits; else the
   * socket is closed at once, counted and (rate-limited) logged.
   */
  admit(socket: Socket): boolean {
    const host = hostOf(socket.remoteAddress);
    let refusal: string | undefined;
    if (this.#connections.size >= this.limits.connectionsMax) {
      refusal =
        `${this.#connections.size} connections are open (max.connections ${this.limits.connectionsMax})`;
    } else if ((this.#perHost.get(host) ?? 0) >= this.limits.connectionsPerIpMax) {
      refusal = `"${host}" has ${
        this.#perHost.get(host)
      } connections open (max.connections.per.ip ${this.limits.connectionsPerIpMax})`;
    }
    if (refusal === undefined) return true;
    socket.close();
    this.#counters.connectionsRefused++;
    this.#warnings.warn(
      "connection-refused",
      `Refused a connection from ${socket.remoteAddress}: ${refusal}`,
    );
    return false;
  }

  add(connection: Connection): void {
    this.#connections.add(connection);
    this.#counters.connectionsOpen = this.#connections.size;
    const host = hostOf(connection.socket.remoteAddress);
    this.#perHost.set(host, (this.#perHost.get(host) ?? 0) + 1);
  }

  remove(connection: Connection): void {
    if (!this.#connections.delete(connection)) return;
    this.#counters.connectionsOpen = this.#connections.size;
    const host = hostOf(connection.socket.remoteAddress);
    const count = (this.#perHost.get(host) ?? 1) - 1;
    if (count === 0) this.#perHost.delete(host);
    else this.#perHost.set(host, count);
  }

  /** A snapshot of the open connections. */
  list(): Connection[] {
    return [...this.#connections];
  }

  /** Starts the sweep timer. */
  start(): void {
    this.#timer ??= setInterval(() => this.sweep(this.#nowMs()), this.sweepIntervalMs);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Closes the connections past `connections.max.idle.ms` or `connections.frame.timeout.ms`. */
  sweep(nowMs: number): void {
    this.#coarseNowMs = nowMs;
    const { idleMsMax, frameTimeoutMs } = this.limits;
    // Stamps are coarse (up to one sweep early): never close before the limit.
    const slackMs = this.sweepIntervalMs;
    for (const c of this.#connections) {
      if (c.frameStartedMs !== undefined && nowMs - c.frameStartedMs > frameTimeoutMs + slackMs) {
        this.#counters.connectionsClosedFrameTimeout++;
        this.#warnings.warn(
          "connection-frame-timeout",
          `Closing connection ${c.id} from ${c.socket.remoteAddress}: a request frame did not arrive whole within ${frameTimeoutMs} ms (connections.frame.timeout.ms)`,
        );
        c.close();
      } else if (!c.busy && nowMs - c.lastActivityMs > idleMsMax + slackMs) {
        this.#counters.connectionsClosedIdle++;
        this.#log.debug(
          `Closing connection ${c.id} from ${c.socket.remoteAddress}: idle for more than ${idleMsMax} ms (connections.max.idle.ms)`,
        );
        c.close();
      }
    }
    this.#onSweep(nowMs);
  }
}
