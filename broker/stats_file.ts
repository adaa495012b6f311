/**
 * `--stats-file PATH`: lets a process outside the broker (the benchmark
 * harness) read the broker's counters without a protocol extension. On each
 * SIGUSR2, and once more at stop, the broker writes one JSON object to PATH
 * (written to `PATH.tmp`, then renamed, so a reader never sees half a file):
 *
 * ```json
 * {"seq": 3, "pid": 4242, "runtime": "deno", "counters": {"sendfileBytes": 0, ...}}
 * ```
 *
 * `seq` grows by one per write, so a reader that sent SIGUSR2 waits for a
 * `seq` above the one it saw before. Nothing runs between signals.
 *
 * @module
 */
import { renameSync, writeFileSync } from "node:fs";
import process from "node:process";
import type { BrokerCounters } from "./context.ts";

/** What {@linkcode installStatsFile} writes. */
export interface StatsSnapshot {
  /** 1 for the first write, then one more per write. */
  readonly seq: number;
  readonly pid: number;
  /** `"deno"` or `"bun"`. */
  readonly runtime: string;
  readonly counters: BrokerCounters;
}

/**
 * Installs the SIGUSR2 handler; returns a function that writes a final snapshot. A write
 * that fails on a signal goes to `onError` (the broker logs it and goes on) instead of
 * ending the process; the first write and the final one throw.
 */
export function installStatsFile(
  path: string,
  source: {
    readonly counters: BrokerCounters;
    readonly runtime: string;
    readonly onError?: (error: unknown) => void;
  },
): () => void {
  let seq = 0;
  const write = () => {
    seq++;
    const snapshot: StatsSnapshot = {
      seq,
      pid: process.pid,
      runtime: source.runtime,
      counters: { ...source.counters },
    };
    writeFileSync(`${path}.tmp`, JSON.stringify(snapshot));
    renameSync(`${path}.tmp`, path);
  };
  process.on("SIGUSR2", () => {
    try {
      write();
    } catch (error) {
      if (source.onError === undefined) throw error;
      source.onError(error);
    }
  });
  write(); // seq 1: the broker is listening
  return write;
}
