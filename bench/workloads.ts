/**
 * The workloads (shaped after the OpenMessaging Benchmark's) and how one
 * measurement ("cell") of a workload on one broker variant is taken:
 * fresh broker process, peak RSS reset, CPU and counters sampled around the
 * load, broker stopped cleanly.
 *
 * @module
 */
import { BrokerProcess, type BrokerVariant, variantName } from "./broker_proc.ts";
import type { LoadSpec } from "./loadgen.ts";
import { type MergedLoad, runLoad } from "./procs.ts";

/** One measurement. */
export interface Cell {
  readonly workload: string;
  /** `deno/pwrite/sendfile`, `ceiling`, or `target`. */
  readonly variant: string;
  readonly round: number;
  readonly bytesPerSec: number;
  readonly recordsPerSec: number;
  readonly errors: number;
  /** Broker CPU seconds (user + system) per GB of record bytes moved. */
  readonly cpuSecPerGB?: number;
  /** Broker CPU seconds per wall second during the load (1 = one core). */
  readonly cpuCores?: number;
  readonly peakRssBytes?: number;
  readonly rssBytes?: number;
  readonly sendfileBytes?: number;
  readonly copyBytes?: number;
  /** sendfile calls, and how many of them found the socket buffer full (each costs a poke). */
  readonly sendfileCalls?: number;
  readonly wouldBlock?: number;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  readonly p999Ms?: number;
  readonly startupMs?: number;
  readonly brokerStartupMs?: number;
}

/** The nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
}

/** A load to run: one spec per process, the broker's bootstrap filled in. */
export type LoadPlan = (target: string) => LoadSpec[];

/** Sizes that differ between `--quick` and a full run. */
export interface Scale {
  readonly produceMs: number;
  readonly consumeBytes: number;
  readonly latencyMs: number;
  readonly loopbackBytes: number;
  readonly startupDataBytes: number;
  readonly lightMs: number;
  /** Partitions of workload 6 (1,000; fewer in --quick: creating one costs ~40 ms of fsyncs). */
  readonly lightPartitions: number;
}

/** Workload 1: 1 KiB records, 16 partitions, 1 MiB batches, acks=1. */
export const produce1k = (s: Scale, topic = "w1-produce-1k"): LoadPlan => (target) => [{
  mode: "produce",
  target,
  topic,
  partitions: 16,
  recordBytes: 1024,
  batchBytes: 1024 * 1024,
  acks: 1,
  connections: 4,
  inFlight: 2,
  durationMs: s.produceMs,
}];

/**
 * Workload 1 with compressed batches (1 MiB of JSON-like 1 KiB records before compression):
 * what produce validation costs when every batch is inflated to check its records.
 */
export const produceCompressed = (s: Scale, codec: "lz4" | "zstd"): LoadPlan => (target) =>
  produce1k(s, `w1-produce-1k-${codec}`)(target).map((spec) => ({ ...spec, compression: codec }));

/** Workload 2a: 100-byte records, otherwise as workload 1. */
export const produce100 = (s: Scale): LoadPlan => (target) =>
  produce1k(s, "w2-produce-100b")(target).map((spec) => ({ ...spec, recordBytes: 100 }));

/**
 * Workload 2b: 50 producers (connections, in two processes) sending keyed
 * 1 KiB records; each request carries a 16 KiB batch for every one of the 16
 * partitions (Java's default batch.size), 5 in flight (max.in.flight).
 */
export const produce50 = (s: Scale): LoadPlan => (target) =>
  [0, 1].map(() => ({
    mode: "produce" as const,
    target,
    topic: "w2-produce-50",
    partitions: 16,
    recordBytes: 1024,
    batchBytes: 16 * 1024,
    keyed: true,
    partitionsPerRequest: 16,
    acks: 1,
    connections: 25,
    inFlight: 5,
    durationMs: s.produceMs,
  }));

/** Workload 3: 16 producers, acks=all, 64 KiB batches of 1 KiB records (run in sync flush mode). */
export const produceAcksAll = (s: Scale, acks: number): LoadPlan => (target) => [{
  mode: "produce",
  target,
  topic: `w3-acks-${acks === -1 ? "all" : acks}`,
  partitions: 16,
  recordBytes: 1024,
  batchBytes: 64 * 1024,
  acks,
  connections: 16,
  inFlight: 1,
  durationMs: s.produceMs,
}];

/** The catch-up topic of a run on brokers the bench starts (a fresh data directory). */
export const CATCH_UP_TOPIC = "w4-catchup";

/** Fills the catch-up topic with `totalBytes` of 1 MiB batches of 1 KiB records. */
export const fillCatchUp = (totalBytes: number, topic = CATCH_UP_TOPIC): LoadPlan => (target) => [{
  mode: "produce",
  target,
  topic,
  partitions: 16,
  recordBytes: 1024,
  batchBytes: 1024 * 1024,
  acks: 1,
  connections: 4,
  inFlight: 2,
  durationMs: 3_600_000,
  totalBytes,
}];

/** Workload 4: catch-up read of the whole topic by `consumers` processes sharing its partitions. */
export const consumeCatchUp = (consumers: number, topic = CATCH_UP_TOPIC): LoadPlan => (target) =>
  Array.from({ length: consumers }, (_, i) => ({
    mode: "consume" as const,
    target,
    topic,
    partitions: 16,
    skipCreate: true,
    assigned: Array.from({ length: 16 / consumers }, (_, j) => i + j * consumers),
    fetchMaxBytes: 64 * 1024 * 1024,
    partitionMaxBytes: 8 * 1024 * 1024,
  }));

/** Workload 5: end-to-end latency at a fixed rate (a 1 ms produce cadence, 1 KiB records). */
export const latencyAt = (s: Scale, rateBytesPerSec: number): LoadPlan => (target) => [{
  mode: "latency",
  target,
  // A fresh topic per run: the consumer starts at offset 0.
  topic: `w5-latency-${rateBytesPerSec / 1e6}-${crypto.randomUUID().slice(0, 8)}`,
  partitions: 16,
  recordBytes: 1024,
  rateBytesPerSec,
  intervalMs: 1,
  warmupMs: 1000,
  durationMs: s.latencyMs,
}];

/**
 * Workload 6: 1,000 partitions, light traffic: 1 MB/s of 1 KiB records, one
 * small batch per ms round robin (with 1,000 partitions, each gets a batch per
 * second), one long-poll consumer of all the partitions.
 */
export const lightTraffic = (s: Scale): LoadPlan => (target) => [{
  mode: "latency",
  target,
  topic: `w6-light-${s.lightPartitions}`,
  partitions: s.lightPartitions,
  recordBytes: 1024,
  rateBytesPerSec: 1e6,
  intervalMs: 1,
  warmupMs: 500,
  durationMs: s.lightMs,
}];

function cellOf(
  workload: string,
  variant: string,
  round: number,
  load: MergedLoad,
): Cell {
  return {
    workload,
    variant,
    round,
    bytesPerSec: load.bytesPerSec,
    recordsPerSec: load.recordsPerSec,
    errors: load.errors,
    ...(load.latenciesMs.length > 0
      ? {
        p50Ms: percentile(load.latenciesMs, 0.5),
        p99Ms: percentile(load.latenciesMs, 0.99),
        p999Ms: percentile(load.latenciesMs, 0.999),
      }
      : {}),
  };
}

/** Runs `plan` against any broker (no broker metrics). */
export async function measureTarget(
  workload: string,
  round: number,
  target: string,
  plan: LoadPlan,
): Promise<Cell> {
  return cellOf(workload, "target", round, await runLoad(plan(target)));
}

/**
 * Runs `plan` against a running `broker` (its peak RSS reset first) and takes
 * its CPU, RSS and counters around the load.
 */
export async function measureRunning(
  workload: string,
  round: number,
  broker: BrokerProcess,
  plan: LoadPlan,
): Promise<Cell> {
  broker.resetPeakRss();
  const countersBefore = await broker.counters();
  const before = broker.sample();
  const startedMs = performance.now();
  const load = await runLoad(plan(broker.bootstrap));
  const wallSec = (performance.now() - startedMs) / 1000;
  const after = broker.sample();
  const countersAfter = await broker.counters();
  const cpuSec = after.cpuSeconds - before.cpuSeconds;
  const movedGB = (load.recordBytes || 1) / 1e9;
  return {
    ...cellOf(workload, variantName(broker.variant), round, load),
    cpuSecPerGB: cpuSec / movedGB,
    cpuCores: cpuSec / wallSec,
    peakRssBytes: after.peakRssBytes,
    rssBytes: after.rssBytes,
    sendfileBytes: countersAfter.sendfileBytes - countersBefore.sendfileBytes,
    copyBytes: countersAfter.copyBytes - countersBefore.copyBytes,
    sendfileCalls: countersAfter.sendfileCalls - countersBefore.sendfileCalls,
    wouldBlock: countersAfter.wouldBlock - countersBefore.wouldBlock,
  };
}

/** Options of {@linkcode measureBroker}. */
export interface MeasureOptions {
  /** Load run first, not measured (fills a topic, creates partitions). */
  readonly setup?: LoadPlan;
  /** Idle time measured before the load (CPU at idle), ms. */
  readonly idleMs?: number;
  readonly extraArgs?: readonly string[];
}

/** Starts `variant` over `dataDir`, runs `plan` while sampling the broker, stops it. */
export async function measureBroker(
  workload: string,
  round: number,
  variant: BrokerVariant,
  dataDir: string,
  plan: LoadPlan,
  options: MeasureOptions = {},
): Promise<Cell & { idleCpuCores?: number; idleRssBytes?: number }> {
  const broker = await BrokerProcess.start(variant, dataDir, options.extraArgs);
  try {
    if (options.setup !== undefined) await runLoad(options.setup(broker.bootstrap));
    let idle: { idleCpuCores: number; idleRssBytes: number } | undefined;
    if (options.idleMs !== undefined) {
      const before = broker.sample();
      await new Promise((r) => setTimeout(r, options.idleMs));
      const after = broker.sample();
      idle = {
        idleCpuCores: (after.cpuSeconds - before.cpuSeconds) / (options.idleMs / 1000),
        idleRssBytes: after.rssBytes,
      };
    }
    return { ...await measureRunning(workload, round, broker, plan), ...idle };
  } catch (e) {
    throw new Error(
      `${workload} on ${variantName(variant)} failed: ${(e as Error).message}\n${broker.logTail}`,
    );
  } finally {
    await broker.stop();
  }
}

/** Start-up time and idle RSS of `variant` over `dataDir` (after a clean stop). */
export async function measureStartup(
  workload: string,
  round: number,
  variant: BrokerVariant,
  dataDir: string,
  idleMs: number,
): Promise<Cell> {
  const broker = await BrokerProcess.start(variant, dataDir);
  try {
    await new Promise((r) => setTimeout(r, idleMs));
    const s = broker.sample();
    return {
      workload,
      variant: variantName(variant),
      round,
      bytesPerSec: 0,
      recordsPerSec: 0,
      errors: 0,
      startupMs: broker.startupMs,
      brokerStartupMs: broker.brokerStartupMs,
      rssBytes: s.rssBytes,
      peakRssBytes: s.peakRssBytes,
    };
  } finally {
    await broker.stop();
  }
}
