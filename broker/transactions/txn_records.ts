/**
 * The records of `__transaction_state`, in Kafka's formats: `TransactionLogKey`
 * v0 (the transactional id) and `TransactionLogValue` v0 (producer id and
 * epoch, timeout, state, partitions, timestamps; classic, non-flexible), so
 * Kafka's tools can decode them. A null value is a tombstone (an expired
 * transactional id). Also Kafka's mapping of a transactional id to its
 * `__transaction_state` partition, which decides the coordinator in a cluster.
 *
 * @module
 */
import { Reader, Writer } from "../../protocol/primitives.ts";
import { type TxnState, txnStateFromId, txnStateId } from "./txn_state.ts";

const KEY_VERSION = 0;
const VALUE_VERSION = 0;

/** One partition list of a transaction: a topic and its partition indexes. */
export interface TxnTopicPartitions {
  readonly topic: string;
  readonly partitions: readonly number[];
}

/** A transaction's stored state (the fields of `TransactionLogValue`). */
export interface StoredTxn {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly transactionTimeoutMs: number;
  readonly state: TxnState;
  readonly partitions: readonly TxnTopicPartitions[];
  readonly lastUpdateTimestampMs: number;
  /** -1 when no transaction has started. */
  readonly startTimestampMs: number;
}

/** Key of a transactional id's record. */
export function encodeTxnKey(transactionalId: string): Uint8Array {
  const w = new Writer({ bufferSizeBytes: 16 + transactionalId.length * 3 });
  w.int16(KEY_VERSION);
  w.string(transactionalId);
  return w.toBytes();
}

/** Decodes a key; throws on an unknown version or corrupt bytes. */
export function decodeTxnKey(bytes: Uint8Array): string {
  const r = new Reader(bytes);
  const version = r.int16();
  if (version !== KEY_VERSION) throw new Error(`Unknown transaction log key version ${version}.`);
  const id = r.string();
  check(r, "key");
  return id;
}

/** Value of a transaction's state. */
export function encodeTxnValue(t: StoredTxn): Uint8Array {
  const w = new Writer({ bufferSizeBytes: 128 });
  w.int16(VALUE_VERSION);
  w.int64(t.producerId);
  w.int16(t.producerEpoch);
  w.int32(t.transactionTimeoutMs);
  w.int8(txnStateId(t.state));
  w.int32(t.partitions.length);
  for (const tp of t.partitions) {
    w.string(tp.topic);
    w.int32(tp.partitions.length);
    for (const p of tp.partitions) w.int32(p);
  }
  w.int64(t.lastUpdateTimestampMs);
  w.int64(t.startTimestampMs);
  return w.toBytes();
}

/** Decodes a value (v0, or v1 with its tagged fields skipped); throws on corrupt bytes. */
export function decodeTxnValue(bytes: Uint8Array): StoredTxn {
  const r = new Reader(bytes);
  const version = r.int16();
  if (version < 0 || version > 1) {
    throw new Error(`Unknown transaction log value version ${version}.`);
  }
  const flexible = version >= 1;
  const producerId = r.int64();
  const producerEpoch = r.int16();
  const transactionTimeoutMs = r.int32();
  const state = txnStateFromId(r.int8());
  const partitions: TxnTopicPartitions[] = [];
  const count = r.arrayLength(flexible);
  for (let i = 0; i < count && r.ok; i++) {
    const topic = r.string(flexible);
    const n = r.arrayLength(flexible);
    const ids: number[] = [];
    for (let j = 0; j < n && r.ok; j++) ids.push(r.int32());
    if (flexible) r.skipTaggedFields();
    partitions.push({ topic, partitions: ids });
  }
  const lastUpdateTimestampMs = r.int64();
  const startTimestampMs = r.int64();
  if (flexible) r.skipTaggedFields();
  check(r, "value");
  return {
    producerId,
    producerEpoch,
    transactionTimeoutMs,
    state,
    partitions,
    lastUpdateTimestampMs,
    startTimestampMs,
  };
}

/**
 * The `__transaction_state` partition owning `transactionalId`: Kafka's
 * `Utils.abs(transactionalId.hashCode) % partitionCount`, with Java's
 * String.hashCode over UTF-16 code units.
 */
export function txnPartitionFor(transactionalId: string, partitionCount: number): number {
  let hash = 0;
  for (let i = 0; i < transactionalId.length; i++) {
    hash = (Math.imul(hash, 31) + transactionalId.charCodeAt(i)) | 0;
  }
  const abs = hash === -2147483648 ? 0 : Math.abs(hash);
  return abs % partitionCount;
}

function check(r: Reader, what: string): void {
  if (!r.ok) throw new Error(`Corrupt transaction log ${what}: ${r.error}.`);
  if (r.remaining !== 0) {
    throw new Error(`Corrupt transaction log ${what}: ${r.remaining} bytes left over.`);
  }
}
