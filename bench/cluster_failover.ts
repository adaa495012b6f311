/**
 * Failover timing for `bench/cluster.ts`: a producer that never stops
 * (acks=all, one 16 KiB batch of 1 KiB records in flight to partition 0,
 * retrying every {@linkcode RETRY_BACKOFF_MS} after an error or a lost
 * connection, and asking Metadata of any running broker for the leader
 * before each retry, as a Kafka client does) while the bench SIGKILLs the
 * partition's leader several times. For each kill: the time from the kill
 * to the first Metadata naming another leader ("election") and to the first
 * produce acknowledged by that leader ("failover"), whether the killed broker
 * was also the controller, and the surviving brokers' log lines from the
 * kill to that acknowledgement (ISO timestamps: where the time went). The
 * killed broker is started again over its data and the next kill waits until
 * it is back in the ISR.
 *
 * @module
 */
import { buildBatch, decodeProduceAcks, produceFrame } from "./client_ops.ts";
import { type BenchCluster, openClient } from "./cluster_nodes.ts";
import type { BenchConnection } from "./kafka_client.ts";
import type { ClientVersions } from "./client_versions.ts";
import { wallMs } from "./loadgen.ts";
import { ErrorCode } from "../protocol/error_codes.ts";

/** Kafka's `retry.backoff.ms` is 100; the bench retries sooner so that it measures the broker. */
export const RETRY_BACKOFF_MS = 20;
/** The longest the bench waits for a successor's first acknowledgement. */
const FAILOVER_TIMEOUT_MS = 90_000;
/** A request without an answer for this long counts as failed (a broker that hangs). */
const REQUEST_TIMEOUT_MS = 10_000;
/** Acknowledgements from the current leader before the next kill (the producer is steady). */
const STEADY_ACKS = 20;
/** Log lines kept per kill (the surviving brokers' lines between the kill and the first ack). */
const LOG_LINES_KEPT = 60;

/** One kill and what followed. */
export interface FailoverSample {
  readonly killedNode: number;
  readonly killedWasController: boolean;
  readonly newLeader: number;
  /** Kill to the first Metadata (from a survivor) naming another leader. */
  readonly electionMs: number;
  /** Kill to the first produce acknowledged by the new leader. */
  readonly failoverMs: number;
  /** Produce attempts that failed meanwhile, by Kafka error code (or "connection"). */
  readonly failures: Record<string, number>;
  /** Surviving brokers' log lines from the kill to the first acknowledgement. */
  readonly logLines: string[];
}

interface Ack {
  readonly atMs: number;
  readonly node: number;
}

/** The never-stopping producer to partition 0 of `topic`. */
class RetryingProducer {
  readonly acks: Ack[] = [];
  /** When a Metadata answer first named each leader, in order. */
  readonly leadersSeen: Ack[] = [];
  readonly failures: Record<string, number> = {};
  #running = true;
  readonly #done: Promise<void>;

  constructor(
    readonly cluster: BenchCluster,
    readonly topic: string,
    readonly versions: ClientVersions,
  ) {
    this.#done = this.#loop();
  }

  async #loop(): Promise<void> {
    const batch = buildBatch({ recordBytes: 1024, batchBytes: 16 * 1024, keyed: false });
    const frame = produceFrame(this.topic, [0], batch, {
      acks: -1,
      version: this.versions.Produce,
    });
    let conn: { c: BenchConnection; node: number } | undefined;
    while (this.#running) {
      try {
        conn ??= await this.#connectToLeader();
        const code = await this.#send(conn.c, frame.frame);
        if (code === ErrorCode.NONE) {
          this.acks.push({ atMs: wallMs(), node: conn.node });
          continue;
        }
        this.#fail(String(code));
      } catch {
        this.#fail("connection");
      }
      conn?.c.close();
      conn = undefined;
      await new Promise((r) => setTimeout(r, RETRY_BACKOFF_MS));
    }
    conn?.c.close();
  }

  #fail(what: string): void {
    this.failures[what] = (this.failures[what] ?? 0) + 1;
  }

  async #connectToLeader(): Promise<{ c: BenchConnection; node: number }> {
    const view = await this.cluster.metadata(this.topic);
    const leader = view.partitions[0]?.leader ?? -1;
    const address = view.brokers.get(leader);
    if (address === undefined) throw new Error("No leader known for partition 0");
    if (this.leadersSeen.at(-1)?.node !== leader) {
      this.leadersSeen.push({ atMs: wallMs(), node: leader });
    }
    const { c } = await openClient(address);
    return { c, node: leader };
  }

  #send(c: BenchConnection, frame: Uint8Array): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("Produce timed out")), REQUEST_TIMEOUT_MS);
      c.send(frame, (body) => {
        clearTimeout(timer);
        if (body === undefined) return reject(c.failure ?? new Error("Connection closed"));
        resolve(decodeProduceAcks(body, this.versions.Produce)[0]?.errorCode ?? -1);
      }).catch((e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  /** Resolves with the first ack after `sinceMs` for which `accept` holds (bounded). */
  async ackAfter(sinceMs: number, accept: (a: Ack) => boolean, timeoutMs: number): Promise<Ack> {
    const deadlineMs = wallMs() + timeoutMs;
    for (;;) {
      const found = this.acks.find((a) => a.atMs > sinceMs && accept(a));
      if (found !== undefined) return found;
      if (wallMs() > deadlineMs) throw new Error(`No acknowledgement within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#done;
  }
}

/** Lines of `text` whose leading ISO timestamp falls in [fromMs, toMs]. */
function linesBetween(text: string, fromMs: number, toMs: number): string[] {
  return text.split("\n").filter((line) => {
    const atMs = Date.parse(line.slice(0, 24));
    return atMs >= fromMs && atMs <= toMs;
  });
}

/**
 * Creates `topic` (1 partition, replication factor 3, min.insync.replicas 2)
 * and kills its leader `kills` times under the retrying producer.
 */
export async function measureFailovers(
  cluster: BenchCluster,
  topic: string,
  kills: number,
  log: (message: string) => void,
): Promise<FailoverSample[]> {
  await cluster.createTopic(topic, 1, { "min.insync.replicas": "2" });
  const { c, versions } = await openClient(cluster.bootstraps[0]);
  c.close();
  const producer = new RetryingProducer(cluster, topic, versions);
  const samples: FailoverSample[] = [];
  try {
    for (let k = 0; k < kills; k++) {
      const view = await cluster.waitForFullIsr(topic, 1);
      const victim = view.partitions[0].leader;
      // Steady state: the producer is being acknowledged by the leader about to die.
      let steadySinceMs = wallMs();
      await producer.ackAfter(steadySinceMs, (a) => a.node === victim, FAILOVER_TIMEOUT_MS);
      steadySinceMs = wallMs();
      while (producer.acks.filter((a) => a.atMs > steadySinceMs).length < STEADY_ACKS) {
        await producer.ackAfter(wallMs(), () => true, FAILOVER_TIMEOUT_MS);
      }
      const failuresBefore = { ...producer.failures };
      const killAtMs = wallMs();
      await cluster.kill(victim);
      const ack = await producer.ackAfter(killAtMs, (a) => a.node !== victim, FAILOVER_TIMEOUT_MS);
      const seen = producer.leadersSeen.find((s) => s.atMs > killAtMs && s.node !== victim);
      const failures = Object.fromEntries(
        Object.entries(producer.failures)
          .map(([key, n]) => [key, n - (failuresBefore[key] ?? 0)])
          .filter(([, n]) => (n as number) > 0),
      );
      const logLines = cluster.nodeIds.flatMap((id) =>
        linesBetween(cluster.broker(id).logTail, killAtMs, ack.atMs).map((l) => `[${id}] ${l}`)
      ).sort((a, b) => a.slice(4).localeCompare(b.slice(4))).slice(-LOG_LINES_KEPT);
      const sample: FailoverSample = {
        killedNode: victim,
        killedWasController: view.controllerId === victim,
        newLeader: ack.node,
        electionMs: (seen?.atMs ?? ack.atMs) - killAtMs,
        failoverMs: ack.atMs - killAtMs,
        failures,
        logLines,
      };
      samples.push(sample);
      log(
        `kill ${k + 1}/${kills}: broker ${victim}${
          sample.killedWasController ? " (controller)" : ""
        } -> ${ack.node}: metadata after ${sample.electionMs.toFixed(0)} ms, first ack after ${
          sample.failoverMs.toFixed(0)
        } ms, failures ${JSON.stringify(failures)}`,
      );
      await cluster.startNode(victim);
    }
    await cluster.waitForFullIsr(topic, 1);
  } finally {
    await producer.stop();
  }
  return samples;
}
