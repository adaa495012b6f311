/**
 * The fuzz suite standalone, for long runs:
 *
 * ```sh
 * deno run -A tests/fuzz/main.ts --seed 42 --seconds 600 [--runtime bun]
 *   [--families mutated,frame,...] [--case 17,230] [--stop-on-fatal] [--no-kcat]
 * ```
 *
 * Prints the seed, the case count, and every failure with its case index
 * and bytes (hex); `--case` replays chosen cases of a seed (the same bytes
 * but for record timestamps, which are the time of the run). Exits 1 when
 * anything failed.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { FAMILIES, type Family } from "./cases.ts";
import { formatFailure, runFuzz } from "./run.ts";

const { values } = parseArgs({
  args: Deno.args.filter((a) => a !== "--"), // `deno task fuzz -- --seed 1` passes the "--" on
  options: {
    seed: { type: "string" },
    seconds: { type: "string", default: "60" },
    runtime: { type: "string", default: "deno" },
    families: { type: "string" },
    case: { type: "string" },
    "stop-on-fatal": { type: "boolean", default: false },
    "no-kcat": { type: "boolean", default: false },
  },
});
const seed = values.seed !== undefined
  ? Number(values.seed) >>> 0
  : (Math.random() * 2 ** 32) >>> 0;
const runtime = values.runtime === "bun" ? "bun" : "deno";
const families = values.families?.split(",") as Family[] | undefined;
for (const f of families ?? []) {
  if (!FAMILIES.includes(f)) {
    throw new Error(`Unknown family "${f}"; known: ${FAMILIES.join(", ")}`);
  }
}
const only = values.case?.split(",").map(Number);
console.log(
  `fuzz: seed ${seed}, runtime ${runtime}, ${
    only ? `cases ${only.join(",")}` : `${values.seconds} s`
  }`,
);
const report = await runFuzz({
  seed,
  seconds: Number(values.seconds),
  runtime,
  families,
  only,
  stopOnFatal: values["stop-on-fatal"],
  kcat: !values["no-kcat"],
  log: (line) => console.log(line),
});
const byKind: Record<string, number> = {};
for (const f of report.failures) byKind[f.kind] = (byKind[f.kind] ?? 0) + 1;
console.log(
  `fuzz: seed ${report.seed}, runtime ${report.runtime}, ${report.cases} cases in ${
    (report.durationMs / 1000).toFixed(1)
  } s, per family ${
    JSON.stringify(report.perFamily)
  }, ${report.unanswered} unanswered within the case wait (well-formed: ${
    JSON.stringify(report.unansweredWellFormed)
  }), ` +
    `peak RSS ${
      Math.round(report.peakRssBytes / 1048576)
    } MiB, ${report.batchesReadBack} batches read back, ` +
    `${report.brokerStarts} broker start(s), ${report.failures.length} failures ${
      JSON.stringify(byKind)
    }`,
);
if (report.failures.length > 0 && only === undefined) {
  const indices = [...new Set(report.failures.filter((f) => f.index >= 0).map((f) => f.index))];
  if (indices.length > 0) {
    console.log(`replay: --seed ${report.seed} --case ${indices.slice(0, 50).join(",")}`);
  }
}
Deno.exit(report.failures.length > 0 ? 1 : 0);
export { formatFailure };
