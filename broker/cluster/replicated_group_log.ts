/**
 * The group log of one replicated `__consumer_offsets` partition: what a
 * group coordinator writes in a cluster (offset commits, group metadata,
 * transactional offsets and their markers, in the same Kafka record formats
 * as the local group log) goes through the one produce path with acks=all
 * (Kafka's `offsets.commit.required.acks` = -1), so it is stamped with the
 * leader epoch, replicated, and counts only once the high watermark passes
 * it. The append itself is synchronous (the coordinator's state changes with
 * it, as before); the handler that caused a write waits for
 * {@linkcode ReplicatedGroupLog.settled} before it answers, and answers the
 * mapped error (Kafka's GroupMetadataManager mapping) when the write did not
 * commit. Compaction is the log cleaner's: the topic is `cleanup.policy=compact`.
 *
 * @module
 */
import { Errno, IoError } from "../../ffi/port.ts";
import { encodeControlBatch } from "../../protocol/control_batch.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { encodeRecordBatch } from "../../protocol/records.ts";
import type { BrokerCore } from "../context.ts";
import type { GroupLogRecord, GroupLogWriter, TxnProducerEpoch } from "../groups/offset_store.ts";
import { produceToPartition } from "../produce_path.ts";
import type { Partition } from "../topics.ts";

/** Kafka's `offsets.commit.timeout.ms`: how long a group write waits for the replicas. */
export const OFFSETS_COMMIT_TIMEOUT_MS = 5_000;

/** A group write the produce path refused (the coordinator's IoError contract: nothing written). */
export class GroupLogAppendError extends IoError {
  /** The produce path's error code. */
  readonly errorCode: number;
  constructor(partitionName: string, errorCode: number, message: string) {
    super("produce", Errno.EIO, partitionName);
    this.errorCode = errorCode;
    this.message = `Group log append to "${partitionName}" failed: ${message}`;
  }
}

/**
 * Kafka's mapping of a failed group log append to what the client is told: retry after
 * finding the coordinator again (NOT_COORDINATOR) or later (COORDINATOR_NOT_AVAILABLE).
 */
export function groupWriteErrorCode(produceErrorCode: number): number {
  switch (produceErrorCode) {
    case ErrorCode.NONE:
      return ErrorCode.NONE;
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode.NOT_ENOUGH_REPLICAS:
    case ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case ErrorCode.REQUEST_TIMED_OUT:
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
    case ErrorCode.KAFKA_STORAGE_ERROR:
      return ErrorCode.NOT_COORDINATOR;
    default:
      return ErrorCode.UNKNOWN_SERVER_ERROR;
  }
}

/** See the module doc. */
export class ReplicatedGroupLog implements GroupLogWriter {
  readonly #broker: BrokerCore;
  readonly #partition: Partition;
  readonly #timeoutMs: number;
  /** Writes not yet committed, by write number. */
  readonly #pending = new Map<number, Promise<number>>();
  #writeCount = 0;
  /** The last write that failed, and why (a produce error code). */
  #lastFailure: { write: number; errorCode: number } = { write: 0, errorCode: ErrorCode.NONE };

  constructor(broker: BrokerCore, partition: Partition, timeoutMs = OFFSETS_COMMIT_TIMEOUT_MS) {
    this.#broker = broker;
    this.#partition = partition;
    this.#timeoutMs = timeoutMs;
  }

  /** Writes so far; pass it to {@linkcode settled} to wait for the writes made after it. */
  get writeCount(): number {
    return this.#writeCount;
  }

  append(records: readonly GroupLogRecord[], txn?: TxnProducerEpoch): void {
    if (records.length === 0) return;
    const nowMs = this.#broker.nowMs();
    this.#produce(encodeRecordBatch(
      records.map((r) => ({ key: r.key, value: r.value, timestampMs: nowMs })),
      txn === undefined ? {} : { ...txn, isTransactional: true },
    ));
  }

  appendTxnMarker(txn: TxnProducerEpoch, committed: boolean, coordinatorEpoch: number): void {
    const nowMs = this.#broker.nowMs();
    this.#produce(encodeControlBatch({ ...txn, committed, coordinatorEpoch }, nowMs));
  }

  /** Never: the log cleaner compacts the topic (`cleanup.policy=compact`). */
  maybeCompact(): boolean {
    return false;
  }

  /** Nothing to close: the partition belongs to the topic registry. */
  close(): void {}

  /**
   * Resolves once every write after `sinceWrite` has committed or failed: NONE, or the
   * client's error code (see {@linkcode groupWriteErrorCode}) of the last one that failed.
   */
  async settled(sinceWrite: number): Promise<number> {
    const waits = [...this.#pending].filter(([write]) => write > sinceWrite).map(([, p]) => p);
    await Promise.all(waits);
    return this.#lastFailure.write > sinceWrite
      ? groupWriteErrorCode(this.#lastFailure.errorCode)
      : ErrorCode.NONE;
  }

  #produce(batch: Uint8Array): void {
    const write = ++this.#writeCount;
    const produced = produceToPartition(this.#broker, this.#partition, batch, -1, {
      origin: "coordinator",
      timeoutMs: this.#timeoutMs,
    });
    const name = `${this.#partition.topic.name}-${this.#partition.index}`;
    if (!produced.result.ok) {
      this.#lastFailure = { write, errorCode: produced.result.errorCode };
      throw new GroupLogAppendError(name, produced.result.errorCode, produced.result.message);
    }
    if (produced.durable === undefined) return;
    const done = produced.durable.then(() => {
      this.#pending.delete(write);
      const errorCode = produced.result.ok ? ErrorCode.NONE : produced.result.errorCode;
      if (errorCode !== ErrorCode.NONE) this.#lastFailure = { write, errorCode };
      return errorCode;
    });
    this.#pending.set(write, done);
  }
}
