/**
 * The transaction coordinator (Kafka's TransactionCoordinator): owns every
 * transactional id of this node, its state in `__transaction_state`
 * ({@linkcode TxnStateLog}), and answers InitProducerId (with a transactional
 * id), AddPartitionsToTxn, AddOffsetsToTxn, EndTxn and the KIP-890
 * verification a partition leader asks for. Every state change is durable
 * before it is applied in memory and answered. Ending a transaction writes
 * PrepareCommit/PrepareAbort, answers, then sends the markers through the
 * {@linkcode TxnMarkerChannel} and writes CompleteCommit/CompleteAbort
 * (`txn_completion.ts`); after a restart, prepared transactions have their
 * markers sent again. Timed-out transactions are aborted, idle ids expire
 * (`txn_timers.ts`).
 *
 * @module
 */
import { IoError, type Libc } from "../../ffi/port.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import type { Logger } from "../../util/log.ts";
import { type TimerPort, Timers } from "../groups/timers.ts";
import { GROUP_METADATA_TOPIC, type TxnMarkerChannel } from "./marker_channel.ts";
import type { TxnSettings } from "./settings.ts";
import { TxnCompletion } from "./txn_completion.ts";
import { mergePartitions, PRODUCER_EPOCH_MAX, TxnMetadata } from "./txn_metadata.ts";
import { type StoredTxn, txnPartitionFor, type TxnTopicPartitions } from "./txn_records.ts";
import { isComplete, isPreparing, type TxnState } from "./txn_state.ts";
import { TxnStateLog } from "./txn_state_log.ts";
import type { TxnVerifier, TxnVerifyRequest } from "./verifier.ts";
import { scheduleTxnTimers } from "./txn_timers.ts";

/** Options of {@linkcode TransactionCoordinator.open}. */
export interface TxnCoordinatorOptions {
  readonly dataDir: string;
  readonly settings: TxnSettings;
  readonly logger: Logger;
  readonly nowMs: () => number;
  /** Fresh producer ids (`broker/producer_ids.ts`). */
  readonly nextProducerId: () => number;
  readonly channel: TxnMarkerChannel;
  /** Whether a data partition exists (AddPartitionsToTxn). */
  readonly partitionExists: (topic: string, partition: number) => boolean;
  readonly timerPort?: TimerPort;
  readonly onTimerError?: (error: unknown) => void;
  /** Log size of a `__transaction_state` partition before it is rewritten (default 16 MiB). */
  readonly compactMinBytes?: number;
  /** The epoch its markers carry: its `__transaction_state` partition's leader epoch (default 0). */
  readonly coordinatorEpoch?: number;
}

/**
 * Where the coordinator keeps its ids' states: the local {@linkcode TxnStateLog} on one node,
 * a replicated `__transaction_state` partition in a cluster (`cluster/replicated_txn_log.ts`).
 * `write` is done (or throws IoError, nothing applied) when it returns.
 */
export interface TxnStateStore {
  partitionFor(transactionalId: string): number;
  write(transactionalId: string, txn: StoredTxn | null, nowMs: number): void;
  maybeCompact(
    transactionalId: string,
    nowMs: number,
    live: (partition: number) => [string, StoredTxn][],
  ): void;
  close(): void;
}

/** Counters the metrics read. */
export interface TxnCounters {
  commits: number;
  aborts: number;
  /** Transactions the coordinator aborted after transaction.timeout.ms. */
  timeouts: number;
}

/** A producer's identity in a request. */
export interface TxnProducer {
  readonly transactionalId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
}

/** A transaction as ListTransactions / DescribeTransactions / the HTTP API report it. */
export interface TxnView {
  readonly transactionalId: string;
  readonly state: TxnState;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly transactionTimeoutMs: number;
  /** -1 when no transaction is open. */
  readonly startTimestampMs: number;
  readonly lastUpdateTimestampMs: number;
  readonly partitions: TxnTopicPartitions[];
}

/** See the module doc. */
export class TransactionCoordinator implements TxnVerifier {
  readonly settings: TxnSettings;
  readonly logger: Logger;
  readonly timers: Timers;
  readonly counters: TxnCounters = { commits: 0, aborts: 0, timeouts: 0 };
  readonly #txns = new Map<string, TxnMetadata>();
  readonly #log: TxnStateStore;
  readonly #options: TxnCoordinatorOptions;
  readonly #completion: TxnCompletion;

  private constructor(log: TxnStateStore, options: TxnCoordinatorOptions) {
    this.#log = log;
    this.#options = options;
    this.settings = options.settings;
    this.logger = options.logger;
    this.timers = new Timers(options.timerPort, options.onTimerError);
    this.#completion = new TxnCompletion(this, options.channel);
  }

  /** Opens `__transaction_state`, loads every id, sends the markers of prepared transactions. */
  static open(libc: Libc, options: TxnCoordinatorOptions): TransactionCoordinator {
    const { log, loaded } = TxnStateLog.open(libc, options.dataDir, {
      partitionCount: options.settings.stateLogPartitionCount,
      compactMinBytes: options.compactMinBytes,
    });
    const coordinator = TransactionCoordinator.fromState(log, loaded, options);
    if (loaded.size > 0) {
      options.logger.info(`Loaded ${loaded.size} transactional id(s) from __transaction_state.`);
    }
    return coordinator;
  }

  /**
   * A coordinator over `store` holding `loaded` (replayed by the caller); sends the markers of
   * prepared transactions and starts the timers.
   */
  static fromState(
    store: TxnStateStore,
    loaded: ReadonlyMap<string, StoredTxn>,
    options: Omit<TxnCoordinatorOptions, "dataDir">,
  ): TransactionCoordinator {
    const coordinator = new TransactionCoordinator(store, { ...options, dataDir: "" });
    for (const [id, stored] of loaded) coordinator.#txns.set(id, new TxnMetadata(id, stored));
    for (const meta of coordinator.#txns.values()) {
      if (meta.state === "PrepareCommit" || meta.state === "PrepareAbort") {
        coordinator.#completion.sendMarkers(meta);
      }
    }
    scheduleTxnTimers(coordinator);
    return coordinator;
  }

  nowMs(): number {
    return this.#options.nowMs();
  }

  /** The epoch its markers carry (see {@linkcode TxnCoordinatorOptions.coordinatorEpoch}). */
  get coordinatorEpoch(): number {
    return this.#options.coordinatorEpoch ?? 0;
  }

  /** The `__transaction_state` partition owning `transactionalId` (the coordinator key in a cluster). */
  partitionFor(transactionalId: string): number {
    return this.#log.partitionFor(transactionalId);
  }

  /** The transactional id's state, if known. */
  get(transactionalId: string): TxnMetadata | undefined {
    return this.#txns.get(transactionalId);
  }

  /** Every known transactional id's state. */
  all(): IterableIterator<TxnMetadata> {
    return this.#txns.values();
  }

  /**
   * Makes `next` durable, then applies it to `meta` (or forgets the id for null);
   * throws IoError when the write failed (memory unchanged).
   */
  store(meta: TxnMetadata, next: StoredTxn | null): void {
    const nowMs = this.nowMs();
    this.#log.write(meta.transactionalId, next, nowMs);
    if (next === null) this.#txns.delete(meta.transactionalId);
    else meta.apply(next);
    this.#log.maybeCompact(meta.transactionalId, nowMs, (partition) =>
      [...this.#txns.values()]
        .filter((m) => this.partitionFor(m.transactionalId) === partition)
        .map((m) => [m.transactionalId, m.toStored()]));
  }

  // -------------------------------------------------------------------------------------------
  // InitProducerId

  /** InitProducerId with a transactional id (Kafka's handleInitProducerId). */
  initProducerId(request: {
    transactionalId: string;
    transactionTimeoutMs: number;
    producerId: number;
    producerEpoch: number;
  }): { errorCode: number; producerId: number; producerEpoch: number } {
    const fail = (errorCode: number) => ({ errorCode, producerId: -1, producerEpoch: -1 });
    const timeoutMs = request.transactionTimeoutMs;
    if (request.transactionalId === "") return fail(ErrorCode.INVALID_REQUEST);
    if (timeoutMs <= 0 || timeoutMs > this.settings.transactionMaxTimeoutMs) {
      return fail(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    }
    const nowMs = this.nowMs();
    try {
      let meta = this.#txns.get(request.transactionalId);
      if (meta === undefined) {
        const stored: StoredTxn = {
          producerId: this.#options.nextProducerId(),
          producerEpoch: 0,
          transactionTimeoutMs: timeoutMs,
          state: "Empty",
          partitions: [],
          lastUpdateTimestampMs: nowMs,
          startTimestampMs: -1,
        };
        meta = new TxnMetadata(request.transactionalId, stored);
        this.#log.write(request.transactionalId, stored, nowMs);
        this.#txns.set(request.transactionalId, meta);
        return { errorCode: ErrorCode.NONE, producerId: meta.producerId, producerEpoch: 0 };
      }
      if (request.producerId >= 0) {
        const sameId = request.producerId === meta.producerId;
        if (sameId && request.producerEpoch === meta.lastProducerEpoch && isComplete(meta.state)) {
          // A retry of the bump that already happened (KIP-360).
          return { errorCode: ErrorCode.NONE, ...ids(meta) };
        }
        if (!sameId || request.producerEpoch !== meta.producerEpoch) {
          return fail(ErrorCode.PRODUCER_FENCED);
        }
      }
      if (meta.state === "Ongoing") {
        this.#completion.fenceAndAbort(meta, false);
        return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
      }
      if (!isComplete(meta.state)) return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
      const exhausted = meta.producerEpoch >= PRODUCER_EPOCH_MAX - 1;
      this.store(
        meta,
        meta.next("Empty", nowMs, {
          producerId: exhausted ? this.#options.nextProducerId() : meta.producerId,
          producerEpoch: exhausted ? 0 : meta.producerEpoch + 1,
          transactionTimeoutMs: timeoutMs,
          partitions: [],
          startTimestampMs: -1,
        }),
      );
      return { errorCode: ErrorCode.NONE, ...ids(meta) };
    } catch (e) {
      if (!(e instanceof IoError)) throw e;
      this.logger.warn(`Cannot store transaction "${request.transactionalId}": ${e.message}`);
      return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    }
  }

  // -------------------------------------------------------------------------------------------
  // AddPartitionsToTxn, AddOffsetsToTxn, verification

  /** The error a request of `producer` gets before anything else, or NONE with its state. */
  #check(producer: TxnProducer): { errorCode: number; meta?: TxnMetadata } {
    const meta = this.#txns.get(producer.transactionalId);
    if (meta === undefined || meta.producerId !== producer.producerId) {
      return { errorCode: ErrorCode.INVALID_PRODUCER_ID_MAPPING };
    }
    if (meta.producerEpoch !== producer.producerEpoch) {
      return { errorCode: ErrorCode.PRODUCER_FENCED };
    }
    return { errorCode: ErrorCode.NONE, meta };
  }

  /**
   * AddPartitionsToTxn: adds `partitions` to the producer's transaction (starting one), durably.
   * Returns one error code for every partition; partitions that do not exist are listed in
   * `unknown` (UNKNOWN_TOPIC_OR_PARTITION, the others OPERATION_NOT_ATTEMPTED).
   */
  addPartitions(
    producer: TxnProducer,
    partitions: readonly TxnTopicPartitions[],
  ): { errorCode: number; unknown: TxnTopicPartitions[] } {
    const { errorCode, meta } = this.#check(producer);
    if (meta === undefined) return { errorCode, unknown: [] };
    if (isPreparing(meta.state)) {
      return { errorCode: ErrorCode.CONCURRENT_TRANSACTIONS, unknown: [] };
    }
    if (meta.state === "Dead") return { errorCode: ErrorCode.INVALID_TXN_STATE, unknown: [] };
    const unknown = partitions.map((tp) => ({
      topic: tp.topic,
      partitions: tp.partitions.filter((p) =>
        tp.topic !== GROUP_METADATA_TOPIC && !this.#options.partitionExists(tp.topic, p)
      ),
    })).filter((tp) => tp.partitions.length > 0);
    if (unknown.length > 0) return { errorCode: ErrorCode.OPERATION_NOT_ATTEMPTED, unknown };
    const ongoing = meta.state === "Ongoing";
    if (ongoing && partitions.every((tp) => tp.partitions.every((p) => meta.has(tp.topic, p)))) {
      return { errorCode: ErrorCode.NONE, unknown: [] };
    }
    const nowMs = this.nowMs();
    try {
      this.store(
        meta,
        meta.next("Ongoing", nowMs, {
          partitions: mergePartitions(ongoing ? meta.partitionList() : [], partitions),
          startTimestampMs: ongoing ? meta.startTimestampMs : nowMs,
        }),
      );
    } catch (e) {
      if (!(e instanceof IoError)) throw e;
      this.logger.warn(`Cannot store transaction "${producer.transactionalId}": ${e.message}`);
      return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, unknown: [] };
    }
    if (!ongoing) meta.timedOut = false;
    return { errorCode: ErrorCode.NONE, unknown: [] };
  }

  /** AddOffsetsToTxn: adds the group's `__consumer_offsets` partition to the transaction. */
  addOffsets(producer: TxnProducer, groupId: string): number {
    return this.addPartitions(producer, [{
      topic: GROUP_METADATA_TOPIC,
      partitions: [this.offsetsPartitionFor(groupId)],
    }]).errorCode;
  }

  /** The `__consumer_offsets` partition of `groupId` (Kafka's hash). */
  offsetsPartitionFor(groupId: string): number {
    return txnPartitionFor(groupId, this.settings.offsetsTopicPartitionCount);
  }

  /** KIP-890 part 1: NONE when `topic`-`partition` is in the producer's ongoing transaction. */
  verify(request: TxnVerifyRequest): Promise<number> {
    return Promise.resolve(this.verifyNow(request));
  }

  /** {@linkcode TransactionCoordinator.verify}, synchronously. */
  verifyNow(request: TxnVerifyRequest): number {
    const { errorCode, meta } = this.#check(request);
    if (meta === undefined) return errorCode;
    if (meta.state !== "Ongoing" || !meta.has(request.topic, request.partition)) {
      return ErrorCode.INVALID_TXN_STATE;
    }
    return ErrorCode.NONE;
  }

  // -------------------------------------------------------------------------------------------
  // EndTxn

  /** EndTxn: NONE once the outcome is durable (the markers follow, see `txn_completion.ts`). */
  endTxn(producer: TxnProducer, committed: boolean): number {
    const { errorCode, meta } = this.#check(producer);
    if (meta === undefined) return errorCode;
    const asked = committed ? "Commit" : "Abort";
    switch (meta.state) {
      case "Ongoing":
        return this.#completion.prepare(meta, committed);
      case "CompleteCommit":
      case "CompleteAbort":
        return meta.state === `Complete${asked}` ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE;
      case "PrepareCommit":
      case "PrepareAbort":
        return meta.state === `Prepare${asked}`
          ? ErrorCode.CONCURRENT_TRANSACTIONS
          : ErrorCode.INVALID_TXN_STATE;
      case "PrepareEpochFence":
        return ErrorCode.CONCURRENT_TRANSACTIONS;
      default:
        return ErrorCode.INVALID_TXN_STATE;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Views, lifecycle

  /** The transactions, filtered as ListTransactions asks (empty filters match all). */
  list(
    filters: {
      states?: readonly TxnState[];
      producerIds?: readonly number[];
      minDurationMs?: number;
    } = {},
  ): TxnView[] {
    const nowMs = this.nowMs();
    const states = new Set(filters.states ?? []);
    const pids = new Set(filters.producerIds ?? []);
    const minDurationMs = filters.minDurationMs ?? -1;
    return [...this.#txns.values()]
      .filter((m) => states.size === 0 || states.has(m.state))
      .filter((m) => pids.size === 0 || pids.has(m.producerId))
      .filter((m) =>
        minDurationMs < 0 || (m.startTimestampMs >= 0 && nowMs - m.startTimestampMs > minDurationMs)
      )
      .map(view);
  }

  /** One transaction, or undefined for an unknown id. */
  describe(transactionalId: string): TxnView | undefined {
    const meta = this.#txns.get(transactionalId);
    return meta === undefined ? undefined : view(meta);
  }

  /** Aborts `meta`'s Ongoing transaction after its timeout, the epoch bumped; whether it was stored. */
  abortForTimeout(meta: TxnMetadata): boolean {
    return this.#completion.fenceAndAbort(meta, true);
  }

  /** Resolves when no transaction is writing markers (tests, shutdown). */
  idle(): Promise<void> {
    return this.#completion.idle();
  }

  /** Stops the timers and marker retries, closes `__transaction_state`. */
  close(): void {
    this.timers.close();
    this.#completion.close();
    this.#log.close();
  }
}

function ids(meta: TxnMetadata): { producerId: number; producerEpoch: number } {
  return { producerId: meta.producerId, producerEpoch: meta.producerEpoch };
}

function view(m: TxnMetadata): TxnView {
  return {
    transactionalId: m.transactionalId,
    state: m.state,
    producerId: m.producerId,
    producerEpoch: m.producerEpoch,
    transactionTimeoutMs: m.transactionTimeoutMs,
    startTimestampMs: m.startTimestampMs,
    lastUpdateTimestampMs: m.lastUpdateTimestampMs,
    partitions: m.partitionList(),
  };
}
