/**
 * The cluster benchmark, on real processes: a real etcd (Debian's
 * `etcd-server`) and three broker processes (`main.ts --node-id N --etcd
 * URL`), against one broker process without etcd. In one run:
 *
 * 1. Replicated produce: a topic with replication factor 3 and
 *    `min.insync.replicas=2`, acks=all, each load process producing to the
 *    partitions one broker leads; against one broker with acks=1 and the same
 *    load (same processes, connections, records and batches). 1 KiB and 64
 *    KiB records. MB/s, produce latency p50/p99 (request to acknowledgement),
 *    and broker CPU seconds per GB produced, summed over every broker
 *    (`/proc/<pid>/stat`).
 * 2. Follower catch-up (`cluster_catchup.ts`): MB/s of a follower resumed
 *    after missing `--catchup-mib` of produce.
 * 3. Failover (`cluster_failover.ts`): SIGKILL of a partition leader to the
 *    first produce acknowledged by its successor, under a producer retrying
 *    continuously; several kills with the default and a short
 *    `--broker-session-timeout-ms`.
 *
 * Usage: `deno run -A bench/cluster.ts [--quick] [--seconds N] [--kills N]
 * [--catchup-mib N] [--short-session-ms N] [--runtime deno|bun]`; writes
 * `bench/results/<date>-cluster.json` and `.md`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { BrokerProcess, type BrokerVariant, PROJECT_ROOT } from "./broker_proc.ts";
import { runLoad } from "./procs.ts";
import type { LoadSpec } from "./loadgen.ts";
import { percentile } from "./workloads.ts";
import { BenchCluster } from "./cluster_nodes.ts";
import { type CatchUpResult, measureCatchUp } from "./cluster_catchup.ts";
import { type FailoverSample, measureFailovers } from "./cluster_failover.ts";
import { clusterMarkdown, type ClusterResults, type ProduceCell } from "./cluster_report.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean" },
    seconds: { type: "string" },
    rounds: { type: "string" },
    kills: { type: "string" },
    "catchup-mib": { type: "string" },
    "short-session-ms": { type: "string", default: "2000" },
    runtime: { type: "string", default: "deno" },
    out: { type: "string", default: join(PROJECT_ROOT, "bench/results") },
  },
});
/** The brokers' default `broker.session.timeout.ms` (`broker/config.ts`). */
const DEFAULT_SESSION_MS = 9000;
const BROKERS = 3;
const PARTITIONS = 12;
const scale = {
  produceMs: Number(flags.seconds ?? (flags.quick ? 3 : 10)) * 1000,
  rounds: Number(flags.rounds ?? (flags.quick ? 1 : 2)),
  /** The unmeasured window before each record size's rounds. */
  warmupMs: 1000,
  kills: Number(flags.kills ?? (flags.quick ? 2 : 5)),
  catchUpBytes: Number(flags["catchup-mib"] ?? (flags.quick ? 256 : 1024)) * 2 ** 20,
  shortSessionMs: Number(flags["short-session-ms"]),
};
const variant: BrokerVariant = {
  runtime: flags.runtime as BrokerVariant["runtime"],
  writer: "pwrite",
  fetchPath: "sendfile",
};
const RECORD_SIZES = [1024, 64 * 1024];
/** The window in which the brokers' idle CPU is sampled (a measurement, not a synchronisation). */
const IDLE_WINDOW_MS = 3000;
const startedAt = new Date();
/** What went wrong on the way that the figures do not show (brokers that would not stop). */
const notes: string[] = [];

function log(message: string): void {
  const sec = ((Date.now() - startedAt.getTime()) / 1000).toFixed(0).padStart(4);
  console.error(`[bench-cluster ${sec}s] ${message}`);
}

/** The load: one process per group of partitions, 2 connections × 2 in flight each. */
function produceSpecs(
  groups: { target: string; assigned: number[] }[],
  topic: string,
  recordBytes: number,
  acks: number,
): LoadSpec[] {
  return groups.map(({ target, assigned }) => ({
    mode: "produce",
    target,
    topic,
    partitions: PARTITIONS,
    assigned,
    skipCreate: true,
    recordBytes,
    batchBytes: 1024 * 1024,
    acks,
    connections: 2,
    inFlight: 2,
    durationMs: scale.produceMs,
    ackLatencies: true,
  }));
}

/** A warm-up window (JIT, first segments), then `scale.rounds` measured windows. */
async function measureProduce(
  setup: ProduceCell["setup"],
  recordBytes: number,
  specs: LoadSpec[],
  cpuSeconds: () => number,
): Promise<ProduceCell[]> {
  const idleCores = await idleCpuCores(cpuSeconds);
  await runLoad(specs.map((s) => ({ ...s, durationMs: scale.warmupMs })));
  const cells: ProduceCell[] = [];
  for (let round = 1; round <= scale.rounds; round++) {
    const cell = await measureWindow(setup, recordBytes, specs, cpuSeconds, round);
    cells.push({ ...cell, idleCores });
  }
  return cells;
}

/** The brokers' CPU per wall second with no client load (timers, keepalives, replica fetches). */
async function idleCpuCores(cpuSeconds: () => number): Promise<number> {
  const cpu0 = cpuSeconds();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, IDLE_WINDOW_MS));
  return (cpuSeconds() - cpu0) / ((performance.now() - t0) / 1000);
}

async function measureWindow(
  setup: ProduceCell["setup"],
  recordBytes: number,
  specs: LoadSpec[],
  cpuSeconds: () => number,
  round: number,
): Promise<Omit<ProduceCell, "idleCores">> {
  const cpu0 = cpuSeconds();
  const load = await runLoad(specs);
  const cpuSec = cpuSeconds() - cpu0;
  const cell = {
    setup,
    round,
    recordBytes,
    bytesPerSec: load.bytesPerSec,
    p50Ms: percentile(load.latenciesMs, 0.5),
    p99Ms: percentile(load.latenciesMs, 0.99),
    cpuSecPerGB: cpuSec / (load.recordBytes / 1e9),
    cpuCores: cpuSec / load.elapsedSec,
    errors: load.errors,
  };
  log(
    `r${round} ${setup}, ${recordBytes} B records: ${
      (cell.bytesPerSec / 1e6).toFixed(0)
    } MB/s, p50 ${cell.p50Ms.toFixed(1)} ms, p99 ${cell.p99Ms.toFixed(1)} ms, ${
      cell.cpuSecPerGB.toFixed(2)
    } CPU s/GB, ${cell.cpuCores.toFixed(2)} cores, errors ${cell.errors}`,
  );
  return cell;
}

/** One broker without etcd, acks=1: the three load processes split its partitions. */
async function singleBroker(): Promise<ProduceCell[]> {
  const dataDir = await Deno.makeTempDir({ prefix: "denka-bench-cluster-single-" });
  const broker = await BrokerProcess.start(variant, dataDir);
  const cells: ProduceCell[] = [];
  try {
    for (const recordBytes of RECORD_SIZES) {
      const topic = `single-${recordBytes}`;
      const groups = Array.from({ length: BROKERS }, (_, g) => ({
        target: broker.bootstrap,
        assigned: Array.from({ length: PARTITIONS }, (_, p) => p).filter((p) => p % BROKERS === g),
      }));
      // The first process creates the topic (CreateTopics with replication factor 1).
      const specs = produceSpecs(groups, topic, recordBytes, 1);
      await runLoad([{ ...specs[0], skipCreate: false, durationMs: 1, ackLatencies: false }]);
      cells.push(
        ...await measureProduce(
          "single acks=1",
          recordBytes,
          specs,
          () => broker.sample().cpuSeconds,
        ),
      );
    }
  } finally {
    await broker.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
  return cells;
}

/** Three brokers, replication factor 3, min.insync.replicas 2, acks=all; then failovers. */
async function replicated(): Promise<{ cells: ProduceCell[]; failovers: FailoverSample[] }> {
  const cluster = await BenchCluster.start(variant, BROKERS);
  const cells: ProduceCell[] = [];
  try {
    log(`cluster up: brokers ${cluster.bootstraps.join(", ")}, etcd ${cluster.etcd.clientUrl}`);
    for (const recordBytes of RECORD_SIZES) {
      const topic = `replicated-${recordBytes}`;
      const view = await cluster.createTopic(topic, PARTITIONS, { "min.insync.replicas": "2" });
      const groups = cluster.nodeIds.map((id) => ({
        target: cluster.broker(id).bootstrap,
        assigned: view.partitions.filter((p) => p.leader === id).map((p) => p.partition),
      })).filter((g) => g.assigned.length > 0);
      const specs = produceSpecs(groups, topic, recordBytes, -1);
      cells.push(
        ...await measureProduce(
          "cluster rf=3 acks=all",
          recordBytes,
          specs,
          () => cluster.cpuSeconds(),
        ),
      );
    }
    log(`failover, broker.session.timeout.ms ${DEFAULT_SESSION_MS} (default)`);
    const failovers = await measureFailovers(cluster, "failover", scale.kills, log);
    return { cells, failovers };
  } finally {
    notes.push(...await cluster.close());
  }
}

/** Failovers on a cluster with a short session timeout. */
async function shortSessionFailovers(): Promise<FailoverSample[]> {
  const cluster = await BenchCluster.start(variant, BROKERS, [
    "--broker-session-timeout-ms",
    String(scale.shortSessionMs),
  ]);
  try {
    log(`failover, broker.session.timeout.ms ${scale.shortSessionMs}`);
    return await measureFailovers(cluster, "failover", scale.kills, log);
  } finally {
    notes.push(...await cluster.close());
  }
}

/** Catch-up on a cluster whose lease outlasts the stopped follower's pause. */
async function catchUp(): Promise<CatchUpResult> {
  const cluster = await BenchCluster.start(variant, BROKERS, [
    "--broker-session-timeout-ms",
    "120000",
  ]);
  try {
    await cluster.createTopic("catchup", PARTITIONS, {});
    const result = await measureCatchUp(cluster, "catchup", BROKERS, scale.catchUpBytes, log);
    log(
      `catch-up: broker ${result.follower} copied ${(result.bytes / 2 ** 20).toFixed(0)} MiB in ${
        result.seconds.toFixed(2)
      } s = ${(result.bytesPerSec / 1e6).toFixed(0)} MB/s (first byte after ${
        result.firstByteMs.toFixed(0)
      } ms)`,
    );
    return result;
  } finally {
    notes.push(...await cluster.close());
  }
}

const single = await singleBroker();
const { cells: replicatedCells, failovers: defaultFailovers } = await replicated();
const shortFailovers = await shortSessionFailovers();
const catchUpResult = await catchUp();
const results: ClusterResults = {
  startedAt: startedAt.toISOString(),
  flags,
  scale,
  variant,
  produce: [...single, ...replicatedCells],
  catchUp: catchUpResult,
  failover: [
    { sessionTimeoutMs: DEFAULT_SESSION_MS, samples: defaultFailovers },
    { sessionTimeoutMs: scale.shortSessionMs, samples: shortFailovers },
  ],
  loadAverage: Deno.loadavg(),
  notes,
};
const markdown = clusterMarkdown(results);
const stamp = startedAt.toISOString().replace(/:/g, "-").slice(0, 19);
await Deno.mkdir(flags.out!, { recursive: true });
await Deno.writeTextFile(
  join(flags.out!, `${stamp}-cluster.json`),
  JSON.stringify(results, null, 1),
);
await Deno.writeTextFile(join(flags.out!, `${stamp}-cluster.md`), markdown);
console.log(markdown);
