/**
 * The load generator: one process running one workload against `target`,
 * started by `bench/main.ts` as `deno run -A bench/loadgen.ts '<spec JSON>'`.
 * It prints one JSON line with its result on stdout. Times are wall-clock
 * milliseconds (`performance.timeOrigin + performance.now()`), so the
 * orchestrator can merge several load processes into one window.
 *
 * Modes:
 * - `produce`: pre-encoded produce frames, `inFlight` per connection, until
 *   `durationMs` has passed; counts acknowledged record bytes.
 * - `consume`: fetches its partitions from offset 0 until each reaches the
 *   high watermark; counts record bytes (records are not decoded).
 * - `latency`: produces one batch every `intervalMs` (round robin over the
 *   partitions) while a long-poll consumer reads them back; latency is from
 *   writing the produce request to reading the fetch response that carries
 *   the batch, matched by (partition, baseOffset).
 * - `blast`: writes produce frames back to back and expects no answer (the
 *   ingest ceiling's client).
 *
 * Consumers fetch in a fetch session (KIP-227, see `fetch_session.ts`), as
 * the Java client and franz-go do: a wake-up answers only the partitions that
 * got data, and the next fetch lists only those (full fetches below Fetch 7).
 *
 * Before the load, the process asks the broker for its ApiVersions and speaks
 * the highest version of each API both sides have (`client_versions.ts`), so
 * it drives Denka and Apache Kafka 2.x/3.x alike; `maxVersions` caps them.
 *
 * @module
 */
import { ErrorCode } from "../protocol/error_codes.ts";
import {
  buildBatch,
  decodeFetch,
  decodeProduceAcks,
  ensureTopic,
  type FetchedPartition,
  fetchFrame,
  type FetchOptions,
  type ProduceFrame,
  produceFrame,
  type TopicRef,
  ZERO_UUID,
} from "./client_ops.ts";
import {
  type ClientVersions,
  FETCH_SESSIONS_MIN_VERSION,
  type MaxVersions,
  negotiateVersions,
  newestVersions,
} from "./client_versions.ts";
import { FetchSessionClient } from "./fetch_session.ts";
import { BenchConnection } from "./kafka_client.ts";

/** Wall-clock milliseconds with sub-millisecond resolution. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

/** A workload spec, as `bench/main.ts` passes it. */
export interface LoadSpec {
  mode: "produce" | "consume" | "latency" | "blast";
  target: string;
  topic: string;
  /** Partitions of the topic (created when missing, except with `skipCreate`). */
  partitions: number;
  /** Partitions this process produces to or consumes (default: all). */
  assigned?: number[];
  skipCreate?: boolean;
  topicConfigs?: Record<string, string>;
  recordBytes?: number;
  batchBytes?: number;
  keyed?: boolean;
  /** Compressed batches (the figures then count compressed bytes on the wire). */
  compression?: "lz4" | "zstd";
  /** Batches per produce request: 1 (rotating partitions) or all assigned partitions. */
  partitionsPerRequest?: number;
  acks?: number;
  connections?: number;
  inFlight?: number;
  durationMs?: number;
  /** Stop producing after this many record bytes (per process). */
  totalBytes?: number;
  /** Produce mode: keep every request's send-to-acknowledgement time in `latenciesMs`. */
  ackLatencies?: boolean;
  // consume
  fetchMaxBytes?: number;
  partitionMaxBytes?: number;
  // latency
  rateBytesPerSec?: number;
  intervalMs?: number;
  /** Latency mode: traffic at the same rate before the measured window (JIT, first segments). */
  warmupMs?: number;
  /** Caps on the negotiated versions (`--max-versions`). */
  maxVersions?: MaxVersions;
  /** Versions to speak without asking (servers that answer no ApiVersions: the sink). */
  versions?: ClientVersions;
  /** Connect over TLS, verifying the broker with this PEM CA file (an SSL listener). */
  tlsCaFile?: string;
}

/** What a load process reports. */
export interface LoadResult {
  mode: string;
  startMs: number;
  endMs: number;
  recordBytes: number;
  records: number;
  requests: number;
  errors: number;
  /** Latency mode: every batch's latency in ms (sorted). */
  latenciesMs?: number[];
  /** Errors by Kafka code, for the report. */
  errorCodes?: Record<string, number>;
  /** The versions spoken. */
  versions?: ClientVersions;
}

/** What a mode needs besides its spec: the versions spoken and the topic's id. */
interface LoadContext {
  readonly versions: ClientVersions;
  readonly topic: TopicRef;
}

/** A connection to the spec's target, over TLS when it names a CA file. */
function connectTo(spec: LoadSpec): Promise<BenchConnection> {
  const tls = spec.tlsCaFile === undefined
    ? undefined
    : { caPem: Deno.readTextFileSync(spec.tlsCaFile) };
  return BenchConnection.connect(spec.target, tls);
}

function assignedOf(spec: LoadSpec): number[] {
  return spec.assigned ?? Array.from({ length: spec.partitions }, (_, i) => i);
}

async function produce(spec: LoadSpec, ctx: LoadContext): Promise<LoadResult> {
  const partitions = assignedOf(spec);
  const batch = buildBatch({
    recordBytes: spec.recordBytes ?? 1024,
    batchBytes: spec.batchBytes ?? 1024 * 1024,
    keyed: spec.keyed ?? false,
    compression: spec.compression,
  });
  const perRequest = spec.partitionsPerRequest ?? 1;
  const inFlight = spec.inFlight ?? 4;
  const connections = await Promise.all(
    Array.from({ length: spec.connections ?? 1 }, () => connectTo(spec)),
  );
  const result: LoadResult = {
    mode: "produce",
    startMs: 0,
    endMs: 0,
    recordBytes: 0,
    records: 0,
    requests: 0,
    errors: 0,
    errorCodes: {},
  };
  const durationMs = spec.durationMs ?? 5000;
  const totalBytes = spec.totalBytes ?? Infinity;
  const latencies = spec.ackLatencies ? [] as number[] : undefined;
  let sentBytes = 0;
  let rotate = 0;
  result.startMs = wallMs();
  const stopAtMs = result.startMs + durationMs;
  const slot = async (c: BenchConnection, frame: ProduceFrame): Promise<void> => {
    while (wallMs() < stopAtMs && sentBytes < totalBytes) {
      if (frame.partitionAt >= 0) {
        const p = partitions[rotate++ % partitions.length];
        new DataView(frame.frame.buffer).setInt32(frame.partitionAt, p);
      }
      sentBytes += frame.recordBytes;
      const sentMs = wallMs();
      const acked = new Promise<void>((resolve, reject) => {
        c.send(frame.frame, (body) => {
          if (body === undefined) return reject(c.failure ?? new Error("Connection closed"));
          if (latencies !== undefined) latencies.push(wallMs() - sentMs);
          for (const ack of decodeProduceAcks(body, ctx.versions.Produce)) {
            if (ack.errorCode !== ErrorCode.NONE) {
              result.errors++;
              result.errorCodes![ack.errorCode] = (result.errorCodes![ack.errorCode] ?? 0) + 1;
            }
          }
          result.recordBytes += frame.recordBytes;
          result.records += frame.records;
          result.requests++;
          result.endMs = wallMs();
          resolve();
        }).catch(reject);
      });
      await acked;
    }
  };
  const tasks: Promise<void>[] = [];
  connections.forEach((c, ci) => {
    for (let s = 0; s < inFlight; s++) {
      const group = perRequest === 1
        ? [partitions[(ci * inFlight + s) % partitions.length]]
        : partitions;
      const options = { acks: spec.acks ?? 1, version: ctx.versions.Produce };
      tasks.push(slot(c, produceFrame(spec.topic, group, batch, options)));
    }
  });
  await Promise.all(tasks);
  for (const c of connections) c.close();
  if (latencies !== undefined) result.latenciesMs = latencies.sort((a, b) => a - b);
  return result;
}

/**
 * Sends the session's next fetch for `wanted` (partition -> fetch offset) and
 * returns the answered partitions with the time the answer arrived, or
 * `undefined` after a session error (the next fetch is a full one).
 */
function fetchInSession(
  c: BenchConnection,
  topic: TopicRef,
  session: FetchSessionClient,
  wanted: ReadonlyMap<number, number>,
  options: FetchOptions & { wantBatches: boolean; version: number },
): Promise<{ partitions: FetchedPartition[]; receivedMs: number } | undefined> {
  const sent = session.next(wanted);
  const frame = fetchFrame(topic, sent, options);
  return new Promise((resolve, reject) => {
    c.send(frame, (body) => {
      if (body === undefined) return reject(c.failure ?? new Error("Connection closed"));
      const receivedMs = wallMs();
      try {
        const fetched = decodeFetch(body, options);
        const verdict = session.onResponse(sent, fetched);
        resolve(verdict === "retry" ? undefined : { partitions: fetched.partitions, receivedMs });
      } catch (e) {
        reject(e);
      }
    }).catch(reject);
  });
}

/** A fetch session client, or a sessionless one below Fetch 7. */
function sessionFor(versions: ClientVersions): FetchSessionClient {
  return new FetchSessionClient({ sessions: versions.Fetch >= FETCH_SESSIONS_MIN_VERSION });
}

async function consume(spec: LoadSpec, ctx: LoadContext): Promise<LoadResult> {
  const c = await connectTo(spec);
  const offsets = new Map(assignedOf(spec).map((p) => [p, 0]));
  const done = new Set<number>();
  const result: LoadResult = {
    mode: "consume",
    startMs: wallMs(),
    endMs: 0,
    recordBytes: 0,
    records: 0,
    requests: 0,
    errors: 0,
  };
  const options = {
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: spec.fetchMaxBytes ?? 64 * 1024 * 1024,
    partitionMaxBytes: spec.partitionMaxBytes ?? 8 * 1024 * 1024,
    wantBatches: false,
    version: ctx.versions.Fetch,
  };
  // A fetch session: partitions without news are left out of both directions;
  // finished ones are forgotten.
  const session = sessionFor(ctx.versions);
  while (done.size < offsets.size) {
    const pending = new Map([...offsets].filter(([p]) => !done.has(p)));
    const fetched = await fetchInSession(c, ctx.topic, session, pending, options);
    if (fetched === undefined) continue;
    for (const p of fetched.partitions) {
      if (p.errorCode !== ErrorCode.NONE) {
        result.errors++;
        done.add(p.partition);
        continue;
      }
      result.recordBytes += p.recordBytes;
      result.records += p.records;
      if (p.nextOffset >= 0) offsets.set(p.partition, p.nextOffset);
      if (offsets.get(p.partition)! >= p.highWatermark) done.add(p.partition);
    }
    result.requests++;
  }
  result.endMs = wallMs();
  c.close();
  return result;
}

async function latency(spec: LoadSpec, ctx: LoadContext): Promise<LoadResult> {
  const partitions = assignedOf(spec);
  const intervalMs = spec.intervalMs ?? 1;
  const batchBytes = Math.max(200, Math.round((spec.rateBytesPerSec ?? 10e6) * intervalMs / 1000));
  const batch = buildBatch({ recordBytes: spec.recordBytes ?? 1024, batchBytes, keyed: false });
  const producer = await connectTo(spec);
  const consumer = await connectTo(spec);
  const sentAtMs = new Map<string, number>();
  const seenAtMs = new Map<string, number>();
  const result: LoadResult = {
    mode: "latency",
    startMs: wallMs(),
    endMs: 0,
    recordBytes: 0,
    records: 0,
    requests: 0,
    errors: 0,
  };
  // Consumer: one long-poll fetch in flight, from offset 0 of each partition
  // (the topic is new), in a fetch session: a wake-up answers only the
  // partitions that got data, and the next fetch lists only those.
  const offsets = new Map(partitions.map((p) => [p, 0]));
  const session = sessionFor(ctx.versions);
  const fetchOptions = {
    maxWaitMs: 100,
    minBytes: 1,
    maxBytes: 64 * 1024 * 1024,
    partitionMaxBytes: 8 * 1024 * 1024,
    wantBatches: true,
    version: ctx.versions.Fetch,
  };
  let consuming = true;
  const consumeLoop = (async () => {
    while (consuming) {
      const fetched = await fetchInSession(consumer, ctx.topic, session, offsets, fetchOptions);
      if (fetched === undefined) continue;
      for (const p of fetched.partitions) {
        for (const [baseOffset] of p.batches) {
          seenAtMs.set(`${p.partition}:${baseOffset}`, fetched.receivedMs);
        }
        if (p.nextOffset >= 0) offsets.set(p.partition, p.nextOffset);
      }
    }
  })();
  // Producer: a batch every intervalMs on an absolute schedule (catching up when late).
  const produceOptions = { acks: 1, version: ctx.versions.Produce };
  const frames = Array.from(
    { length: 64 },
    () => produceFrame(spec.topic, [0], batch, produceOptions),
  );
  const acks: Promise<void>[] = [];
  const warmupCount = Math.floor((spec.warmupMs ?? 1000) / intervalMs);
  let measuredStartMs = result.startMs;
  let lastAckMs = result.startMs;
  const count = warmupCount + Math.floor((spec.durationMs ?? 5000) / intervalMs);
  for (let i = 0; i < count; i++) {
    const dueMs = result.startMs + i * intervalMs;
    const warmup = i < warmupCount;
    const waitMs = dueMs - wallMs();
    if (waitMs > 0.5) await new Promise((r) => setTimeout(r, waitMs));
    const f = frames[i % frames.length];
    const partition = partitions[i % partitions.length];
    new DataView(f.frame.buffer).setInt32(f.partitionAt, partition);
    if (acks.length >= frames.length) await acks[acks.length - frames.length];
    const sentMs = wallMs();
    if (i === warmupCount) measuredStartMs = sentMs;
    acks.push(
      new Promise<void>((resolve, reject) => {
        producer.send(f.frame, (body) => {
          if (body === undefined) return reject(producer.failure ?? new Error("Connection closed"));
          for (const ack of decodeProduceAcks(body, ctx.versions.Produce)) {
            if (ack.errorCode !== ErrorCode.NONE) result.errors++;
            else if (!warmup) sentAtMs.set(`${ack.partition}:${ack.baseOffset}`, sentMs);
          }
          if (warmup) return resolve();
          lastAckMs = wallMs();
          result.recordBytes += f.recordBytes;
          result.records += f.records;
          result.requests++;
          resolve();
        }).catch(reject);
      }),
    );
  }
  await Promise.all(acks);
  // Wait (bounded) for the consumer to see every acknowledged batch.
  const drainUntilMs = wallMs() + 5000;
  while (wallMs() < drainUntilMs && [...sentAtMs.keys()].some((k) => !seenAtMs.has(k))) {
    await new Promise((r) => setTimeout(r, 10));
  }
  consuming = false;
  result.startMs = measuredStartMs;
  result.endMs = lastAckMs;
  const latencies: number[] = [];
  for (const [key, sent] of sentAtMs) {
    const seen = seenAtMs.get(key);
    if (seen === undefined) result.errors++;
    else latencies.push(seen - sent);
  }
  result.latenciesMs = latencies.sort((a, b) => a - b);
  producer.close();
  consumer.close();
  await consumeLoop.catch(() => {});
  return result;
}

async function blast(spec: LoadSpec, ctx: LoadContext): Promise<LoadResult> {
  const batch = buildBatch({
    recordBytes: spec.recordBytes ?? 1024,
    batchBytes: spec.batchBytes ?? 1024 * 1024,
    keyed: false,
  });
  const f = produceFrame(spec.topic, [0], batch, { acks: 1, version: ctx.versions.Produce });
  const c = await connectTo(spec);
  const result: LoadResult = {
    mode: "blast",
    startMs: wallMs(),
    endMs: 0,
    recordBytes: 0,
    records: 0,
    requests: 0,
    errors: 0,
  };
  const stopAtMs = result.startMs + (spec.durationMs ?? 5000);
  while (wallMs() < stopAtMs) {
    await c.writeRaw(f.frame);
    result.recordBytes += f.recordBytes;
    result.requests++;
  }
  result.endMs = wallMs();
  c.close();
  return result;
}

/**
 * The versions to speak and the topic: ApiVersions and (unless the spec
 * says the topic exists and only produces to it) CreateTopics/Metadata on a
 * setup connection. The ingest server answers nothing: blast speaks the
 * newest versions unasked.
 */
async function prepare(spec: LoadSpec): Promise<LoadContext> {
  const talks = spec.mode !== "blast" && !(spec.mode === "produce" && spec.skipCreate);
  let versions = spec.versions ??
    (spec.mode === "blast" ? newestVersions(spec.maxVersions) : undefined);
  let topic: TopicRef = { name: spec.topic, topicId: ZERO_UUID };
  if (versions !== undefined && !talks) return { versions, topic };
  const c = await connectTo(spec);
  try {
    versions ??= await negotiateVersions(c, spec.maxVersions);
    if (talks) {
      topic = await ensureTopic(c, versions, { name: spec.topic, partitions: spec.partitions }, {
        create: !spec.skipCreate,
        configs: spec.topicConfigs,
      });
    }
    return { versions, topic };
  } finally {
    c.close();
  }
}

/** Runs `spec` in this process: versions and topic first, then the load. */
export async function runLoadSpec(spec: LoadSpec): Promise<LoadResult> {
  const ctx = await prepare(spec);
  const run = { produce, consume, latency, blast }[spec.mode];
  return { ...await run(spec, ctx), versions: ctx.versions };
}

if (import.meta.main) console.log(JSON.stringify(await runLoadSpec(JSON.parse(Deno.args[0]))));
