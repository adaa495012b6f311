/**
 * `deno task bench [-- --quick] [--target HOST:PORT | --compare HOST:PORT] [--rounds N]
 * [--runtimes deno,bun] [--max-versions Produce=8,Fetch=11]`
 *
 * Runs the suite: ceilings (loopback, ingest, load-generator sink) and the
 * workloads on every broker variant, interleaved round by round after one
 * discarded warm-up round, then writes `bench/results/<date>.json` and
 * `bench/results/<date>.md` (the table). Ratios are taken inside a round and
 * reported as the median over rounds, with min-max.
 *
 * With `--target`, only the client workloads run, against that broker; with
 * `--compare`, they run against a Denka the bench starts and against the
 * target, interleaved round by round, and the report gives Denka / target
 * (`compare.ts`). The load generator negotiates its versions with each broker
 * (`client_versions.ts`); `--max-versions` caps them in those two modes.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { denoCrc32c } from "../ffi/deno.ts";
import { crc32cJs } from "../protocol/record_batch.ts";
import { randomBytes } from "./client_ops.ts";
import { join } from "node:path";
import {
  brokerHasOption,
  BrokerProcess,
  type BrokerVariant,
  PROJECT_ROOT,
  variantName,
} from "./broker_proc.ts";
import { echoCeiling, loopbackCeiling, runLoad, startCeilingServer, syncCeiling } from "./procs.ts";
import { renderMarkdown, summarize } from "./report.ts";
import {
  type Cell,
  consumeCatchUp,
  fillCatchUp,
  latencyAt,
  lightTraffic,
  type LoadPlan,
  measureBroker,
  measureStartup,
  percentile,
  produce100,
  produce1k,
  produce50,
  produceAcksAll,
  produceCompressed,
  type Scale,
} from "./workloads.ts";
import { newestVersions, parseMaxVersions } from "./client_versions.ts";
import { runClientWorkloads, type Side, versionsNote } from "./compare.ts";

const QUICK: Scale = {
  produceMs: 1500,
  consumeBytes: 512 * 1024 * 1024,
  latencyMs: 1500,
  loopbackBytes: 1024 * 1024 * 1024,
  startupDataBytes: 512 * 1024 * 1024,
  lightMs: 1500,
  lightPartitions: 100,
};
const FULL: Scale = {
  produceMs: 5000,
  consumeBytes: 2 * 1024 * 1024 * 1024,
  latencyMs: 10_000,
  loopbackBytes: 2 * 1024 * 1024 * 1024,
  startupDataBytes: 10 * 1024 * 1024 * 1024,
  lightMs: 10_000,
  lightPartitions: 1000,
};

const { values: flags } = parseArgs({
  args: Deno.args.filter((a) => a !== "--"),
  options: {
    quick: { type: "boolean", default: false },
    target: { type: "string" },
    compare: { type: "string" },
    "max-versions": { type: "string" },
    rounds: { type: "string" },
    runtimes: { type: "string", default: "deno,bun" },
    only: { type: "string" },
    out: { type: "string", default: join(PROJECT_ROOT, "bench/results") },
    scratch: { type: "string" },
    /** Re-summarise a results JSON (after a change to `report.ts`) and rewrite its .md. */
    render: { type: "string" },
  },
});

if (flags.render !== undefined) {
  const saved = JSON.parse(await Deno.readTextFile(flags.render));
  saved.summary = summarize(saved.cells);
  await Deno.writeTextFile(flags.render, JSON.stringify(saved, null, 2) + "\n");
  await Deno.writeTextFile(flags.render.replace(/\.json$/, ".md"), renderMarkdown(saved));
  console.error(`re-rendered ${flags.render}`);
  Deno.exit(0);
}

const scale = flags.quick ? QUICK : FULL;
// --compare measures an even number of rounds by default, so each side goes first equally often.
const rounds = Number(flags.rounds ?? (flags.quick && flags.compare === undefined ? 1 : 2));
const runtimes = flags.runtimes.split(",") as BrokerVariant["runtime"][];
const only = flags.only?.split(",");
const wants = (w: string) => only === undefined || only.some((o) => w.startsWith(o));
const cells: Cell[] = [];
const notes: string[] = [];
const startedAt = new Date();
const maxVersions = flags["max-versions"] === undefined
  ? undefined
  : parseMaxVersions(flags["max-versions"]);
if (flags.target !== undefined && flags.compare !== undefined) {
  throw new Error("Give --target or --compare, not both");
}
/** The sink answers produce v9 and nothing else (no ApiVersions). */
const SINK_VERSIONS = { ...newestVersions(), Produce: 9 };

function log(message: string): void {
  const sec = ((Date.now() - startedAt.getTime()) / 1000).toFixed(0).padStart(4);
  console.error(`[bench ${sec}s] ${message}`);
}

function record(cell: Cell): void {
  if (cell.round >= 1) cells.push(cell);
  const mbs = (cell.bytesPerSec / 1e6).toFixed(0);
  const cpu = cell.cpuSecPerGB === undefined ? "" : ` cpu ${cell.cpuSecPerGB.toFixed(2)} s/GB`;
  const lat = cell.p99Ms === undefined
    ? ""
    : ` p50 ${cell.p50Ms!.toFixed(2)} p99 ${cell.p99Ms.toFixed(2)} ms`;
  log(
    `r${cell.round} ${cell.workload} ${cell.variant}: ${mbs} MB/s${cpu}${lat}${
      cell.errors ? ` errors ${cell.errors}` : ""
    }`,
  );
}

/** Rotates `items` by `round`, so no variant always runs first. */
function rotate<T>(items: readonly T[], round: number): T[] {
  const k = round % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

const scratch = flags.scratch ?? await Deno.makeTempDir({ prefix: "denka-bench-" });
let dirCounter = 0;
const freshDir = () => join(scratch, `d${dirCounter++}`);
const removeDir = (dir: string) => Deno.remove(dir, { recursive: true }).catch(() => {});

/** GB/s of a CRC-32C over a 16 MiB buffer for ~300 ms, in this process. */
function crcSpeed(fn: (bytes: Uint8Array) => number): number {
  const bytes = randomBytes(16 * 1024 * 1024);
  const startedMs = performance.now();
  let doneBytes = 0;
  while (performance.now() - startedMs < 300) {
    fn(bytes);
    doneBytes += bytes.length;
  }
  return doneBytes / ((performance.now() - startedMs) / 1000);
}

async function ceilings(round: number): Promise<void> {
  const nativeCrc = denoCrc32c();
  const crcs: [string, (b: Uint8Array) => number][] = [["js", (b) => crc32cJs(b)]];
  if (nativeCrc !== undefined) crcs.push(["isa-l", (b) => nativeCrc(b, 0)]);
  for (const [variant, fn] of crcs) {
    const bytesPerSec = crcSpeed(fn);
    record({
      workload: "ceiling-crc32c",
      variant,
      round,
      bytesPerSec,
      recordsPerSec: 0,
      errors: 0,
    });
  }
  const loopback = await loopbackCeiling(scale.loopbackBytes);
  record({
    workload: "ceiling-loopback",
    variant: "js",
    round,
    bytesPerSec: loopback,
    recordsPerSec: 0,
    errors: 0,
  });
  if (wants("w3")) {
    // Workload 3's shape on the disk alone: 16 partitions, 64 KiB per fdatasync.
    record({
      workload: "ceiling-sync-64k",
      variant: "js",
      round,
      bytesPerSec: await syncCeiling(scratch, 16, 64 * 1024, scale.produceMs),
      recordsPerSec: 0,
      errors: 0,
    });
  }
  if (wants("w5")) {
    // Workload 5's network path alone at 50 MB/s: a 50,000-byte message a ms, echoed back.
    const roundTripsMs = await echoCeiling(50_000, 1, scale.latencyMs);
    record({
      workload: "ceiling-echo-50MBps",
      variant: "js",
      round,
      bytesPerSec: 0,
      recordsPerSec: 0,
      errors: 0,
      p50Ms: percentile(roundTripsMs, 0.5),
      p99Ms: percentile(roundTripsMs, 0.99),
      p999Ms: percentile(roundTripsMs, 0.999),
    });
  }
  const ingestFile = join(scratch, `ingest-${round}.dat`);
  const ingest = await startCeilingServer("ingest", [ingestFile]);
  await runLoad(
    produce1k(scale)(ingest.target).map((s) => ({ ...s, mode: "blast" as const, connections: 1 })),
  );
  const r = await ingest.result;
  await removeDir(ingestFile);
  record({
    workload: "ceiling-ingest",
    variant: "js",
    round,
    bytesPerSec: r.bytes / ((r.endMs - r.startMs) / 1000),
    recordsPerSec: 0,
    errors: 0,
  });
  for (
    const [name, plan] of [["sink-produce-1k", produce1k(scale)], [
      "sink-produce-50",
      produce50(scale),
    ]] as const
  ) {
    const sink = await startCeilingServer("sink");
    const load = await runLoad(
      plan(sink.target).map((s) => ({ ...s, skipCreate: true, versions: SINK_VERSIONS })),
    );
    sink.stop();
    record({
      workload: `ceiling-${name}`,
      variant: "loadgen",
      round,
      bytesPerSec: load.bytesPerSec,
      recordsPerSec: load.recordsPerSec,
      errors: load.errors,
    });
  }
}

const clientRunOptions = {
  rounds,
  scale,
  maxVersions,
  wants,
  record,
};

async function targetRun(target: string): Promise<void> {
  const side = { variant: "target", bootstrap: target };
  notes.push(await versionsNote(side, maxVersions));
  await runClientWorkloads([side], clientRunOptions);
}

/** Denka (the first runtime's default variant, started here) and `target`, interleaved. */
async function compareRun(target: string): Promise<void> {
  const variant = {
    runtime: runtimes[0],
    writer: "pwrite" as const,
    fetchPath: "sendfile" as const,
  };
  const dir = freshDir();
  const broker = await BrokerProcess.start(variant, dir);
  try {
    const sides: Side[] = [
      { variant: variantName(variant), bootstrap: broker.bootstrap, broker },
      { variant: "target", bootstrap: target },
    ];
    log(`comparing ${sides[0].variant} at ${broker.bootstrap} with ${target}`);
    notes.push(
      `Denka (${sides[0].variant}) was started by the bench at ${broker.bootstrap} over a fresh ` +
        `data directory and ran for the whole comparison, as the target did; each workload ran on ` +
        "both in turn, Denka first in even rounds and the target first in odd ones.",
    );
    for (const side of sides) notes.push(await versionsNote(side, maxVersions));
    await runClientWorkloads(sides, clientRunOptions);
  } catch (e) {
    throw new Error(`${(e as Error).message}\nDenka's log:\n${broker.logTail}`);
  } finally {
    await broker.stop();
    await removeDir(dir);
  }
}

async function syncFlushArgs(): Promise<string[] | undefined> {
  for (const name of ["flush-mode", "flush", "sync-mode", "durability"]) {
    if (await brokerHasOption(name)) return [`--${name}`, "sync"];
  }
  return undefined;
}

async function brokerRun(): Promise<void> {
  const writers: BrokerVariant["writer"][] = ["pwrite", "mmap"];
  const fetchPaths: BrokerVariant["fetchPath"][] = ["sendfile", "copy"];
  const produceVariants: BrokerVariant[] = runtimes.flatMap((runtime) =>
    writers.map((writer) => ({ runtime, writer, fetchPath: "sendfile" as const }))
  );
  // The JS CRC-32C beside the hardware one, on the default broker.
  produceVariants.push({
    runtime: runtimes[0],
    writer: "pwrite",
    fetchPath: "sendfile",
    crc: "js",
  });
  const consumeVariants = runtimes.flatMap((runtime) =>
    fetchPaths.map((fetchPath) => ({ runtime, writer: "pwrite" as const, fetchPath }))
  );
  const defaults = runtimes.map((runtime) => ({
    runtime,
    writer: "pwrite" as const,
    fetchPath: "sendfile" as const,
  }));
  const sync = await syncFlushArgs();
  if (sync === undefined) {
    notes.push(
      "Workload 3 (acks=all, sync flush) skipped: this broker has no sync flush option yet (issue 4).",
    );
  }
  // The catch-up data set, written once by the default broker.
  const catchUpDir = freshDir();
  if (wants("w4") || wants("w7")) {
    log(`filling the catch-up topic with ${scale.consumeBytes / 2 ** 20} MiB`);
    await measureBroker("fill", -1, defaults[0], catchUpDir, fillCatchUp(scale.consumeBytes));
  }
  // Workload 6's partitions, created once (about 40 ms of fsyncs each); every
  // cell restarts a broker on them, so the idle figures are those of a broker
  // that opened them at start-up.
  const lightDir = freshDir();
  if (wants("w6")) {
    log(`creating the ${scale.lightPartitions} partitions of workload 6`);
    await measureBroker(
      "create",
      -1,
      defaults[0],
      lightDir,
      (target) =>
        lightTraffic(scale)(target).map((s) => ({ ...s, mode: "produce" as const, durationMs: 0 })),
    );
  }
  for (let round = 0; round <= rounds; round++) {
    log(`round ${round}${round === 0 ? " (warm-up, discarded)" : ""}`);
    // --quick warms up the ceilings, produce and consume paths only.
    const short = flags.quick && round === 0;
    if (wants("ceiling")) await ceilings(round);
    const produceSet = ([
      ["w1-produce-1k", produce1k(scale), produceVariants],
      [
        "w2-produce-100b",
        produce100(scale),
        round === 0 || flags.quick ? defaults : produceVariants,
      ],
      ["w2-produce-50", produce50(scale), round === 0 || flags.quick ? defaults : produceVariants],
      ["w1-produce-1k-lz4", produceCompressed(scale, "lz4"), defaults],
      ["w1-produce-1k-zstd", produceCompressed(scale, "zstd"), defaults],
    ] as [string, LoadPlan, BrokerVariant[]][]).filter(([name]) =>
      !short || name === "w1-produce-1k"
    );
    for (const [name, plan, variants] of produceSet) {
      if (!wants(name)) continue;
      for (const v of rotate(variants, round)) {
        const dir = freshDir();
        record(await measureBroker(name, round, v, dir, plan));
        await removeDir(dir);
      }
    }
    if (sync !== undefined && wants("w3") && !short) {
      for (const v of rotate(defaults, round)) {
        for (const acks of [1, -1]) {
          const dir = freshDir();
          record(
            await measureBroker(
              `w3-sync-acks-${acks === -1 ? "all" : "1"}`,
              round,
              v,
              dir,
              produceAcksAll(scale, acks),
              { extraArgs: sync },
            ),
          );
          await removeDir(dir);
        }
      }
    }
    if (wants("w4")) {
      for (const v of rotate(short ? defaults : consumeVariants, round)) {
        record(await measureBroker("w4-consume-1", round, v, catchUpDir, consumeCatchUp(1)));
        record(await measureBroker("w4-consume-4", round, v, catchUpDir, consumeCatchUp(4)));
      }
    }
    for (const rate of [10e6, 50e6]) {
      const name = `w5-latency-${rate / 1e6}MBps`;
      if (!wants(name) || short) continue;
      for (const v of rotate(defaults, round)) {
        const dir = freshDir();
        record(await measureBroker(name, round, v, dir, latencyAt(scale, rate)));
        await removeDir(dir);
      }
    }
    if (wants("w6") && !short) {
      for (const v of rotate(defaults, round)) {
        const cell = await measureBroker(
          `w6-${scale.lightPartitions}-partitions`,
          round,
          v,
          lightDir,
          lightTraffic(scale),
          { idleMs: flags.quick ? 1000 : 2000 },
        );
        record(cell);
      }
    }
    if (wants("w7") && !short) {
      for (const v of rotate(defaults, round)) {
        const empty = freshDir();
        record(await measureStartup("w7-startup-empty", round, v, empty, 1000));
        await removeDir(empty);
      }
    }
  }
  if (wants("w7")) {
    // Grow the catch-up data set to the start-up size, then start each runtime on it after a clean stop.
    const more = scale.startupDataBytes - scale.consumeBytes;
    if (more > 0) {
      log(`growing the data set to ${scale.startupDataBytes / 2 ** 30} GiB`);
      await measureBroker("fill", -1, defaults[0], catchUpDir, fillCatchUp(more));
    }
    for (let round = flags.quick ? 1 : 0; round <= rounds; round++) {
      for (const v of rotate(defaults, round)) {
        record(await measureStartup("w7-startup-data", round, v, catchUpDir, 1000));
      }
    }
  }
  await removeDir(catchUpDir);
  await removeDir(lightDir);
}

async function machine(): Promise<Record<string, string>> {
  const read = (p: string) => Deno.readTextFile(p).catch(() => "");
  const cpu = /model name\s*:\s*(.+)/.exec(await read("/proc/cpuinfo"))?.[1] ?? "?";
  const cores = (await read("/proc/cpuinfo")).match(/^processor/gm)?.length ?? 0;
  const memKiB = Number(/MemTotal:\s+(\d+)/.exec(await read("/proc/meminfo"))?.[1] ?? 0);
  const load = (await read("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
  return {
    cpu: `${cores} × ${cpu}`,
    memory: `${(memKiB / 2 ** 20).toFixed(0)} GiB`,
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    loadAverageAtStart: load,
  };
}

const machineInfo = await machine();
log(
  `scratch ${scratch}; ${flags.quick ? "quick" : "full"} run, ${rounds} round(s) after a warm-up`,
);
try {
  if (flags.target !== undefined) await targetRun(flags.target);
  else if (flags.compare !== undefined) await compareRun(flags.compare);
  else await brokerRun();
} finally {
  if (flags.scratch === undefined) await removeDir(scratch);
}
const summary = summarize(cells);
const stamp = startedAt.toISOString().replace(/:/g, "-").replace(/\..*/, "");
const base = join(
  flags.out,
  `${stamp}${flags.quick ? "-quick" : ""}${flags.target ? "-target" : ""}${
    flags.compare ? "-compare" : ""
  }`,
);
const report = {
  startedAt: startedAt.toISOString(),
  durationSec: (Date.now() - startedAt.getTime()) / 1000,
  options: {
    quick: flags.quick,
    rounds,
    runtimes,
    target: flags.target ?? null,
    compare: flags.compare ?? null,
    maxVersions: maxVersions ?? null,
    scale,
  },
  machine: {
    ...machineInfo,
    loadAverageAtEnd: (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" "),
  },
  notes,
  summary,
  cells,
};
await Deno.mkdir(flags.out, { recursive: true });
await Deno.writeTextFile(`${base}.json`, JSON.stringify(report, null, 2) + "\n");
const markdown = renderMarkdown(report);
await Deno.writeTextFile(`${base}.md`, markdown);
console.log(markdown);
log(`wrote ${base}.json and ${base}.md`);
