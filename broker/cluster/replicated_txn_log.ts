/**
 * The state store of one replicated `__transaction_state` partition: what a
 * transaction coordinator writes in a cluster (`TransactionLogKey` /
 * `TransactionLogValue` records, `transactions/txn_records.ts`) goes through
 * the one produce path with acks=all (Kafka's coordinator appends with
 * `requiredAcks = -1`), stamped with the leader epoch and replicated. The
 * append is synchronous (the coordinator applies the state when it returns,
 * as on one node); a handler that caused a write answers once
 * {@linkcode ReplicatedTxnLog.settled} resolves, with Kafka's mapping of a
 * write that did not commit (NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE).
 * Compaction is the log cleaner's (`cleanup.policy=compact`).
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import { encodeRecordBatch } from "../../protocol/records.ts";
import type { BrokerCore } from "../context.ts";
import { produceToPartition } from "../produce_path.ts";
import type { Partition } from "../topics.ts";
import type { TxnStateStore } from "../transactions/coordinator.ts";
import {
  encodeTxnKey,
  encodeTxnValue,
  type StoredTxn,
  txnPartitionFor,
} from "../transactions/txn_records.ts";
import { Errno, IoError } from "../../ffi/port.ts";
import { groupWriteErrorCode } from "./replicated_group_log.ts";

/** Kafka's `transaction.state.log` write timeout (its request.timeout.ms default, 30 s, is long for tests; the offsets one). */
export const TXN_STATE_WRITE_TIMEOUT_MS = 5_000;

/** See the module doc. */
export class ReplicatedTxnLog implements TxnStateStore {
  readonly #broker: BrokerCore;
  readonly #partition: Partition;
  readonly #partitionCount: number;
  readonly #pending = new Map<number, Promise<void>>();
  #writeCount = 0;
  #lastFailure: { write: number; errorCode: number } = { write: 0, errorCode: ErrorCode.NONE };

  constructor(broker: BrokerCore, partition: Partition, partitionCount: number) {
    this.#broker = broker;
    this.#partition = partition;
    this.#partitionCount = partitionCount;
  }

  /** Writes so far; pass it to {@linkcode settled} to wait for the writes made after it. */
  get writeCount(): number {
    return this.#writeCount;
  }

  partitionFor(transactionalId: string): number {
    return txnPartitionFor(transactionalId, this.#partitionCount);
  }

  write(transactionalId: string, txn: StoredTxn | null, nowMs: number): void {
    const batch = encodeRecordBatch([{
      key: encodeTxnKey(transactionalId),
      value: txn === null ? null : encodeTxnValue(txn),
      timestampMs: nowMs,
    }]);
    const write = ++this.#writeCount;
    const produced = produceToPartition(this.#broker, this.#partition, batch, -1, {
      origin: "coordinator",
      timeoutMs: TXN_STATE_WRITE_TIMEOUT_MS,
    });
    const name = `${this.#partition.topic.name}-${this.#partition.index}`;
    if (!produced.result.ok) {
      this.#lastFailure = { write, errorCode: produced.result.errorCode };
      const error = new IoError("produce", Errno.EIO, name);
      error.message = `Transaction state append to "${name}" failed: ${produced.result.message}`;
      throw error;
    }
    if (produced.durable === undefined) return;
    this.#pending.set(
      write,
      produced.durable.then(() => {
        this.#pending.delete(write);
        if (!produced.result.ok) {
          this.#lastFailure = { write, errorCode: produced.result.errorCode };
        }
      }),
    );
  }

  /** Never: the log cleaner compacts the topic (`cleanup.policy=compact`). */
  maybeCompact(): void {}

  /** Nothing to close: the partition belongs to the topic registry. */
  close(): void {}

  /**
   * Resolves once every write after `sinceWrite` has committed or failed: NONE, or the
   * client's error code of the last one that failed (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE).
   */
  async settled(sinceWrite: number): Promise<number> {
    const waits = [...this.#pending].filter(([write]) => write > sinceWrite).map(([, p]) => p);
    await Promise.all(waits);
    return this.#lastFailure.write > sinceWrite
      ? groupWriteErrorCode(this.#lastFailure.errorCode)
      : ErrorCode.NONE;
  }
}
