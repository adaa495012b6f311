/**
 * The client side of a lease, shared by both coordinator adapters: the
 * keepalive loop and the local deadline that decides when a lease must be
 * assumed lost.
 *
 * The deadline is conservative, as in etcd's Go client: it runs from the
 * moment the last successful keepalive was *sent* (the server renewed the
 * lease no earlier than that) plus the TTL it granted. When etcd cannot be
 * reached for a whole TTL, the lease is reported lost even though the server
 * may not have expired it yet; a broker must then stop acting on whatever the
 * lease stood for. Keepalives go out every third of the TTL.
 *
 * @module
 */
import type { TimerPort } from "../groups/timers.ts";
import type { KeepAliveResult, Lease, LeaseId, LeaseLost } from "./coordinator.ts";

/** Timers and the time: the runtime's, or a `ManualClock` in tests. */
export interface ClusterClock extends TimerPort {
  nowMs(): number;
}

/** The runtime's clock. */
export const systemClock: ClusterClock = {
  nowMs: () => Date.now(),
  set: (fn, delayMs) => setTimeout(fn, delayMs),
  clear: (handle) => clearTimeout(handle as number),
};

/** Keepalives per TTL: one every third of it. */
export const KEEPALIVES_PER_TTL = 3;

/** Sends one keepalive for `leaseId`. */
export type KeepAliveOnce = (leaseId: LeaseId) => Promise<KeepAliveResult>;

/** One lease as its holder sees it; `lease` is the handle given out. */
export class LeaseKeeper {
  readonly lease: Lease;
  readonly #clock: ClusterClock;
  readonly #keepAliveOnce: KeepAliveOnce;
  #deadlineTimer: unknown;
  #tickTimer: unknown;
  #lost: LeaseLost | undefined;
  #resolveLost!: (lost: LeaseLost) => void;

  constructor(
    id: LeaseId,
    ttlMs: number,
    options: {
      readonly clock: ClusterClock;
      readonly keepAliveOnce: KeepAliveOnce;
      readonly autoKeepAlive: boolean;
      /** When the grant was sent: the first deadline runs from it. */
      readonly grantedAtMs: number;
    },
  ) {
    this.#clock = options.clock;
    this.#keepAliveOnce = options.keepAliveOnce;
    const lost = new Promise<LeaseLost>((resolve) => (this.#resolveLost = resolve));
    const isLost = () => this.#lost !== undefined;
    this.lease = {
      id,
      ttlMs,
      lost,
      get isLost() {
        return isLost();
      },
    };
    this.#armDeadline(options.grantedAtMs + ttlMs);
    if (options.autoKeepAlive) this.#scheduleTick();
  }

  get isLost(): boolean {
    return this.#lost !== undefined;
  }

  /** Records a keepalive sent at `sentAtMs` and its answer. */
  noteKeepAlive(sentAtMs: number, result: KeepAliveResult): void {
    if (this.#lost !== undefined) return;
    if (!result.alive) {
      this.markLost("expired", `Lease "${this.lease.id}" is no longer known to the coordinator`);
      return;
    }
    this.#armDeadline(sentAtMs + result.ttlMs);
  }

  /** Settles `lease.lost` (once) and stops every timer. */
  markLost(reason: LeaseLost["reason"], message: string): void {
    if (this.#lost !== undefined) return;
    this.#lost = { reason, message };
    this.#clock.clear(this.#deadlineTimer);
    this.#clock.clear(this.#tickTimer);
    this.#resolveLost(this.#lost);
  }

  #armDeadline(deadlineMs: number): void {
    this.#clock.clear(this.#deadlineTimer);
    const delayMs = Math.max(0, deadlineMs - this.#clock.nowMs());
    this.#deadlineTimer = this.#clock.set(() => {
      this.markLost(
        "expired",
        `Lease "${this.lease.id}" passed its ${this.lease.ttlMs} ms TTL without a keepalive`,
      );
    }, delayMs);
  }

  #scheduleTick(): void {
    const intervalMs = Math.max(1, Math.floor(this.lease.ttlMs / KEEPALIVES_PER_TTL));
    this.#tickTimer = this.#clock.set(() => {
      if (this.#lost !== undefined) return;
      const sentAtMs = this.#clock.nowMs();
      this.#keepAliveOnce(this.lease.id).then(
        (result) => this.noteKeepAlive(sentAtMs, result),
        () => {/* unreachable for now: the deadline decides */},
      ).finally(() => {
        if (this.#lost === undefined) this.#scheduleTick();
      });
    }, intervalMs);
  }
}
