/**
 * Brokers in one process that replicate a topic among themselves, driven by
 * a small stand-in for the controller (the replication tests and
 * `bench/replication.ts`): partition states go straight to each broker's
 * replica manager, and ISR changes through an in-memory IsrWriter that hands
 * every accepted state back to all brokers. Real sockets on loopback, real
 * logs in temporary directories; node APIs only, so it runs under Bun too.
 *
 * @module
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBrokerFlags } from "../../_start_flags.ts";
import { type Broker, startBrokerWithConfig } from "../../broker/broker.ts";
import { resolveConfig } from "../../broker/config.ts";
import {
  type BrokerEndpoint,
  MemoryIsrWriter,
  type PartitionState,
} from "../../broker/cluster/partition_state.ts";
import { startReplication } from "../../broker/cluster/replica_manager.ts";
import type { Libc } from "../../ffi/port.ts";

/** Options of {@linkcode startReplicatedBrokers}. */
export interface ReplicatedBrokersOptions {
  /** The topic every broker creates (one partition). */
  readonly topic: string;
  /** The topic's min.insync.replicas. */
  readonly minIsr: number;
  /** replica.lag.time.max.ms (default Kafka's 30000). */
  readonly lagMs?: number;
  /** replica.fetch.backoff.ms (default 20: tests should not wait a second). */
  readonly fetchBackoffMs?: number;
  /** replica.socket.timeout.ms (default Kafka's 30000). */
  readonly socketTimeoutMs?: number;
  readonly flush?: "sync" | "async";
  readonly quotaConsumerByteRate?: number;
  /** false: plain single-node brokers, no replica manager (a baseline). Default true. */
  readonly replication?: boolean;
  /** A libc for a broker (default: the runtime's). */
  readonly libcOf?: (nodeId: number) => Libc | undefined;
}

/** The running brokers and their stand-in controller. */
export interface ReplicatedBrokers {
  readonly brokers: Map<number, Broker>;
  readonly isr: MemoryIsrWriter;
  readonly endpoints: Map<number, BrokerEndpoint>;
  /** Resolves with the stored state of the topic's partition 0 once it satisfies `test`. */
  stateWhere(test: (s: PartitionState) => boolean): Promise<PartitionState>;
  /** Gives `state` to the brokers in `to` (default: all running). */
  apply(state: PartitionState, to?: number[]): void;
  stop(nodeId: number): Promise<void>;
  /** Stops broker `nodeId` and starts it again over the same data directory. */
  restart(nodeId: number): Promise<Broker>;
  /** Closes every broker and removes the data directories. */
  close(): Promise<void>;
}

/** Starts one broker per node id, each with replication on and the topic created. */
export async function startReplicatedBrokers(
  nodeIds: readonly number[],
  options: ReplicatedBrokersOptions,
): Promise<ReplicatedBrokers> {
  const brokers = new Map<number, Broker>();
  const endpoints = new Map<number, BrokerEndpoint>();
  const dirOf = new Map<number, string>();
  const listeners: {
    test: (s: PartitionState) => boolean;
    resolve: (s: PartitionState) => void;
  }[] = [];
  const apply = (state: PartitionState, to = [...brokers.keys()]) => {
    for (const id of to) brokers.get(id)?.replication?.applyPartitionStates([state], endpoints);
  };
  const isr = new MemoryIsrWriter((state) => {
    apply(state);
    for (const l of listeners.splice(0)) {
      if (l.test(state)) l.resolve(state);
      else listeners.push(l);
    }
  });
  const start = async (nodeId: number) => {
    const flags = startBrokerFlags({
      port: 0,
      dataDir: dirOf.get(nodeId)!,
      logLevel: "warn",
      autoCreateTopics: false,
      flush: options.flush,
      quotaConsumerByteRate: options.quotaConsumerByteRate,
    });
    const broker = await startBrokerWithConfig(resolveConfig([{ options: flags, topics: {} }]), {
      libc: options.libcOf?.(nodeId),
    });
    if (options.replication ?? true) {
      startReplication(broker, {
        nodeId,
        isrWriter: isr,
        replicaLagTimeMaxMs: options.lagMs,
        replicaFetchBackoffMs: options.fetchBackoffMs ?? 20,
        replicaSocketTimeoutMs: options.socketTimeoutMs,
      });
    }
    if (broker.topics.get(options.topic) === undefined) {
      broker.topics.create(options.topic, 1, { "min.insync.replicas": String(options.minIsr) });
    }
    brokers.set(nodeId, broker);
    endpoints.set(nodeId, { nodeId, host: "127.0.0.1", port: broker.address.port });
    return broker;
  };
  for (const nodeId of nodeIds) {
    dirOf.set(nodeId, await mkdtemp(join(tmpdir(), "denka-repl-")));
    await start(nodeId);
  }
  return {
    brokers,
    isr,
    endpoints,
    stateWhere: (test) => {
      const now = isr.get(options.topic, 0);
      if (now !== undefined && test(now)) return Promise.resolve(now);
      return new Promise((resolve) => listeners.push({ test, resolve }));
    },
    apply,
    async stop(nodeId) {
      await brokers.get(nodeId)?.close();
      brokers.delete(nodeId);
    },
    async restart(nodeId) {
      await brokers.get(nodeId)?.close();
      brokers.delete(nodeId);
      return await start(nodeId);
    },
    async close() {
      await Promise.all([...brokers.values()].map((b) => b.close()));
      for (const dir of dirOf.values()) await rm(dir, { recursive: true, force: true });
    },
  };
}
