/**
 * `__transaction_state`: each transactional id's state as records of Kafka's
 * formats (`txn_records.ts`) in the partition Kafka's hash assigns it
 * (`transaction.state.log.num.partitions`), one {@linkcode KeyedLog} per
 * partition under `<dataDir>/__transaction_state/<partition>/`, created when
 * first written. Every write is flushed before it returns; at start every
 * partition is replayed (last record per id wins, a tombstone removes it).
 * The directory has no `-<partition>` suffix, so it is never taken for a
 * user topic.
 *
 * @module
 */
import type { Libc } from "../../ffi/port.ts";
import { KeyedLog, type KeyedRecord } from "./keyed_log.ts";
import {
  decodeTxnKey,
  decodeTxnValue,
  encodeTxnKey,
  encodeTxnValue,
  type StoredTxn,
  txnPartitionFor,
} from "./txn_records.ts";

/** Directory of the transaction log under the data directory. */
export const TXN_LOG_DIR_NAME = "__transaction_state";
/** Kafka's transaction.state.log.num.partitions default. */
export const TXN_LOG_PARTITIONS_DEFAULT = 50;
/** Log size below which a partition is never rewritten. */
export const TXN_LOG_COMPACT_MIN_BYTES_DEFAULT = 16 * 1024 * 1024;

/** Options of {@linkcode TxnStateLog.open}. */
export interface TxnStateLogOptions {
  readonly partitionCount: number;
  readonly compactMinBytes?: number;
}

/** See the module doc. */
export class TxnStateLog {
  readonly #libc: Libc;
  readonly #root: string;
  readonly #options: TxnStateLogOptions;
  readonly #partitions = new Map<number, KeyedLog>();

  private constructor(libc: Libc, root: string, options: TxnStateLogOptions) {
    this.#libc = libc;
    this.#root = root;
    this.#options = options;
  }

  /** Opens every partition under `dataDir` and replays them: the stored state by transactional id. */
  static open(
    libc: Libc,
    dataDir: string,
    options: TxnStateLogOptions,
  ): { log: TxnStateLog; loaded: Map<string, StoredTxn> } {
    const root = `${dataDir}/${TXN_LOG_DIR_NAME}`;
    libc.mkdirp(root);
    const log = new TxnStateLog(libc, root, options);
    const loaded = new Map<string, StoredTxn>();
    try {
      for (const entry of libc.readdir(root)) {
        const partition = Number(entry.name);
        if (!entry.isDirectory || !/^\d+$/.test(entry.name)) continue;
        const keyed = new KeyedLog(libc, `${root}/${entry.name}`);
        log.#partitions.set(partition, keyed);
        keyed.replay((key, value) => {
          const id = decodeTxnKey(key);
          if (value === null) loaded.delete(id);
          else loaded.set(id, decodeTxnValue(value));
        });
      }
    } catch (e) {
      log.close();
      throw e;
    }
    return { log, loaded };
  }

  /** The partition owning `transactionalId`. */
  partitionFor(transactionalId: string): number {
    return txnPartitionFor(transactionalId, this.#options.partitionCount);
  }

  /** Stores `txn` (or a tombstone for null) durably; throws IoError when it could not. */
  write(transactionalId: string, txn: StoredTxn | null, nowMs: number): void {
    const record: KeyedRecord = {
      key: encodeTxnKey(transactionalId),
      value: txn === null ? null : encodeTxnValue(txn),
    };
    this.#partition(this.partitionFor(transactionalId)).append([record], nowMs);
  }

  /**
   * Rewrites the partition of `transactionalId` from the live state when it has
   * grown enough; `live` lists the ids and states of that partition.
   */
  maybeCompact(
    transactionalId: string,
    nowMs: number,
    live: (partition: number) => [string, StoredTxn][],
  ): void {
    const partition = this.partitionFor(transactionalId);
    const minBytes = this.#options.compactMinBytes ?? TXN_LOG_COMPACT_MIN_BYTES_DEFAULT;
    this.#partition(partition).maybeCompact(
      minBytes,
      nowMs,
      () =>
        live(partition).map(([id, txn]) => ({
          key: encodeTxnKey(id),
          value: encodeTxnValue(txn),
        })),
    );
  }

  /** Bytes in every partition. */
  get sizeBytes(): number {
    let total = 0;
    for (const p of this.#partitions.values()) total += p.sizeBytes;
    return total;
  }

  /** Closes every partition. */
  close(): void {
    for (const p of this.#partitions.values()) p.close();
    this.#partitions.clear();
  }

  #partition(partition: number): KeyedLog {
    let keyed = this.#partitions.get(partition);
    if (keyed === undefined) {
      keyed = new KeyedLog(this.#libc, `${this.#root}/${partition}`);
      this.#partitions.set(partition, keyed);
    }
    return keyed;
  }
}
