/**
 * The cluster under `bench/cluster.ts`: a real etcd (Debian's `etcd-server`,
 * `tests/cluster/etcd_server.ts`) and three broker processes
 * (`BrokerProcess`, each `--node-id N --etcd URL` on a free loopback port
 * with its own data directory), a broker killed and started again over the
 * same data, and what the bench asks the cluster through the Kafka protocol:
 * Metadata (each partition's leader, replicas and ISR, from whichever broker
 * answers) and CreateTopics with a replication factor.
 *
 * @module
 */
import { join } from "node:path";
import { BrokerProcess, type BrokerVariant, type ProcSample } from "./broker_proc.ts";
import { BenchConnection } from "./kafka_client.ts";
import { type ClientVersions, negotiateVersions } from "./client_versions.ts";
import { createTopicsApi, metadataApi } from "../protocol/messages/mod.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { ZERO_UUID } from "./client_ops.ts";
import { type EtcdServer, startEtcd } from "../tests/cluster/etcd_server.ts";

/** How long the cluster may take to show a topic's partitions with full ISRs. */
const TOPIC_READY_TIMEOUT_MS = 60_000;
/** How long a broker may take to stop after SIGTERM before the bench SIGKILLs it. */
const STOP_TIMEOUT_MS = 20_000;
/** Between two Metadata polls while waiting on the cluster (no event to wait on from outside). */
const POLL_INTERVAL_MS = 50;

/** One partition as Metadata shows it. */
export interface PartitionView {
  readonly partition: number;
  readonly leader: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
}

/** A Metadata answer for one topic: its partitions and every live broker's address. */
export interface TopicView {
  readonly partitions: readonly PartitionView[];
  readonly brokers: ReadonlyMap<number, string>;
  /** The controller's node id (-1: none known). */
  readonly controllerId: number;
}

/** Metadata for `topic` on an open connection (`undefined` partitions when unknown). */
export async function topicMetadata(
  c: BenchConnection,
  versions: ClientVersions,
  topic: string,
): Promise<TopicView> {
  const m = await c.request(metadataApi, versions.Metadata, {
    topics: [{ topicId: ZERO_UUID, name: topic }],
    allowAutoTopicCreation: false,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  });
  const found = m.topics.find((t) => t.name === topic);
  const partitions = found === undefined || found.errorCode !== ErrorCode.NONE
    ? []
    : found.partitions.map((p) => ({
      partition: p.partitionIndex,
      leader: p.leaderId,
      replicas: p.replicaNodes,
      isr: p.isrNodes,
    })).sort((a, b) => a.partition - b.partition);
  return {
    partitions,
    brokers: new Map(m.brokers.map((b) => [b.nodeId, `${b.host}:${b.port}`])),
    controllerId: m.controllerId,
  };
}

/** Connects to `target` and asks its ApiVersions. */
export async function openClient(
  target: string,
): Promise<{ c: BenchConnection; versions: ClientVersions }> {
  const c = await BenchConnection.connect(target);
  try {
    return { c, versions: await negotiateVersions(c) };
  } catch (e) {
    c.close();
    throw e;
  }
}

/** Three brokers and an etcd, as processes; see the module doc. */
export class BenchCluster {
  readonly etcd: EtcdServer;
  readonly root: string;
  readonly #variant: BrokerVariant;
  readonly #args: readonly string[];
  readonly #brokers = new Map<number, BrokerProcess>();

  private constructor(etcd: EtcdServer, root: string, variant: BrokerVariant, args: string[]) {
    this.etcd = etcd;
    this.root = root;
    this.#variant = variant;
    this.#args = args;
  }

  /** Starts etcd and brokers 1..`count` (`extraArgs` go to every broker). */
  static async start(
    variant: BrokerVariant,
    count: number,
    extraArgs: readonly string[] = [],
  ): Promise<BenchCluster> {
    const etcd = await startEtcd();
    const root = await Deno.makeTempDir({ prefix: "denka-bench-cluster-" });
    const cluster = new BenchCluster(etcd, root, variant, [
      "--etcd",
      etcd.clientUrl,
      ...extraArgs,
    ]);
    try {
      await Promise.all(Array.from({ length: count }, (_, i) => cluster.startNode(i + 1)));
    } catch (e) {
      await cluster.close().catch(() => {});
      throw e;
    }
    return cluster;
  }

  /** Node ids of the running brokers. */
  get nodeIds(): number[] {
    return [...this.#brokers.keys()].sort((a, b) => a - b);
  }

  broker(nodeId: number): BrokerProcess {
    const b = this.#brokers.get(nodeId);
    if (b === undefined) throw new Error(`Broker ${nodeId} is not running`);
    return b;
  }

  /** Every running broker's bootstrap. */
  get bootstraps(): string[] {
    return this.nodeIds.map((id) => this.broker(id).bootstrap);
  }

  /** The broker's data directory. */
  dataDir(nodeId: number): string {
    return join(this.root, `broker-${nodeId}`);
  }

  /** Starts broker `nodeId` over its data directory (first start or after a kill). */
  async startNode(nodeId: number): Promise<BrokerProcess> {
    const b = await BrokerProcess.start(this.#variant, this.dataDir(nodeId), [
      "--node-id",
      String(nodeId),
      ...this.#args,
    ]);
    this.#brokers.set(nodeId, b);
    return b;
  }

  /** SIGKILLs broker `nodeId`; resolves once it has exited. */
  async kill(nodeId: number): Promise<void> {
    const b = this.broker(nodeId);
    Deno.kill(b.pid, "SIGKILL");
    this.#brokers.delete(nodeId);
    await b.stop();
  }

  /** CPU seconds (user + system) summed over every running broker. */
  cpuSeconds(): number {
    return this.nodeIds.reduce((sum, id) => sum + this.sample(id).cpuSeconds, 0);
  }

  sample(nodeId: number): ProcSample {
    return this.broker(nodeId).sample();
  }

  /** Metadata for `topic` from the first running broker that answers. */
  async metadata(topic: string): Promise<TopicView> {
    let last: unknown;
    for (const target of this.bootstraps) {
      try {
        const { c, versions } = await openClient(target);
        try {
          return await topicMetadata(c, versions, topic);
        } finally {
          c.close();
        }
      } catch (e) {
        last = e;
      }
    }
    throw new Error(`No broker answered Metadata for "${topic}": ${last}`);
  }

  /**
   * Creates `topic` (replication factor = the brokers running) with
   * `configs`, then waits until every partition has a leader and a full ISR.
   */
  async createTopic(
    topic: string,
    partitions: number,
    configs: Record<string, string>,
  ): Promise<TopicView> {
    const { c, versions } = await openClient(this.bootstraps[0]);
    try {
      const response = await c.request(createTopicsApi, versions.CreateTopics!, {
        topics: [{
          name: topic,
          numPartitions: partitions,
          replicationFactor: this.#brokers.size,
          assignments: [],
          configs: Object.entries(configs).map(([name, value]) => ({ name, value })),
        }],
        timeoutMs: 30_000,
        validateOnly: false,
      });
      const code = response.topics[0]?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
      if (code !== ErrorCode.NONE) {
        throw new Error(`CreateTopics "${topic}" failed with error code ${code}`);
      }
    } finally {
      c.close();
    }
    return await this.waitForFullIsr(topic, partitions);
  }

  /** Polls Metadata (bounded) until `topic`'s partitions all have a leader and every replica in the ISR. */
  async waitForFullIsr(topic: string, partitions: number): Promise<TopicView> {
    const deadlineMs = Date.now() + TOPIC_READY_TIMEOUT_MS;
    for (;;) {
      const view = await this.metadata(topic).catch(() => undefined);
      const ready = view !== undefined && view.partitions.length === partitions &&
        view.partitions.every((p) =>
          p.leader >= 0 && p.isr.length === p.replicas.length && view.brokers.has(p.leader)
        );
      if (ready) return view;
      if (Date.now() > deadlineMs) {
        throw new Error(
          `Topic "${topic}" has no full ISR after ${TOPIC_READY_TIMEOUT_MS} ms: ${
            JSON.stringify(view?.partitions)
          }`,
        );
      }
      await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
    }
  }

  /**
   * Stops every broker (SIGTERM; SIGKILL after {@linkcode STOP_TIMEOUT_MS},
   * noted with the broker's last log lines), then etcd, and removes the data.
   * Returns the notes.
   */
  async close(): Promise<string[]> {
    const notes: string[] = [];
    await Promise.all([...this.#brokers].map(async ([id, b]) => {
      Deno.kill(b.pid, "SIGCONT");
      const timer = setTimeout(() => {
        notes.push(
          `Broker ${id} had not stopped ${STOP_TIMEOUT_MS} ms after SIGTERM (killed); its last lines:\n${b.logTail}`,
        );
        Deno.kill(b.pid, "SIGKILL");
      }, STOP_TIMEOUT_MS);
      await b.stop();
      clearTimeout(timer);
    }));
    this.#brokers.clear();
    await this.etcd.close();
    await Deno.remove(this.root, { recursive: true });
    return notes;
  }
}
