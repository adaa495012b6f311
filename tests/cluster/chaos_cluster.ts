/**
 * The chaos test's cluster: a real etcd and broker SUBPROCESSES
 * (`main.ts --node-id N --etcd URL`), so SIGKILL and SIGSTOP are real. Each
 * broker has two listeners: CLIENT for producers and consumers, and
 * INTERNAL (`inter.broker.listener.name`) whose advertised address is a
 * {@linkcode TcpProxy} in front of it. Followers fetch from the leader's
 * registered INTERNAL endpoint, so cutting a broker's proxy cuts every
 * replication link into it while etcd and clients still reach it.
 *
 * Processes are stopped by their own PIDs only; logs go to
 * `<root>/broker-N.log` for the failure message.
 *
 * @module
 */
import { type EtcdServer, freePort, startEtcd } from "./etcd_server.ts";
import { startTcpProxy, type TcpProxy } from "./tcp_proxy.ts";
import { withConnection } from "../interop/raw_client.ts";
import { createTopicsApi, metadataApi } from "../../protocol/messages/mod.ts";
import type { MetadataResponse } from "../../protocol/messages/metadata.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { ZERO_UUID } from "../../protocol/primitives.ts";

const MAIN_PATH = new URL("../../main.ts", import.meta.url).pathname;
/** How long a broker may take to serve Metadata after it starts. */
export const BROKER_START_TIMEOUT_MS = 30_000;
/** How long a broker may take to exit after SIGTERM before it gets SIGKILL. */
const BROKER_STOP_TIMEOUT_MS = 10_000;
/** Pause between polls of a condition that has no event (Metadata over the wire). */
const POLL_INTERVAL_MS = 100;

/** One broker subprocess and its inter-broker proxy. */
export interface ChaosBroker {
  readonly nodeId: number;
  readonly clientPort: number;
  readonly internalPort: number;
  readonly dataDir: string;
  readonly proxy: TcpProxy;
  /** The running process, undefined while it is down. */
  child: Deno.ChildProcess | undefined;
  /** Set while SIGSTOPped. */
  stopped: boolean;
}

/** The partition view of one Metadata answer. */
export interface PartitionView {
  readonly partition: number;
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly isr: readonly number[];
  readonly replicas: readonly number[];
}

/** See the module doc. */
export class ChaosCluster {
  readonly etcd: EtcdServer;
  readonly root: string;
  readonly brokers: ChaosBroker[];
  readonly sessionTimeoutMs: number;
  /** replica.lag.time.max.ms of every broker: two thirds of the session. */
  readonly replicaLagTimeMaxMs: number;

  private constructor(etcd: EtcdServer, root: string, brokers: ChaosBroker[], sessionMs: number) {
    this.etcd = etcd;
    this.root = root;
    this.brokers = brokers;
    this.sessionTimeoutMs = sessionMs;
    this.replicaLagTimeMaxMs = Math.round((sessionMs * 2) / 3);
  }

  /** Starts etcd, one proxy per broker, and the brokers; resolves once all serve Metadata. */
  static async start(
    options: { brokerCount: number; sessionTimeoutMs: number },
  ): Promise<ChaosCluster> {
    const etcd = await startEtcd();
    const root = await Deno.makeTempDir({ prefix: "denka-chaos-" });
    const brokers: ChaosBroker[] = [];
    for (let nodeId = 1; nodeId <= options.brokerCount; nodeId++) {
      const internalPort = freePort();
      brokers.push({
        nodeId,
        clientPort: freePort(),
        internalPort,
        dataDir: `${root}/broker-${nodeId}`,
        proxy: startTcpProxy({ hostname: "127.0.0.1", port: internalPort }),
        child: undefined,
        stopped: false,
      });
    }
    const cluster = new ChaosCluster(etcd, root, brokers, options.sessionTimeoutMs);
    for (const b of brokers) cluster.#spawn(b);
    try {
      await cluster.#waitRegistered();
    } catch (error) {
      const tails = brokers.map((b) => `--- broker ${b.nodeId}:\n${cluster.logTail(b.nodeId)}`);
      await cluster.close();
      throw new Error(`${(error as Error).message}\n${tails.join("\n")}`, { cause: error });
    }
    return cluster;
  }

  #waitRegistered(): Promise<void> {
    const brokers = this.brokers;
    return this.waitUntil("every broker registered", async () => {
      for (const b of brokers) {
        const m = await this.metadata(b.nodeId, []).catch(() => undefined);
        if (m === undefined || m.brokers.length !== brokers.length) return false;
      }
      return true;
    }, BROKER_START_TIMEOUT_MS);
  }

  /** `127.0.0.1:<client port>` of every broker. */
  get bootstrap(): string {
    return this.brokers.map((b) => `127.0.0.1:${b.clientPort}`).join(",");
  }

  broker(nodeId: number): ChaosBroker {
    const b = this.brokers.find((x) => x.nodeId === nodeId);
    if (b === undefined) throw new Error(`No broker "${nodeId}"`);
    return b;
  }

  #spawn(b: ChaosBroker): void {
    const client = `CLIENT://127.0.0.1:${b.clientPort}`;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        MAIN_PATH,
        "--node-id",
        String(b.nodeId),
        "--etcd",
        this.etcd.clientUrl,
        "--listeners",
        `${client},INTERNAL://127.0.0.1:${b.internalPort}`,
        "--advertised-listeners",
        `${client},INTERNAL://127.0.0.1:${b.proxy.port}`,
        "--listener-security-protocol-map",
        "CLIENT:PLAINTEXT,INTERNAL:PLAINTEXT",
        "--inter-broker-listener-name",
        "INTERNAL",
        "--data-dir",
        b.dataDir,
        "--broker-session-timeout-ms",
        String(this.sessionTimeoutMs),
        "--http",
        "off",
        "--no-auto-create",
        "--offsets-topic-num-partitions",
        "3",
        // Shorter than a cut link's hold, so cuts shrink the ISR and heals expand it again.
        "--replica-lag-time-max-ms",
        String(this.replicaLagTimeMaxMs),
        "--replica-fetch-backoff-ms",
        "100",
        "--no-auto-leader-rebalance",
        "--log-level",
        "info",
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const log = Deno.openSync(`${this.root}/broker-${b.nodeId}.log`, {
      create: true,
      append: true,
    });
    const sink = (stream: ReadableStream<Uint8Array>) =>
      stream.pipeTo(
        new WritableStream({ write: (chunk) => void log.writeSync(chunk) }),
      ).catch(() => {});
    Promise.all([sink(child.stdout), sink(child.stderr)]).finally(() => log.close());
    b.child = child;
    b.stopped = false;
  }

  /** Sends `signal` to broker `nodeId`'s process (SIGKILL leaves it down until {@linkcode restart}). */
  async signal(nodeId: number, signal: "SIGKILL" | "SIGSTOP" | "SIGCONT"): Promise<void> {
    const b = this.broker(nodeId);
    if (b.child === undefined) throw new Error(`Broker "${nodeId}" is not running`);
    b.child.kill(signal);
    if (signal === "SIGSTOP") b.stopped = true;
    if (signal === "SIGCONT") b.stopped = false;
    if (signal === "SIGKILL") {
      await b.child.status;
      b.child = undefined;
      b.stopped = false;
    }
  }

  /** Starts a killed broker again over its data directory and ports; resolves when it serves. */
  async restart(nodeId: number): Promise<void> {
    const b = this.broker(nodeId);
    if (b.child !== undefined) throw new Error(`Broker "${nodeId}" is still running`);
    this.#spawn(b);
    await this.waitUntil(`broker ${nodeId} serving`, async () => {
      const m = await this.metadata(nodeId, []).catch(() => undefined);
      return m !== undefined && m.brokers.some((x) => x.nodeId === nodeId);
    }, BROKER_START_TIMEOUT_MS);
  }

  /** Metadata from broker `nodeId` (its CLIENT listener); `topics` [] for brokers only. */
  metadata(nodeId: number, topics: string[] | null): Promise<MetadataResponse> {
    const b = this.broker(nodeId);
    return withConnection(`127.0.0.1:${b.clientPort}`, (c) =>
      c.request(metadataApi, 12, {
        topics: topics === null ? null : topics.map((name) => ({ topicId: ZERO_UUID, name })),
        allowAutoTopicCreation: false,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false,
      }));
  }

  /** A topic's partitions as broker `nodeId` sees them. */
  async partitions(nodeId: number, topic: string): Promise<PartitionView[]> {
    const m = await this.metadata(nodeId, [topic]);
    const t = m.topics.find((x) => x.name === topic);
    return (t?.partitions ?? []).map((p) => ({
      partition: p.partitionIndex,
      leader: p.leaderId,
      leaderEpoch: p.leaderEpoch,
      isr: p.isrNodes,
      replicas: p.replicaNodes,
    })).sort((a, b) => a.partition - b.partition);
  }

  /** Creates `topic` with replication factor = every broker, through broker 1. */
  async createTopic(topic: string, partitions: number, configs: Record<string, string>) {
    const response = await withConnection(
      `127.0.0.1:${this.brokers[0].clientPort}`,
      (c) =>
        c.request(createTopicsApi, 7, {
          topics: [{
            name: topic,
            numPartitions: partitions,
            replicationFactor: this.brokers.length,
            assignments: [],
            configs: Object.entries(configs).map(([name, value]) => ({ name, value })),
          }],
          timeoutMs: 10_000,
          validateOnly: false,
        }),
    );
    const [t] = response.topics;
    if (t.errorCode !== ErrorCode.NONE) {
      throw new Error(`Creating "${topic}" failed with error ${t.errorCode}: ${t.errorMessage}`);
    }
  }

  /**
   * Resolves once every broker is up, registered, and reports every partition of `topic` led
   * with a full ISR (the cluster has settled).
   */
  waitSettled(topic: string, timeoutMs: number): Promise<PartitionView[]> {
    let last: PartitionView[] = [];
    return this.waitUntil(`"${topic}" settled`, async () => {
      for (const b of this.brokers) {
        const m = await this.metadata(b.nodeId, []).catch(() => undefined);
        if (m === undefined || m.brokers.length !== this.brokers.length) return false;
      }
      const views = await this.partitions(1, topic).catch(() => []);
      last = views;
      return views.length > 0 &&
        views.every((p) => p.leader >= 0 && p.isr.length === this.brokers.length);
    }, timeoutMs).then(() => last);
  }

  /** Polls `condition` (no event to wait on: state behind the wire) until true or the deadline. */
  async waitUntil(what: string, condition: () => Promise<boolean>, timeoutMs: number) {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) {
        throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
    }
  }

  /** The last `lines` lines of broker `nodeId`'s log. */
  logTail(nodeId: number, lines = 30): string {
    try {
      return Deno.readTextFileSync(`${this.root}/broker-${nodeId}.log`).split("\n").slice(-lines)
        .join("\n");
    } catch {
      return "";
    }
  }

  /** Stops the brokers (SIGTERM, SIGKILL past the deadline), the proxies and etcd; removes data. */
  async close(keepData = false): Promise<void> {
    await Promise.all(this.brokers.map((b) => this.#stop(b)));
    for (const b of this.brokers) await b.proxy.close();
    if (keepData) await this.etcd.stop();
    else {
      await this.etcd.close();
      await Deno.remove(this.root, { recursive: true });
    }
  }

  /** Stops broker `nodeId` gracefully (its data stays). */
  stopBroker(nodeId: number): Promise<void> {
    return this.#stop(this.broker(nodeId));
  }

  async #stop(b: ChaosBroker): Promise<void> {
    const child = b.child;
    if (child === undefined) return;
    try {
      child.kill("SIGCONT");
      child.kill("SIGTERM");
    } catch { /* already exited */ }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), BROKER_STOP_TIMEOUT_MS);
    });
    const outcome = await Promise.race([child.status.then(() => "exited" as const), deadline]);
    clearTimeout(timer);
    if (outcome === "timeout") child.kill("SIGKILL");
    await child.status;
    b.child = undefined;
  }
}
