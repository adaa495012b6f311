/**
 * Seeded, rule-based fault injection for the in-memory libc.
 *
 * @module
 */

import { Errno, IoError } from "./port.ts";

/** One fault rule: which calls fail, when, and how. */
export interface FaultRule {
  /** The `Libc` method name, e.g. `"pwrite"`, `"fdatasync"`, `"msync"`, `"fallocate"`. */
  readonly syscall: string;
  /** Only calls on a path containing this string (fd calls use the path the fd was opened with). */
  readonly pathIncludes?: string;
  /** Let this many matching calls through before the fault fires (default 0). */
  readonly after?: number;
  /** Fire this many times, then let calls through again (default: forever). */
  readonly times?: number;
  /** The errno to throw (default EIO). Ignored by `shortWrite`/`shortRead`. */
  readonly errno?: number;
  /** `pwrite` only: write a seeded-random part (at least 1 byte) and return the count. */
  readonly shortWrite?: boolean;
  /** `pread` only: read a seeded-random part (at least 1 byte) and return the count. */
  readonly shortRead?: boolean;
}

/** The fault rules a `memoryLibc` starts with. */
export type FaultPlan = readonly FaultRule[];

interface RuleState {
  readonly rule: FaultRule;
  seenCount: number;
  firedCount: number;
}

/** Matches calls against rules, in order; the first rule that fires decides. */
export class FaultInjector {
  #rules: RuleState[] = [];
  #rngState: number;
  firedCount = 0;

  constructor(seed: number, plan: FaultPlan) {
    this.#rngState = seed >>> 0;
    for (const rule of plan) this.add(rule);
  }

  add(rule: FaultRule): void {
    this.#rules.push({ rule, seenCount: 0, firedCount: 0 });
  }

  clear(): void {
    this.#rules = [];
  }

  /** Throws the rule's IoError, or returns a short-I/O rule for the caller to apply, or undefined. */
  check(syscall: string, path: string): FaultRule | undefined {
    for (const state of this.#rules) {
      const { rule } = state;
      if (rule.syscall !== syscall) continue;
      if (rule.pathIncludes !== undefined && !path.includes(rule.pathIncludes)) continue;
      state.seenCount++;
      if (state.seenCount <= (rule.after ?? 0)) continue;
      if (state.firedCount >= (rule.times ?? Infinity)) continue;
      state.firedCount++;
      this.firedCount++;
      if (rule.shortWrite || rule.shortRead) return rule;
      throw new IoError(syscall, rule.errno ?? Errno.EIO, path);
    }
    return undefined;
  }

  /** A part of `lengthBytes` in [1, lengthBytes - 1] (mulberry32). */
  shortLength(lengthBytes: number): number {
    if (lengthBytes <= 1) return lengthBytes;
    this.#rngState = (this.#rngState + 0x6d2b79f5) >>> 0;
    let t = this.#rngState;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const random = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return 1 + Math.floor(random * (lengthBytes - 1));
  }
}
