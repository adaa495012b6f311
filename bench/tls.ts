/**
 * TLS against plaintext on one broker: a broker process with a PLAINTEXT and
 * an SSL listener (test certificates from `tests/interop/tls_certs.ts`, EC
 * P-256), and workload 1 (produce, 1 KiB records, 1 MiB batches, 4
 * connections × 2 in flight) and workload 4 (catch-up read by one consumer
 * from the page cache) run through each listener in turn by the load
 * generator (`bench/loadgen.ts`, TLS through `Deno.connectTls`). Round 0 is
 * a warm-up; the side that goes first alternates by round. The report gives
 * MB/s and broker CPU per GB on each side, TLS / plaintext as median
 * (min–max) over the measured rounds, and the bytes fetches sent by sendfile
 * and by copy (a TLS fetch must copy: sendfile cannot encrypt).
 *
 * Usage: `deno run -A bench/tls.ts [--quick] [--rounds N] [--runtimes deno,bun]`; writes
 * `bench/results/<date>-tls.json` and `.md`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { BrokerProcess, type BrokerVariant, PROJECT_ROOT } from "./broker_proc.ts";
import { runLoad } from "./procs.ts";
import {
  type Cell,
  consumeCatchUp,
  fillCatchUp,
  type LoadPlan,
  measureRunning,
  produce1k,
  type Scale,
} from "./workloads.ts";
import { makeTestCertificates } from "../tests/interop/tls_certs.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean" },
    rounds: { type: "string" },
    runtimes: { type: "string", default: "deno,bun" },
    out: { type: "string", default: join(PROJECT_ROOT, "bench/results") },
  },
});
const rounds = Number(flags.rounds ?? (flags.quick ? 1 : 2));
const runtimes = flags.runtimes!.split(",") as BrokerVariant["runtime"][];
const scale = flags.quick
  ? { produceMs: 1500, consumeBytes: 512 * 1024 * 1024 }
  : { produceMs: 5000, consumeBytes: 2 * 1024 * 1024 * 1024 };
const startedAt = new Date();
const SIDES = ["plaintext", "tls"] as const;
type Side = typeof SIDES[number];

function log(message: string): void {
  const sec = ((Date.now() - startedAt.getTime()) / 1000).toFixed(0).padStart(4);
  console.error(`[bench-tls ${sec}s] ${message}`);
}

/** `plan` aimed at one listener of `broker` (TLS specs carry the CA file). */
function through(broker: BrokerProcess, side: Side, caFile: string, plan: LoadPlan): LoadPlan {
  const target = broker.listenerBootstraps[side === "tls" ? "SSL" : "PLAINTEXT"];
  return () => plan(target).map((spec) => side === "tls" ? { ...spec, tlsCaFile: caFile } : spec);
}

/** Every measured cell of one runtime: workload × side × round. */
async function runRuntime(runtime: BrokerVariant["runtime"]): Promise<Cell[]> {
  const certs = await makeTestCertificates();
  const dataDir = await Deno.makeTempDir({ prefix: "denka-bench-tls-" });
  const variant: BrokerVariant = { runtime, writer: "pwrite", fetchPath: "sendfile" };
  const broker = await BrokerProcess.start(variant, dataDir, [
    "--listeners",
    "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0",
    "--tls-cert",
    certs.certFile,
    "--tls-key",
    certs.keyFile,
  ]);
  const cells: Cell[] = [];
  try {
    log(`${runtime}: filling the catch-up topic with ${scale.consumeBytes / 2 ** 20} MiB`);
    await runLoad(fillCatchUp(scale.consumeBytes)(broker.listenerBootstraps.PLAINTEXT));
    for (let round = 0; round <= rounds; round++) {
      const order = round % 2 === 0 ? SIDES : [...SIDES].reverse();
      const workloads: [string, (side: Side) => LoadPlan][] = [
        ["w1-produce", (side) => produce1k(scale as Scale, `tls-w1-${side}`)],
        ["w4-consume", () => consumeCatchUp(1)],
      ];
      for (const [workload, planOf] of workloads) {
        for (const side of order) {
          const plan = through(broker, side, certs.caFile, planOf(side));
          const cell = await measureRunning(workload, round, broker, plan);
          const named = { ...cell, variant: `${runtime}/${side}` };
          log(
            `r${round} ${workload} ${named.variant}: ${
              (cell.bytesPerSec / 1e6).toFixed(0)
            } MB/s, ` +
              `cpu ${
                cell.cpuSecPerGB?.toFixed(2)
              } s/GB, sendfile ${cell.sendfileBytes} B, copy ${cell.copyBytes} B` +
              (cell.errors ? `, errors ${cell.errors}` : ""),
          );
          if (round >= 1) cells.push(named);
        }
      }
    }
  } finally {
    await broker.stop();
    await Deno.remove(dataDir, { recursive: true });
    await Deno.remove(certs.dir, { recursive: true });
  }
  return cells;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function spread(values: number[], digits: number): string {
  const m = median(values).toFixed(digits);
  if (values.length < 2) return m;
  return `${m} (${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)})`;
}

/** The markdown table: one row per workload and runtime. */
function table(cells: Cell[]): string {
  const lines = [
    "| workload | runtime | plaintext MB/s | TLS MB/s | TLS / plaintext | CPU s/GB plaintext | CPU s/GB TLS | TLS fetch bytes: sendfile / copy |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const workload of ["w1-produce", "w4-consume"]) {
    for (const runtime of runtimes) {
      const side = (s: Side) =>
        cells.filter((c) => c.workload === workload && c.variant === `${runtime}/${s}`);
      const plain = side("plaintext"), tls = side("tls");
      if (plain.length === 0 || tls.length === 0) continue;
      const ratios = tls.map((c) =>
        c.bytesPerSec / plain.find((p) => p.round === c.round)!.bytesPerSec
      );
      const mbs = (cs: Cell[]) => spread(cs.map((c) => c.bytesPerSec / 1e6), 0);
      const cpu = (cs: Cell[]) => spread(cs.map((c) => c.cpuSecPerGB ?? NaN), 2);
      const sum = (f: (c: Cell) => number | undefined) => tls.reduce((a, c) => a + (f(c) ?? 0), 0);
      lines.push(
        `| ${workload} | ${runtime} | ${mbs(plain)} | ${mbs(tls)} | ${spread(ratios, 2)} | ${
          cpu(plain)
        } | ${cpu(tls)} | ${sum((c) => c.sendfileBytes)} / ${sum((c) => c.copyBytes)} |`,
      );
    }
  }
  return lines.join("\n");
}

const cells: Cell[] = [];
for (const runtime of runtimes) cells.push(...await runRuntime(runtime));
const markdown = `# TLS against plaintext (${startedAt.toISOString()})\n\n` +
  `${rounds} measured round(s) after a warm-up; ${
    flags.quick ? "--quick" : "full"
  } sizes (produce ${scale.produceMs} ms, catch-up ${scale.consumeBytes / 2 ** 20} MiB).\n\n` +
  `${table(cells)}\n`;
const stamp = startedAt.toISOString().replace(/:/g, "-").slice(0, 19);
await Deno.mkdir(flags.out!, { recursive: true });
await Deno.writeTextFile(
  join(flags.out!, `${stamp}-tls.json`),
  JSON.stringify({ flags, cells }, null, 1),
);
await Deno.writeTextFile(join(flags.out!, `${stamp}-tls.md`), markdown);
console.log(markdown);
