/**
 * Transactions cluster-wide, as groups are (`cluster_groups.ts`): each
 * transactional id lives in partition `hash(id) % N` of the replicated,
 * compacted `__transaction_state` topic (Kafka's partitioner, N =
 * `transaction.state.log.num.partitions`), and the leader of that partition
 * is its coordinator. When this broker becomes leader of such a partition
 * (the replica manager's leadership hook) it replays the partition's log
 * into a {@linkcode TransactionCoordinator} of its own whose coordinator
 * epoch is the partition's leader epoch (as in Kafka), writing through a
 * {@linkcode ReplicatedTxnLog}; prepared transactions get their markers sent
 * again, open ones are aborted after their timeout or when their producer
 * initialises again. Meanwhile the partition's ids answer
 * COORDINATOR_LOAD_IN_PROGRESS; ids of a partition not led here answer
 * NOT_COORDINATOR. Markers go to each partition's leader
 * (`cluster_marker_channel.ts`); KIP-890 verification asks the id's
 * coordinator (this class when it is here, else AddPartitionsToTxn v4
 * `verifyOnly` over the inter-broker listener).
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import { addPartitionsToTxnApi } from "../../protocol/messages/mod.ts";
import type { BrokerCore } from "../context.ts";
import { replayKeyedRecords } from "../transactions/keyed_log.ts";
import { localMarkerChannel } from "../transactions/broker_coordinator.ts";
import {
  TransactionCoordinator,
  type TxnCounters,
  type TxnView,
} from "../transactions/coordinator.ts";
import {
  decodeTxnKey,
  decodeTxnValue,
  type StoredTxn,
  txnPartitionFor,
} from "../transactions/txn_records.ts";
import type { TxnVerifier, TxnVerifyRequest } from "../transactions/verifier.ts";
import type { Runtime } from "../../ffi/port.ts";
import { BrokerClientPool, type BrokerClientPoolOptions } from "./broker_client_pool.ts";
import { ClusterTxnMarkerChannel } from "./cluster_marker_channel.ts";
import type { ClusterNode } from "./cluster_node.ts";
import type { LeadershipChange, ReplicaManager } from "./replica_manager.ts";
import { ReplicatedTxnLog } from "./replicated_txn_log.ts";

/** Kafka's internal topic of transaction states. */
export const TXN_STATE_TOPIC = "__transaction_state";
/** The AddPartitionsToTxn version of a verification (v4: batched, `verifyOnly`). */
const VERIFY_VERSION = 4;
/** Bound of one inter-broker request of the coordinators (Kafka's request.timeout.ms is 30 s). */
export const TXN_PEER_REQUEST_TIMEOUT_MS = 10_000;

/** The coordinator of one loaded `__transaction_state` partition. */
export interface LoadedTxnPartition {
  readonly partition: number;
  readonly leaderEpoch: number;
  readonly coordinator: TransactionCoordinator;
  readonly log: ReplicatedTxnLog;
}

type Slot =
  | {
    readonly kind: "loading";
    readonly leaderEpoch: number;
    readonly timer: ReturnType<typeof setTimeout>;
  }
  | { readonly kind: "loaded"; readonly loaded: LoadedTxnPartition };

/** What a transactional request finds: the id's coordinator here, or the error to answer. */
export type TxnRoute = { readonly loaded: LoadedTxnPartition } | { readonly errorCode: number };

type ClusterBroker = BrokerCore & {
  readonly cluster: ClusterNode | undefined;
  readonly runtime: Pick<Runtime, "connect">;
};

/** See the module doc. */
export class ClusterTransactions implements TxnVerifier {
  readonly #broker: ClusterBroker;
  readonly #slots = new Map<number, Slot>();
  readonly #clients: BrokerClientPool;
  readonly #channel: ClusterTxnMarkerChannel;
  /** The counters of the coordinators unloaded so far (the totals never go back). */
  readonly #retired: TxnCounters = { commits: 0, aborts: 0, timeouts: 0 };
  #closed = false;

  constructor(
    broker: ClusterBroker,
    replication: Pick<ReplicaManager, "onLeadershipChange" | "endpoint">,
    security: Pick<BrokerClientPoolOptions, "sasl" | "tls"> = {},
  ) {
    this.#broker = broker;
    this.#clients = new BrokerClientPool({
      runtime: broker.runtime,
      clientId: `denka-txn-${broker.config.nodeId}`,
      endpoint: (nodeId) => replication.endpoint(nodeId),
      requestTimeoutMs: TXN_PEER_REQUEST_TIMEOUT_MS,
      ...security,
    });
    this.#channel = new ClusterTxnMarkerChannel({
      nodeId: broker.config.nodeId,
      local: localMarkerChannel(broker),
      leaderOf: (topic, partition) =>
        broker.cluster?.cache.partitionState(topic, partition)?.leader ?? -1,
      clients: this.#clients,
    });
    replication.onLeadershipChange((change) => this.#leadershipChanged(change));
  }

  /** The partition of `transactionalId`, or undefined before the topic exists. */
  partitionOf(transactionalId: string): number | undefined {
    const cached = this.#broker.cluster?.cache.topics.get(TXN_STATE_TOPIC);
    if (cached === undefined) return undefined;
    return txnPartitionFor(transactionalId, cached.record.assignment.length);
  }

  /** The coordinator of `transactionalId` here, or NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS. */
  route(transactionalId: string): TxnRoute {
    const partition = this.partitionOf(transactionalId);
    const slot = partition === undefined ? undefined : this.#slots.get(partition);
    if (slot === undefined) return { errorCode: ErrorCode.NOT_COORDINATOR };
    if (slot.kind === "loading") return { errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS };
    return { loaded: slot.loaded };
  }

  /** The loaded partitions (ListTransactions, tests). */
  loadedPartitions(): LoadedTxnPartition[] {
    const out: LoadedTxnPartition[] = [];
    for (const slot of this.#slots.values()) if (slot.kind === "loaded") out.push(slot.loaded);
    return out;
  }

  /** Transactions ended by this broker's coordinators, those unloaded included (metrics). */
  get counters(): TxnCounters {
    const total = { ...this.#retired };
    for (const { coordinator: { counters } } of this.loadedPartitions()) {
      total.commits += counters.commits;
      total.aborts += counters.aborts;
      total.timeouts += counters.timeouts;
    }
    return total;
  }

  /** The transactions of every partition loaded here (ListTransactions, the HTTP API). */
  list(filters: Parameters<TransactionCoordinator["list"]>[0] = {}): TxnView[] {
    return this.loadedPartitions().flatMap((p) => p.coordinator.list(filters));
  }

  /** One transaction when this broker coordinates its id, else undefined. */
  describe(transactionalId: string): TxnView | undefined {
    const route = this.route(transactionalId);
    return "errorCode" in route ? undefined : route.loaded.coordinator.describe(transactionalId);
  }

  /** KIP-890: asks the coordinator of the id (here, or its broker with AddPartitionsToTxn v4). */
  async verify(request: TxnVerifyRequest): Promise<number> {
    const partition = this.partitionOf(request.transactionalId);
    if (partition === undefined) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const leader = this.#broker.cluster?.cache.partitionState(TXN_STATE_TOPIC, partition)?.leader;
    if (leader === undefined || leader < 0) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (leader === this.#broker.config.nodeId) {
      const route = this.route(request.transactionalId);
      return "errorCode" in route ? route.errorCode : route.loaded.coordinator.verifyNow(request);
    }
    try {
      const response = await this.#clients.request(leader, addPartitionsToTxnApi, VERIFY_VERSION, {
        transactions: [{
          transactionalId: request.transactionalId,
          producerId: request.producerId,
          producerEpoch: request.producerEpoch,
          verifyOnly: true,
          topics: [{ name: request.topic, partitions: [request.partition] }],
        }],
        v3AndBelowTransactionalId: "",
        v3AndBelowProducerId: 0,
        v3AndBelowProducerEpoch: 0,
        v3AndBelowTopics: [],
      });
      if (response.errorCode !== ErrorCode.NONE) return response.errorCode;
      const code = response.resultsByTransaction[0]?.topicResults[0]?.resultsByPartition[0]
        ?.partitionErrorCode;
      return code ?? ErrorCode.UNKNOWN_SERVER_ERROR;
    } catch {
      return ErrorCode.NOT_COORDINATOR; // the producer retries (NOT_ENOUGH_REPLICAS)
    }
  }

  /** Unloads every partition and closes the peer connections (the broker is stopping). */
  close(): void {
    this.#closed = true;
    for (const partition of [...this.#slots.keys()]) this.#unload(partition);
    this.#clients.close();
  }

  #leadershipChanged(change: LeadershipChange): void {
    if (change.topic !== TXN_STATE_TOPIC || this.#closed) return;
    const slot = this.#slots.get(change.partition);
    if (!change.leading) return this.#unload(change.partition);
    if (slot?.kind === "loaded" && slot.loaded.leaderEpoch === change.leaderEpoch) return;
    this.#unload(change.partition); // a newer epoch: the log may differ from what was loaded
    // Loaded in a later turn: the partition state is applied first.
    const timer = setTimeout(() => this.#load(change.partition, change.leaderEpoch), 0);
    this.#slots.set(change.partition, { kind: "loading", leaderEpoch: change.leaderEpoch, timer });
  }

  #load(partitionIndex: number, leaderEpoch: number): void {
    const slot = this.#slots.get(partitionIndex);
    if (slot?.kind !== "loading" || slot.leaderEpoch !== leaderEpoch) return;
    const broker = this.#broker;
    const name = `${TXN_STATE_TOPIC}-${partitionIndex}`;
    const logger = broker.logger.child(name);
    const partition = broker.topics.partition(TXN_STATE_TOPIC, partitionIndex);
    try {
      if (partition === undefined) throw new Error(`No local replica of "${name}".`);
      const loaded = new Map<string, StoredTxn>();
      replayKeyedRecords(broker.libc, partition.log, partition.log.logEndOffset, name, (k, v) => {
        const id = decodeTxnKey(k);
        if (v === null) loaded.delete(id);
        else loaded.set(id, decodeTxnValue(v));
      });
      const count = broker.cluster?.cache.topics.get(TXN_STATE_TOPIC)?.record.assignment.length ??
        broker.config.txnSettings.stateLogPartitionCount;
      const log = new ReplicatedTxnLog(broker, partition, count);
      const coordinator = TransactionCoordinator.fromState(log, loaded, {
        settings: {
          ...broker.config.txnSettings,
          stateLogPartitionCount: count,
          offsetsTopicPartitionCount: broker.config.cluster?.offsetsTopicPartitions ??
            broker.config.txnSettings.offsetsTopicPartitionCount,
        },
        logger,
        nowMs: () => broker.nowMs(),
        nextProducerId: () => broker.producerIds.next(),
        channel: this.#channel,
        partitionExists: (topic, p) => {
          const cached = broker.cluster?.cache.topics.get(topic);
          return cached !== undefined && p >= 0 && p < cached.record.assignment.length;
        },
        onTimerError: (error) => broker.background.failed("A transaction coordinator timer", error),
        coordinatorEpoch: leaderEpoch,
      });
      this.#slots.set(partitionIndex, {
        kind: "loaded",
        loaded: { partition: partitionIndex, leaderEpoch, coordinator, log },
      });
      logger.info(`Loaded ${loaded.size} transactional id(s) at coordinator epoch ${leaderEpoch}.`);
    } catch (error) {
      this.#slots.delete(partitionIndex); // its ids answer NOT_COORDINATOR
      logger.error(`Cannot load the transactions of ${name}: ${(error as Error).message}`);
    }
  }

  #unload(partitionIndex: number): void {
    const slot = this.#slots.get(partitionIndex);
    if (slot === undefined) return;
    this.#slots.delete(partitionIndex);
    if (slot.kind === "loading") return clearTimeout(slot.timer);
    const { counters } = slot.loaded.coordinator;
    this.#retired.commits += counters.commits;
    this.#retired.aborts += counters.aborts;
    this.#retired.timeouts += counters.timeouts;
    slot.loaded.coordinator.close();
    this.#broker.logger.info(`Unloaded the transactions of ${TXN_STATE_TOPIC}-${partitionIndex}.`);
  }
}
