/**
 * One chaos run (shared by `chaos_test.ts` and `chaos_main.ts`): a
 * {@linkcode ChaosCluster}, a topic with replication factor 3 and
 * `min.insync.replicas=2`, an idempotent acks=all producer and a
 * read_uncommitted consumer running throughout, and a bounded loop of faults,
 * one per round, in turn:
 *
 * - `kill-leader`: SIGKILL a partition's leader, time its successor's first
 *   acknowledgement, start it again;
 * - `pause-leader`: SIGSTOP a partition's leader until the others see its
 *   registration expire, then SIGCONT;
 * - `cut-link` / `blackhole-link`: cut (or blackhole) the replication link
 *   into a leader for one session timeout, then heal;
 * - `restart-etcd`;
 * - `cut-then-kill-leader`: cut the link into a leader so that it appends
 *   what its followers never get, SIGKILL it, heal, and start it again: its
 *   uncommitted tail must be truncated by leader epoch when it follows.
 *
 * After each round the cluster must settle (every broker up, every ISR
 * full). At the end the producer flushes, the consumer catches up, the
 * brokers stop, and {@linkcode checkChaos} reads every replica's files.
 *
 * @module
 */
import { ChaosCluster } from "./chaos_cluster.ts";
import { checkChaos, type CheckCounts, readReplicaLog, type ReplicaLog } from "./chaos_checker.ts";
import { ChaosConsumer, ChaosProducer } from "./chaos_clients.ts";
import { withConnection } from "../interop/raw_client.ts";
import { listOffsetsApi } from "../../protocol/messages/mod.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";

/** The faults, one per round, in this order. */
export const FAULT_KINDS = [
  "kill-leader",
  "pause-leader",
  "cut-link",
  "restart-etcd",
  "blackhole-link",
  "cut-then-kill-leader",
] as const;
export type FaultKind = typeof FAULT_KINDS[number];

/** Bound of a settle, a failover, a registration expiring (a loaded 2-core box). */
const WAIT_MS = 60_000;
/**
 * Acknowledgements received this soon after the killed leader is confirmed dead may be its
 * last answers still in the socket; the successor's first one comes later.
 */
const IN_FLIGHT_GRACE_MS = 50;

/** Options of {@linkcode runChaos}. */
export interface ChaosOptions {
  readonly rounds: number;
  readonly partitions: number;
  /** broker.session.timeout.ms of every broker. */
  readonly sessionTimeoutMs: number;
  /** Messages per second of the producer. */
  readonly ratePerS: number;
  /** The faults to take turns (default every one of {@linkcode FAULT_KINDS}). */
  readonly faults?: readonly FaultKind[];
  /** Keep the brokers' logs and data directories (their path is logged). */
  readonly keepData?: boolean;
  /** Progress lines. */
  readonly log: (line: string) => void;
}

/** What a run found. */
export interface ChaosReport {
  readonly rounds: number;
  readonly faults: Record<string, number>;
  readonly counts: CheckCounts;
  /** Per SIGKILL of a leader: ms from the kill to its successor's first acknowledgement. */
  readonly failoverMs: number[];
  /** Delivery reports that were errors, and messages never delivered. */
  readonly producerErrors: number;
  readonly undelivered: number;
}

const TOPIC = "chaos";

/** Runs the chaos (see the module doc); the cluster is torn down whatever happens. */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const cluster = await ChaosCluster.start({
    brokerCount: 3,
    sessionTimeoutMs: options.sessionTimeoutMs,
  });
  let producer: ChaosProducer | undefined;
  let consumer: ChaosConsumer | undefined;
  let failed = false;
  try {
    await cluster.createTopic(TOPIC, options.partitions, { "min.insync.replicas": "2" });
    await cluster.waitSettled(TOPIC, WAIT_MS);
    const spec = { bootstrap: cluster.bootstrap, topic: TOPIC, partitions: options.partitions };
    producer = new ChaosProducer({ ...spec, ratePerS: options.ratePerS, flushTimeoutS: 30 });
    consumer = new ChaosConsumer(spec);
    await within(producer.nextAck(() => true), WAIT_MS, "the first acknowledgement");
    const faults: Record<string, number> = {};
    const failoverMs: number[] = [];
    for (let round = 0; round < options.rounds; round++) {
      const kinds = options.faults ?? FAULT_KINDS;
      const kind = kinds[round % kinds.length];
      const partition = round % options.partitions;
      faults[kind] = (faults[kind] ?? 0) + 1;
      const took = await fault(cluster, producer, kind, partition);
      if (took !== undefined) failoverMs.push(took);
      await cluster.waitSettled(TOPIC, WAIT_MS);
      options.log(
        `round ${round + 1}/${options.rounds}: ${kind} (partition ${partition})${
          took === undefined ? "" : `, successor's first ack after ${took} ms`
        }; ${producer.acks.length} acknowledged so far`,
      );
    }
    const producerExit = await producer.stop();
    const undelivered = producer.undelivered;
    if (producerExit !== 0 || undelivered === -1) {
      throw new Error(
        `The producer exited with code ${producerExit} without its summary:\n${
          producer.stderr.join("\n")
        }`,
      );
    }
    const views = await cluster.waitSettled(TOPIC, WAIT_MS);
    const highWatermarks = new Map<number, number>();
    for (const v of views) {
      highWatermarks.set(v.partition, await highWatermark(cluster, v.leader, v.partition));
    }
    await cluster.waitUntil(
      "the consumer at the high watermark",
      () =>
        Promise.resolve(
          views.every((v) =>
            consumer!.seen.some((r) =>
              r.partition === v.partition && r.offset === highWatermarks.get(v.partition)! - 1
            ) ||
            highWatermarks.get(v.partition) === 0
          ),
        ),
      WAIT_MS,
    );
    await consumer.stop();
    for (const b of cluster.brokers) await cluster.stopBroker(b.nodeId);
    const partitions = new Map<number, { leader: number; logs: Map<number, ReplicaLog> }>();
    for (const v of views) {
      const logs = new Map<number, ReplicaLog>();
      for (const b of cluster.brokers) {
        logs.set(
          b.nodeId,
          readReplicaLog(b.dataDir, TOPIC, v.partition, highWatermarks.get(v.partition)!),
        );
      }
      partitions.set(v.partition, { leader: v.leader, logs });
    }
    const counts = checkChaos({ acknowledged: producer.acks, seen: consumer.seen, partitions });
    return {
      rounds: options.rounds,
      faults,
      counts,
      failoverMs,
      producerErrors: producer.errors.length,
      undelivered,
    };
  } catch (error) {
    failed = true;
    const tails = cluster.brokers.map((b) =>
      `--- broker ${b.nodeId}:\n${cluster.logTail(b.nodeId)}`
    );
    const clients = `--- producer stderr:\n${producer?.stderr.join("\n")}\n--- consumer stderr:\n${
      consumer?.stderr.join("\n")
    }`;
    throw new Error(
      `${(error as Error).message} (logs and data kept in ${cluster.root})\n${
        tails.join("\n")
      }\n${clients}`,
      {
        cause: error,
      },
    );
  } finally {
    await producer?.stop().catch(() => {});
    await consumer?.stop().catch(() => {});
    const keep = failed || options.keepData === true;
    if (keep) options.log(`logs and data kept in ${cluster.root}`);
    await cluster.close(keep);
  }
}

/** Applies one fault; for a killed leader, returns ms to its successor's first ack. */
async function fault(
  cluster: ChaosCluster,
  producer: ChaosProducer,
  kind: FaultKind,
  partition: number,
): Promise<number | undefined> {
  const views = await cluster.partitions(1, TOPIC);
  const leader = views[partition].leader;
  switch (kind) {
    case "kill-leader": {
      const killedAtMs = Date.now();
      await cluster.signal(leader, "SIGKILL");
      const deadAtMs = Date.now();
      const ack = await within(
        producer.nextAck((a) =>
          a.partition === partition && a.atMs > deadAtMs + IN_FLIGHT_GRACE_MS
        ),
        WAIT_MS,
        `an acknowledgement of partition ${partition} after its leader ${leader} was killed`,
      );
      await cluster.restart(leader);
      return ack.atMs - killedAtMs;
    }
    case "pause-leader": {
      await cluster.signal(leader, "SIGSTOP");
      const other = cluster.brokers.find((b) => b.nodeId !== leader)!.nodeId;
      await cluster.waitUntil(`broker ${leader}'s registration to expire`, async () => {
        const m = await cluster.metadata(other, []).catch(() => undefined);
        return m !== undefined && !m.brokers.some((b) => b.nodeId === leader);
      }, WAIT_MS);
      await cluster.signal(leader, "SIGCONT");
      return undefined;
    }
    case "cut-link":
    case "blackhole-link": {
      const proxy = cluster.broker(leader).proxy;
      if (kind === "cut-link") proxy.cut();
      else proxy.blackhole();
      // The fault's length is the chaos itself, not a wait for an event.
      await new Promise((resolve) => setTimeout(resolve, cluster.sessionTimeoutMs));
      proxy.heal();
      return undefined;
    }
    case "cut-then-kill-leader": {
      const proxy = cluster.broker(leader).proxy;
      proxy.cut();
      const appended = producer.acks.length;
      // The fault's length is the chaos itself: let the leader append what no follower gets.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await cluster.signal(leader, "SIGKILL");
      proxy.heal();
      await within(
        producer.nextAck((a) => a.partition === partition),
        WAIT_MS,
        `an acknowledgement of partition ${partition} after its cut-off leader ${leader} was killed (${appended} before)`,
      );
      await cluster.restart(leader);
      return undefined;
    }
    case "restart-etcd":
      await cluster.etcd.restart();
      return undefined;
  }
}

/** ListOffsets LATEST (read_uncommitted) from the leader: its high watermark. */
async function highWatermark(cluster: ChaosCluster, leader: number, partition: number) {
  const response = await withConnection(
    `127.0.0.1:${cluster.broker(leader).clientPort}`,
    (c) =>
      c.request(listOffsetsApi, 7, {
        replicaId: -1,
        isolationLevel: 0,
        timeoutMs: 0,
        topics: [{
          name: TOPIC,
          partitions: [{
            partitionIndex: partition,
            currentLeaderEpoch: -1,
            timestamp: -1,
            maxNumOffsets: 1,
          }],
        }],
      }),
  );
  const p = response.topics[0].partitions[0];
  if (p.errorCode !== ErrorCode.NONE) {
    throw new Error(
      `ListOffsets of partition ${partition} from broker ${leader} failed with error ${p.errorCode}`,
    );
  }
  return Number(p.offset);
}

async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** The report in a few lines. */
export function formatReport(report: ChaosReport): string {
  const c = report.counts;
  const sorted = [...report.failoverMs].sort((a, b) => a - b);
  const failover = sorted.length === 0
    ? "none"
    : `${sorted.length} kills: min ${sorted[0]} ms, median ${
      sorted[Math.floor(sorted.length / 2)]
    } ms, max ${sorted[sorted.length - 1]} ms (${sorted.join(", ")})`;
  return [
    `rounds ${report.rounds} (${
      Object.entries(report.faults).map(([k, n]) => `${k} ${n}`).join(", ")
    })`,
    `acknowledged ${c.acknowledged}, lost ${c.lost}, duplicated ${c.duplicated}, out of order ${c.outOfOrder}, diverging replicas ${c.divergingReplicas}`,
    `acknowledged without an offset ${c.acknowledgedWithoutOffset}; consumer saw ${c.seen}, vanished ${c.vanished}; producer errors ${report.producerErrors}, undelivered ${report.undelivered}`,
    `leader SIGKILL to successor's first ack: ${failover}`,
    ...c.examples.map((e) => `  ${e}`),
  ].join("\n");
}
