/**
 * Connection limits at scale (issue 10, items 5-7), against a broker
 * subprocess (`deno run main.ts` / `bun run main.ts`) whose RSS is read from
 * `/proc/<pid>/status` (VmRSS, and VmHWM for peaks):
 *
 * - `idle`: 10,000 connections, each answered one ApiVersions request, then
 *   left idle: RSS per connection; then all closed and RSS 30 s later
 *   against RSS at start.
 * - `pipeline`: one connection writes 2 GiB of acks=0 Produce requests
 *   (1 MiB batches) without reading anything: peak RSS against idle RSS +
 *   `queued.max.request.bytes`.
 * - `bigframes`: eight connections each send one 100 MB frame at once.
 * - `slow`: 500 connections send a size prefix and nothing else while a
 *   producer (acks=1, one request in flight) goes on: when they are closed,
 *   and the producer's requests and worst latency meanwhile.
 *
 * `deno run -A bench/conn_limits.ts [deno|bun ...] [idle|pipeline|bigframes|slow ...]`
 * (default: every runtime and scenario). Prints one JSON line per result.
 *
 * @module
 */
import { BrokerProcess, type BrokerVariant } from "./broker_proc.ts";
import { BenchConnection, encodeRequestFrame } from "./kafka_client.ts";
import { buildBatch, ensureTopic, produceFrame } from "./client_ops.ts";
import { newestVersions } from "./client_versions.ts";
import { apiVersionsApi } from "../protocol/messages/mod.ts";

const IDLE_CONNECTION_COUNT = 10_000;
const CONNECT_BATCH = 250;
const SETTLE_MS = 3_000;
const AFTER_CLOSE_MS = 30_000;
const PIPELINE_BYTES = 2 * 1024 ** 3;
const PIPELINE_BATCH_BYTES = 1024 * 1024;
const BIG_FRAME_BYTES = 100_000_000;
const BIG_FRAME_COUNT = 8;
const SLOW_CONNECTION_COUNT = 500;
const QUEUED_MAX_REQUEST_BYTES_DEFAULT = 104857600;
const MIB = 1024 * 1024;
const VERSIONS = newestVersions();
const PRODUCE_VERSION = VERSIONS.Produce;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const mib = (bytes: number) => Math.round(bytes / MIB * 10) / 10;

/** The broker's open file descriptors (`/proc/<pid>/fd`). */
function openFdCount(pid: number): number {
  let count = 0;
  for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) count++;
  return count;
}

function report(result: Record<string, unknown>): void {
  console.log(JSON.stringify(result));
}

async function connect(bootstrap: string): Promise<Deno.TcpConn> {
  const at = bootstrap.lastIndexOf(":");
  return await Deno.connect({
    hostname: bootstrap.slice(0, at),
    port: Number(bootstrap.slice(at + 1)),
  });
}

/** Reads exactly one size-prefixed response (small: ApiVersions). */
async function readOneFrame(conn: Deno.TcpConn): Promise<void> {
  const buffer = new Uint8Array(4096);
  let filled = 0;
  for (;;) {
    const n = await conn.read(buffer.subarray(filled));
    if (n === null) throw new Error("The broker closed the connection");
    filled += n;
    if (filled >= 4 && filled >= 4 + new DataView(buffer.buffer).getInt32(0)) return;
  }
}

async function writeAll(conn: Deno.TcpConn, bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.length;) done += await conn.write(bytes.subarray(done));
}

async function startBroker(runtime: "deno" | "bun", extraArgs: string[] = []) {
  const variant: BrokerVariant = { runtime, writer: "pwrite", fetchPath: "sendfile" };
  const dataDir = await Deno.makeTempDir({ prefix: "denka-conn-limits-" });
  const broker = await BrokerProcess.start(variant, dataDir, extraArgs);
  return {
    broker,
    async stop() {
      await broker.stop();
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}

async function idle(runtime: "deno" | "bun"): Promise<void> {
  const { broker, stop } = await startBroker(runtime);
  try {
    const apiVersions = encodeRequestFrame(apiVersionsApi, 3, {
      clientSoftwareName: "conn-limits",
      clientSoftwareVersion: "1",
    });
    // Warm up: one connection's worth of code paths before the start figure.
    const warm = await connect(broker.bootstrap);
    await writeAll(warm, apiVersions);
    await readOneFrame(warm);
    warm.close();
    await sleep(SETTLE_MS);
    const startRss = broker.sample().rssBytes;
    const conns: Deno.TcpConn[] = [];
    for (let i = 0; i < IDLE_CONNECTION_COUNT; i += CONNECT_BATCH) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(CONNECT_BATCH, IDLE_CONNECTION_COUNT - i) }, async () => {
          const c = await connect(broker.bootstrap);
          await writeAll(c, apiVersions);
          await readOneFrame(c);
          return c;
        }),
      );
      conns.push(...batch);
    }
    await sleep(SETTLE_MS);
    const openRss = broker.sample().rssBytes;
    for (const c of conns) c.close();
    const counters = await waitFor(broker, (c) => c.connectionsOpen === 0);
    await sleep(AFTER_CLOSE_MS);
    const afterRss = broker.sample().rssBytes;
    report({
      scenario: "idle",
      runtime,
      connections: IDLE_CONNECTION_COUNT,
      startRssMiB: mib(startRss),
      openRssMiB: mib(openRss),
      perConnectionKiB: Math.round((openRss - startRss) / IDLE_CONNECTION_COUNT / 1024 * 10) / 10,
      rssMiB30sAfterClose: mib(afterRss),
      afterCloseVsStart: Math.round(afterRss / startRss * 100) / 100,
      connectionsAccepted: counters.connectionsAccepted,
    });
  } finally {
    await stop();
  }
}

async function waitFor(
  broker: BrokerProcess,
  done: (c: Record<string, number>) => boolean,
): Promise<Record<string, number>> {
  const deadlineMs = Date.now() + 120_000;
  for (;;) {
    const counters = await broker.counters();
    if (done(counters)) return counters;
    if (Date.now() > deadlineMs) throw new Error(`Condition not met: ${JSON.stringify(counters)}`);
    await sleep(200);
  }
}

async function pipeline(runtime: "deno" | "bun"): Promise<void> {
  const { broker, stop } = await startBroker(runtime);
  try {
    const setup = await BenchConnection.connect(broker.bootstrap);
    await ensureTopic(setup, VERSIONS, { name: "pipeline", partitions: 1 }, { create: true });
    setup.close();
    await sleep(SETTLE_MS);
    const idleRss = broker.sample().rssBytes;
    broker.resetPeakRss();
    const { frame } = produceFrame(
      "pipeline",
      [0],
      buildBatch({ recordBytes: 1024, batchBytes: PIPELINE_BATCH_BYTES, keyed: false }),
      { acks: 0, version: PRODUCE_VERSION },
    );
    const frameCount = Math.ceil(PIPELINE_BYTES / frame.length);
    const before = await broker.counters();
    const conn = await connect(broker.bootstrap);
    let maxRss = 0;
    const sampler = setInterval(() => {
      maxRss = Math.max(maxRss, broker.sample().rssBytes);
    }, 50);
    const startedMs = performance.now();
    for (let i = 0; i < frameCount; i++) await writeAll(conn, frame); // never reads
    const counters = await waitFor(broker, (c) => c.requests >= before.requests + frameCount);
    const tookMs = performance.now() - startedMs;
    clearInterval(sampler);
    const peakRss = broker.sample().peakRssBytes;
    conn.close();
    report({
      scenario: "pipeline",
      runtime,
      sentMiB: mib(frameCount * frame.length),
      frames: frameCount,
      idleRssMiB: mib(idleRss),
      peakRssMiB: mib(Math.max(peakRss, maxRss)),
      boundMiB: mib(2 * idleRss + QUEUED_MAX_REQUEST_BYTES_DEFAULT),
      queuedRequestBytesPeakMiB: mib(counters.queuedRequestBytesPeak),
      mibPerSec: Math.round(frameCount * frame.length / MIB / (tookMs / 1000)),
    });
  } finally {
    await stop();
  }
}

async function bigFrames(runtime: "deno" | "bun"): Promise<void> {
  const { broker, stop } = await startBroker(runtime);
  try {
    await sleep(SETTLE_MS);
    const idleRss = broker.sample().rssBytes;
    broker.resetPeakRss();
    const frame = new Uint8Array(4 + BIG_FRAME_BYTES);
    new DataView(frame.buffer).setInt32(0, BIG_FRAME_BYTES);
    frame.set([0, 0, 0, 9], 4); // Produce v9, then garbage: closed once read whole
    const conns = await Promise.all(
      Array.from({ length: BIG_FRAME_COUNT }, () => connect(broker.bootstrap)),
    );
    await Promise.all(conns.map(async (c) => {
      await writeAll(c, frame).catch(() => {});
      await c.read(new Uint8Array(16)).catch(() => null); // until the broker hangs up
      c.close();
    }));
    const peakRss = broker.sample().peakRssBytes;
    await sleep(AFTER_CLOSE_MS);
    report({
      scenario: "bigframes",
      runtime,
      frames: BIG_FRAME_COUNT,
      frameMB: BIG_FRAME_BYTES / 1e6,
      idleRssMiB: mib(idleRss),
      peakRssMiB: mib(peakRss),
      rssMiB30sAfter: mib(broker.sample().rssBytes),
    });
  } finally {
    await stop();
  }
}

async function slow(runtime: "deno" | "bun"): Promise<void> {
  const { broker, stop } = await startBroker(runtime);
  try {
    const producer = await BenchConnection.connect(broker.bootstrap);
    await ensureTopic(producer, VERSIONS, { name: "slow", partitions: 1 }, { create: true });
    const { frame } = produceFrame(
      "slow",
      [0],
      buildBatch({ recordBytes: 1024, batchBytes: 16 * 1024, keyed: false }),
      { acks: 1, version: PRODUCE_VERSION },
    );
    const fdsBefore = openFdCount(broker.pid);
    const prefix = new Uint8Array(4);
    new DataView(prefix.buffer).setInt32(0, 1000);
    const startedMs = performance.now();
    const closedAtMs: number[] = [];
    const slowConns = await Promise.all(
      Array.from({ length: SLOW_CONNECTION_COUNT }, () => connect(broker.bootstrap)),
    );
    const fdsOpen = openFdCount(broker.pid);
    const allClosed = Promise.all(slowConns.map(async (c) => {
      await writeAll(c, prefix);
      await c.read(new Uint8Array(16)).catch(() => null);
      closedAtMs.push(performance.now() - startedMs);
      c.close();
    }));
    let done = false;
    allClosed.then(() => done = true);
    let produced = 0;
    let worstMs = 0;
    let worstAtMs = 0;
    while (!done) {
      const sentMs = performance.now();
      await new Promise<void>((resolve, reject) => {
        producer.send(frame, (body) => body === undefined ? reject(new Error("closed")) : resolve())
          .catch(reject);
      });
      if (performance.now() - sentMs > worstMs) {
        worstMs = performance.now() - sentMs;
        worstAtMs = sentMs - startedMs;
      }
      produced++;
    }
    report({
      scenario: "slow",
      runtime,
      connections: SLOW_CONNECTION_COUNT,
      firstClosedS: Math.round(Math.min(...closedAtMs) / 100) / 10,
      lastClosedS: Math.round(Math.max(...closedAtMs) / 100) / 10,
      producedMeanwhile: produced,
      worstProduceLatencyMs: Math.round(worstMs),
      worstAtS: Math.round(worstAtMs / 100) / 10,
      brokerFdsBefore: fdsBefore,
      brokerFdsWithSlowOpen: fdsOpen,
      brokerFdsAfter: openFdCount(broker.pid),
    });
  } finally {
    await stop();
  }
}

const scenarios = { idle, pipeline, bigframes: bigFrames, slow } as const;
const args = Deno.args;
const runtimes = (["deno", "bun"] as const).filter((r) =>
  !args.some((a) => a === "deno" || a === "bun") || args.includes(r)
);
const names = (Object.keys(scenarios) as (keyof typeof scenarios)[]).filter((n) =>
  !args.some((a) => a in scenarios) || args.includes(n)
);
for (const name of names) {
  for (const runtime of runtimes) await scenarios[name](runtime);
}
