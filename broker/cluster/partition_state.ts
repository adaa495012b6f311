/**
 * The seam between the controller side of a cluster (etcd: broker
 * registrations, the controller, topic assignments, partition states, the
 * metadata cache) and data replication (`replica_manager.ts`: leaders,
 * followers, the ISR, the high watermark).
 *
 * - The metadata cache hands every change of partition states to
 *   {@linkcode PartitionStateSink.applyPartitionStates} (Kafka's
 *   LeaderAndIsr request): the replica manager makes this broker the leader,
 *   a follower, or neither of each partition.
 * - The leader changes its partition's ISR itself through an
 *   {@linkcode IsrWriter} (Kafka's ZooKeeper-era leader, fenced by the
 *   znode's zkVersion): the controller side implements it as a
 *   compare-and-swap on the partition state key's mod revision
 *   ({@linkcode PartitionState.partitionEpoch}). {@linkcode MemoryIsrWriter}
 *   is the in-memory one for tests.
 *
 * @module
 */
import type { InterBrokerSasl } from "./inter_broker_login.ts";
import type { TlsClientOptions } from "../../ffi/port.ts";

/** One partition's replicas, leader and in-sync replicas (Kafka's LeaderAndIsr). */
export interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  /** Every broker holding a copy, the preferred leader first. */
  readonly replicas: readonly number[];
  /** The leader's node id; -1 when none (offline). */
  readonly leader: number;
  /** Grows with every leader change (stamped on every batch the leader appends). */
  readonly leaderEpoch: number;
  /** The in-sync replicas, the leader among them. */
  readonly isr: readonly number[];
  /**
   * The version a compare-and-swap of this state must match: the etcd mod revision of the
   * partition state key (Kafka's zkVersion / partition epoch). Grows with every change.
   */
  readonly partitionEpoch: number;
}

/** Where a broker listens for other brokers (and clients). */
export interface BrokerEndpoint {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly rack?: string;
}

/** Writes a partition's new ISR on its leader's behalf. */
export interface IsrWriter {
  /**
   * Replaces the ISR of `state` with `newIsr` if the stored state still has
   * `state.partitionEpoch`. Resolves with the new state (its partitionEpoch moved), or
   * undefined when the compare-and-swap lost (the leader waits for the next state it is
   * given). Rejects only when the store cannot be reached.
   */
  alterIsr(state: PartitionState, newIsr: readonly number[]): Promise<PartitionState | undefined>;
}

/** What the metadata cache calls on every change of partition states. */
export interface PartitionStateSink {
  /**
   * `states`: the current state of partitions that changed (or all of them); a partition
   * this broker is not a replica of is stopped. `brokers`: every live broker by node id.
   */
  applyPartitionStates(
    states: readonly PartitionState[],
    brokers: ReadonlyMap<number, BrokerEndpoint>,
  ): void;
}

/** The key of a partition in maps: `topic-partition`. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

/**
 * An in-memory {@linkcode IsrWriter} (tests and a test "controller"): holds the states it was
 * given, applies a compare-and-swap on `partitionEpoch`, and reports every accepted change to
 * `onChange` (which typically hands it back to the replica managers).
 */
export class MemoryIsrWriter implements IsrWriter {
  readonly #states = new Map<string, PartitionState>();
  #nextEpoch = 1;
  readonly #onChange: ((state: PartitionState) => void) | undefined;

  constructor(onChange?: (state: PartitionState) => void) {
    this.#onChange = onChange;
  }

  /** Stores `state` as the controller would (a new partitionEpoch); returns it. */
  set(state: Omit<PartitionState, "partitionEpoch">): PartitionState {
    const stored = { ...state, partitionEpoch: this.#nextEpoch++ };
    this.#states.set(partitionKey(state.topic, state.partition), stored);
    return stored;
  }

  /** The stored state of a partition. */
  get(topic: string, partition: number): PartitionState | undefined {
    return this.#states.get(partitionKey(topic, partition));
  }

  alterIsr(state: PartitionState, newIsr: readonly number[]): Promise<PartitionState | undefined> {
    const current = this.get(state.topic, state.partition);
    if (current === undefined || current.partitionEpoch !== state.partitionEpoch) {
      return Promise.resolve(undefined);
    }
    const next = this.set({ ...current, isr: [...newIsr] });
    this.#onChange?.(next);
    return Promise.resolve(next);
  }
}

/**
 * How the controller side turns replication on (implemented by `replica_manager.ts`):
 * `startReplication(broker, { nodeId, isrWriter })` returns the broker's
 * {@linkcode PartitionStateSink}, which it also keeps as `broker.replication` so produce,
 * fetch and OffsetForLeaderEpoch route through it. Without it (one node, no etcd) the broker
 * leads every partition at epoch 0 and the high watermark is the log end, as before.
 */
export interface ReplicationOptions {
  /** This broker's node id (`node.id`), sent as the replica id of its follower fetches. */
  readonly nodeId: number;
  readonly isrWriter: IsrWriter;
  /** Kafka's `replica.lag.time.max.ms` (default 30000). */
  readonly replicaLagTimeMaxMs?: number;
  /** Kafka's `replica.fetch.backoff.ms` (default 1000). */
  readonly replicaFetchBackoffMs?: number;
  /** Kafka's `replica.socket.timeout.ms` (default 30000). */
  readonly replicaSocketTimeoutMs?: number;
  /** The broker's SASL login on the inter-broker listener (`sasl.mechanism.inter.broker.protocol`). */
  readonly interBrokerSasl?: InterBrokerSasl;
  /** TLS to the inter-broker listener (SSL, SASL_SSL), trusting `--tls-ca` or the system roots. */
  readonly interBrokerTls?: TlsClientOptions;
}
