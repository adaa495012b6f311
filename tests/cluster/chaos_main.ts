/**
 * A longer chaos run for the figures:
 * `deno run -A tests/cluster/chaos_main.ts --rounds 30 [--partitions 3]
 * [--session-timeout-ms 3000] [--rate 200] [--faults kill-leader,cut-link,...] [--keep]`. Prints each round and the
 * checker's counts; exits 1 when anything was lost, duplicated, reordered,
 * vanished or diverged.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { FAULT_KINDS, type FaultKind, formatReport, runChaos } from "./chaos_run.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "30" },
    partitions: { type: "string", default: "3" },
    "session-timeout-ms": { type: "string", default: "3000" },
    rate: { type: "string", default: "200" },
    faults: { type: "string", default: FAULT_KINDS.join(",") },
    keep: { type: "boolean", default: false },
  },
});
const report = await runChaos({
  rounds: Number(values.rounds),
  partitions: Number(values.partitions),
  sessionTimeoutMs: Number(values["session-timeout-ms"]),
  ratePerS: Number(values.rate),
  keepData: values.keep,
  faults: values.faults.split(",").map((f) => {
    if (!(FAULT_KINDS as readonly string[]).includes(f)) throw new Error(`Unknown fault "${f}"`);
    return f as FaultKind;
  }),
  log: (line) => console.log(`${new Date().toISOString()} ${line}`),
});
console.log(formatReport(report));
const c = report.counts;
Deno.exit(c.lost + c.duplicated + c.outOfOrder + c.vanished + c.divergingReplicas === 0 ? 0 : 1);
