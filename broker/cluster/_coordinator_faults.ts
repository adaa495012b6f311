/**
 * Seeded, rule-based fault injection for the in-memory coordinator, in the
 * style of the in-memory libc's: rules are matched in order against each
 * call, with `after`/`times` windows and an optional probability drawn from a
 * seeded generator, so one seed always fails the same calls.
 *
 * @module
 */

/** The coordinator calls a rule can match. */
export type CoordinatorOp =
  | "get"
  | "range"
  | "put"
  | "delete"
  | "txn"
  | "grantLease"
  | "keepAlive"
  | "revokeLease"
  | "campaign"
  | "resign"
  | "leader"
  | "watch";

/**
 * What happens to a matched call:
 * - `slow`: it completes `delayMs` later on the injected clock;
 * - `unavailable`: it throws `CoordinatorError("unavailable")` and changes nothing;
 * - `compare_failed` (put, delete, txn with compares): a racing writer rewrites
 *   the first compared key just before the compares are checked, so they fail
 *   for real (its mod revision moved, watchers see the write);
 * - `lease_lost` (keepAlive): the store expires the lease first (its keys are
 *   deleted), so the keepalive finds it gone;
 * - `compacted` (watch, at a delivery): the store compacts to its current
 *   revision and the watch ends with a `"compacted"` batch instead of the events.
 */
export type CoordinatorFault =
  | "slow"
  | "unavailable"
  | "compare_failed"
  | "lease_lost"
  | "compacted";

/** One fault rule. */
export interface CoordinatorFaultRule {
  readonly op: CoordinatorOp;
  readonly fault: CoordinatorFault;
  /** `slow` only: the delay on the injected clock. */
  readonly delayMs?: number;
  /** Let this many matching calls through before the rule may fire (default 0). */
  readonly after?: number;
  /** Fire at most this many times (default: forever). */
  readonly times?: number;
  /** Fire with this probability, drawn from the seeded generator (default 1). */
  readonly probability?: number;
}

interface RuleState {
  readonly rule: CoordinatorFaultRule;
  seenCount: number;
  firedCount: number;
}

/** Matches calls against rules; the first rule that fires decides. */
export class CoordinatorFaults {
  #rules: RuleState[] = [];
  #rngState: number;
  /** How many faults fired, over all rules. */
  firedCount = 0;

  constructor(seed: number, rules: readonly CoordinatorFaultRule[] = []) {
    this.#rngState = seed >>> 0;
    for (const rule of rules) this.add(rule);
  }

  add(rule: CoordinatorFaultRule): void {
    this.#rules.push({ rule, seenCount: 0, firedCount: 0 });
  }

  clear(): void {
    this.#rules = [];
  }

  /** The rule that fires for this call of `op` with one of `faults`, if any. */
  check(op: CoordinatorOp, faults: readonly CoordinatorFault[]): CoordinatorFaultRule | undefined {
    for (const state of this.#rules) {
      const { rule } = state;
      if (rule.op !== op || !faults.includes(rule.fault)) continue;
      state.seenCount++;
      if (state.seenCount <= (rule.after ?? 0)) continue;
      if (state.firedCount >= (rule.times ?? Infinity)) continue;
      if (rule.probability !== undefined && this.#random() >= rule.probability) continue;
      state.firedCount++;
      this.firedCount++;
      return rule;
    }
    return undefined;
  }

  /** mulberry32: a uniform number in [0, 1). */
  #random(): number {
    this.#rngState = (this.#rngState + 0x6d2b79f5) >>> 0;
    let t = this.#rngState;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}
