/**
 * One transactional id's state in memory (Kafka's TransactionMetadata): the
 * producer id and epoch, the timeout, the state, the partitions of the
 * ongoing transaction and its timestamps. The coordinator changes it only
 * through {@linkcode TxnMetadata.apply}, after the new state is durable in
 * `__transaction_state`, so memory never runs ahead of the log.
 *
 * @module
 */
import { assert } from "../../util/assert.ts";
import { canTransition, type TxnState } from "./txn_state.ts";
import type { StoredTxn, TxnTopicPartitions } from "./txn_records.ts";

/** Largest producer epoch; past it a new producer id is issued (Kafka's Short.MaxValue). */
export const PRODUCER_EPOCH_MAX = 32767;

/** See the module doc. */
export class TxnMetadata {
  readonly transactionalId: string;
  producerId: number;
  producerEpoch: number;
  /** The epoch before the last bump (-1 for none): a retried InitProducerId is recognised by it. */
  lastProducerEpoch = -1;
  transactionTimeoutMs: number;
  state: TxnState;
  /** Partitions of the ongoing transaction, by topic. */
  readonly partitions: Map<string, Set<number>> = new Map();
  lastUpdateTimestampMs: number;
  startTimestampMs: number;
  /** Whether the ongoing transaction was ended by the coordinator's timeout. */
  timedOut = false;

  constructor(transactionalId: string, stored: StoredTxn) {
    this.transactionalId = transactionalId;
    this.producerId = stored.producerId;
    this.producerEpoch = stored.producerEpoch;
    this.transactionTimeoutMs = stored.transactionTimeoutMs;
    this.state = stored.state;
    for (const tp of stored.partitions) this.partitions.set(tp.topic, new Set(tp.partitions));
    this.lastUpdateTimestampMs = stored.lastUpdateTimestampMs;
    this.startTimestampMs = stored.startTimestampMs;
  }

  /** The stored form of this state. */
  toStored(): StoredTxn {
    return {
      producerId: this.producerId,
      producerEpoch: this.producerEpoch,
      transactionTimeoutMs: this.transactionTimeoutMs,
      state: this.state,
      partitions: this.partitionList(),
      lastUpdateTimestampMs: this.lastUpdateTimestampMs,
      startTimestampMs: this.startTimestampMs,
    };
  }

  /** The partitions of the ongoing transaction, sorted. */
  partitionList(): TxnTopicPartitions[] {
    return [...this.partitions.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([topic, set]) => ({ topic, partitions: [...set].sort((a, b) => a - b) }));
  }

  /** Whether `topic`-`partition` is in the ongoing transaction. */
  has(topic: string, partition: number): boolean {
    return this.partitions.get(topic)?.has(partition) ?? false;
  }

  /** Partitions of the ongoing transaction. */
  get partitionCount(): number {
    let n = 0;
    for (const set of this.partitions.values()) n += set.size;
    return n;
  }

  /**
   * The state after a transition to `state` (not applied): Kafka's
   * transitions only, asserted; `changes` sets the other fields.
   */
  next(state: TxnState, nowMs: number, changes: Partial<StoredTxn> = {}): StoredTxn {
    assert(
      canTransition(this.state, state),
      `Transaction "${this.transactionalId}" cannot go from ${this.state} to ${state}.`,
    );
    return { ...this.toStored(), state, lastUpdateTimestampMs: nowMs, ...changes };
  }

  /** Takes `stored` as the current state (once it is durable). */
  apply(stored: StoredTxn): void {
    if (stored.producerEpoch !== this.producerEpoch || stored.producerId !== this.producerId) {
      this.lastProducerEpoch = stored.producerId === this.producerId ? this.producerEpoch : -1;
    }
    this.producerId = stored.producerId;
    this.producerEpoch = stored.producerEpoch;
    this.transactionTimeoutMs = stored.transactionTimeoutMs;
    this.state = stored.state;
    this.partitions.clear();
    for (const tp of stored.partitions) this.partitions.set(tp.topic, new Set(tp.partitions));
    this.lastUpdateTimestampMs = stored.lastUpdateTimestampMs;
    this.startTimestampMs = stored.startTimestampMs;
  }
}

/** `partitions` with `added` merged in. */
export function mergePartitions(
  partitions: readonly TxnTopicPartitions[],
  added: readonly TxnTopicPartitions[],
): TxnTopicPartitions[] {
  const byTopic = new Map<string, Set<number>>();
  for (const tp of [...partitions, ...added]) {
    let set = byTopic.get(tp.topic);
    if (set === undefined) byTopic.set(tp.topic, set = new Set());
    for (const p of tp.partitions) set.add(p);
  }
  return [...byTopic.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([topic, set]) => ({ topic, partitions: [...set].sort((a, b) => a - b) }));
}
