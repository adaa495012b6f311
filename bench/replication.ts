/**
 * Replication figures on in-process brokers (one process, loopback sockets,
 * temporary data directories): how fast a new follower catches up with a
 * leader's log (MB/s), and produce throughput with acks=all on three brokers
 * (replication factor 3, min.insync.replicas 2) against one broker with
 * acks=1, with the same producers; plus the process CPU per GB. Every broker
 * shares the one JS thread here, so the replicated figure is a floor: a real
 * cluster runs each broker on its own core.
 *
 * ```sh
 * node_modules/.bin/deno run --allow-all bench/replication.ts [--catchup-mib 256] [--seconds 5] [--producers 8]
 * ```
 *
 * @module
 */
import process from "node:process";
import type { Broker } from "../broker/broker.ts";
import { BrokerClient } from "../broker/cluster/broker_client.ts";
import { loadRuntime } from "../ffi/load.ts";
import { produceApi } from "../protocol/messages/mod.ts";
import { encodeRecordBatch } from "../protocol/records.ts";
import {
  type ReplicatedBrokers,
  startReplicatedBrokers,
} from "../tests/cluster/replicated_brokers.ts";

const TOPIC = "bench";
const MIB = 1024 * 1024;

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** A batch of `count` records of `valueBytes` each. */
function batchOf(count: number, valueBytes: number): Uint8Array {
  const value = new Uint8Array(valueBytes).map((_, i) => (i * 7) & 0xff);
  return encodeRecordBatch(
    Array.from({ length: count }, (_, i) => ({ key: null, value, timestampMs: 1000 + i })),
  );
}

function startCluster(nodeIds: number[], minIsr: number): Promise<ReplicatedBrokers> {
  return startReplicatedBrokers(nodeIds, {
    topic: TOPIC,
    minIsr,
    fetchBackoffMs: 1000,
    replication: nodeIds.length > 1,
  });
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Appends `mib` MiB to broker 1's log, then times broker 2 catching up from nothing. */
async function catchUp(mib: number): Promise<Record<string, number>> {
  const cluster = await startCluster([1, 2], 1);
  try {
    const leader = cluster.brokers.get(1)!;
    const state = cluster.isr.set({
      topic: TOPIC,
      partition: 0,
      replicas: [1, 2],
      leader: 1,
      leaderEpoch: 1,
      isr: [1],
    });
    cluster.apply(state, [1]);
    const log = leader.topics.partition(TOPIC, 0)!.log;
    const template = batchOf(1024, 1000); // ~1 MiB
    for (let i = 0; i < mib; i++) {
      log.append(template.slice(), { nowMs: Date.now(), leaderEpoch: 1 });
    }
    const follower = cluster.brokers.get(2)!.topics.partition(TOPIC, 0)!.log;
    const bytes = log.sizeBytes;
    const cpu0 = cpuMs();
    const t0 = performance.now();
    cluster.apply(state, [2]);
    while (follower.logEndOffset < log.logEndOffset) {
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpuSeconds = (cpuMs() - cpu0) / 1000;
    return {
      catchUpMiB: bytes / MIB,
      catchUpSeconds: seconds,
      catchUpMBps: bytes / 1e6 / seconds,
      catchUpCpuSecondsPerGB: cpuSeconds / (bytes / 1e9),
    };
  } finally {
    await cluster.close();
  }
}

/** `producers` loops, one request in flight each, for `seconds`; returns MB/s and CPU/GB. */
async function produceLoad(
  broker: Broker,
  options: { producers: number; seconds: number; acks: number; batch: Uint8Array },
): Promise<{ mbps: number; cpuSecondsPerGB: number; errors: number }> {
  const runtime = await loadRuntime();
  const clients = await Promise.all(
    Array.from(
      { length: options.producers },
      () =>
        BrokerClient.connect(runtime, { host: "127.0.0.1", port: broker.address.port }, "bench"),
    ),
  );
  let bytes = 0;
  let errors = 0;
  const cpu0 = cpuMs();
  const t0 = performance.now();
  const endMs = t0 + options.seconds * 1000;
  await Promise.all(clients.map(async (c) => {
    while (performance.now() < endMs) {
      const r = await c.request(produceApi, 9, {
        transactionalId: null,
        acks: options.acks,
        timeoutMs: 30_000,
        topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: options.batch.slice() }] }],
      });
      if (r.responses[0].partitionResponses[0].errorCode !== 0) errors++;
      else bytes += options.batch.length;
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  const cpuSeconds = (cpuMs() - cpu0) / 1000;
  for (const c of clients) c.close();
  return { mbps: bytes / 1e6 / seconds, cpuSecondsPerGB: cpuSeconds / (bytes / 1e9), errors };
}

async function main(): Promise<void> {
  const producers = option("producers", 8);
  const seconds = option("seconds", 5);
  const batch = batchOf(64, 1000); // ~64 KiB
  const results: Record<string, number> = { ...(await catchUp(option("catchup-mib", 256))) };

  const single = await startCluster([1], 1);
  try {
    const r = await produceLoad(single.brokers.get(1)!, { producers, seconds, acks: 1, batch });
    results.singleAcks1MBps = r.mbps;
    results.singleAcks1CpuSecondsPerGB = r.cpuSecondsPerGB;
  } finally {
    await single.close();
  }

  const three = await startCluster([1, 2, 3], 2);
  try {
    three.apply(three.isr.set({
      topic: TOPIC,
      partition: 0,
      replicas: [1, 2, 3],
      leader: 1,
      leaderEpoch: 1,
      isr: [1, 2, 3],
    }));
    const r = await produceLoad(three.brokers.get(1)!, { producers, seconds, acks: -1, batch });
    results.replicatedAcksAllMBps = r.mbps;
    results.replicatedAcksAllCpuSecondsPerGB = r.cpuSecondsPerGB;
    results.replicatedErrors = r.errors;
  } finally {
    await three.close();
  }
  results.replicatedOverSingle = results.replicatedAcksAllMBps / results.singleAcks1MBps;
  console.log(
    JSON.stringify({ producers, seconds, batchBytes: batch.length, ...results }, null, 2),
  );
}

if (import.meta.main) await main();
