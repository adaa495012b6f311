/**
 * The aborted-transaction index of one segment (Kafka's `TransactionIndex`,
 * `<base>.txnindex`): one 34-byte entry per transaction aborted by a marker
 * in the segment, in Kafka's format (version int16 = 0, producerId int64,
 * firstOffset int64, lastOffset int64, lastStableOffset int64, big endian),
 * appended in marker order. `lastOffset` is the offset of the ABORT marker,
 * `lastStableOffset` the partition's LSO once the marker was written.
 *
 * A `read_committed` fetch asks every segment from the one holding its fetch
 * offset for the aborted transactions overlapping the fetched range, until an
 * entry's lastStableOffset reaches past the range (Kafka's
 * `collectAbortedTxns` and its "complete" answer): the consumer then drops
 * those producers' records up to their ABORT marker.
 *
 * The file is created at the first abort (most segments have none) and its
 * entries are kept in memory too: an entry per aborted transaction is small
 * and a fetch reads them without I/O. Recovery rebuilds it from the log
 * (`log_loader.ts`), so it is synced only when its segment rolls or closes.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { type Libc, OpenFlags } from "../ffi/port.ts";
import { pwriteFully } from "../ffi/pwrite_fully.ts";
import { readInt64, writeInt64 } from "../protocol/record_batch.ts";

/** Bytes of one entry (Kafka's `AbortedTxn.TOTAL_SIZE`). */
export const TXN_INDEX_ENTRY_BYTES = 34;
/** Kafka's `AbortedTxn.CURRENT_VERSION`. */
const TXN_INDEX_VERSION = 0;

/** One aborted transaction. */
export interface AbortedTxn {
  readonly producerId: number;
  /** The offset of the transaction's first batch on this partition. */
  readonly firstOffset: number;
  /** The offset of its ABORT marker. */
  readonly lastOffset: number;
  /** The partition's last stable offset once the marker was written. */
  readonly lastStableOffset: number;
}

/** What a segment's index says about a fetched range (Kafka's `TxnIndexSearchResult`). */
export interface TxnIndexSearch {
  readonly abortedTransactions: AbortedTxn[];
  /** An entry's LSO reached the range's end: later segments cannot add to the answer. */
  readonly isComplete: boolean;
}

/** The file bytes of `entries` (Kafka's format). */
export function encodeTxnIndex(entries: readonly AbortedTxn[]): Uint8Array {
  const bytes = new Uint8Array(entries.length * TXN_INDEX_ENTRY_BYTES);
  const view = new DataView(bytes.buffer);
  entries.forEach((txn, i) => {
    const p = i * TXN_INDEX_ENTRY_BYTES;
    view.setInt16(p, TXN_INDEX_VERSION);
    writeInt64(view, p + 2, txn.producerId);
    writeInt64(view, p + 10, txn.firstOffset);
    writeInt64(view, p + 18, txn.lastOffset);
    writeInt64(view, p + 26, txn.lastStableOffset);
  });
  return bytes;
}

/** A file that does not hold whole, ordered entries of version 0. */
export class TxnIndexCorruptError extends Error {
  constructor(path: string, why: string) {
    super(`Transaction index "${path}" is corrupt: ${why}.`);
    this.name = "TxnIndexCorruptError";
  }
}

/** See the module doc. */
export class TransactionIndex {
  readonly path: string;
  readonly #libc: Libc;
  readonly #entries: AbortedTxn[] = [];
  #fd = -1;
  #unsynced = false;

  private constructor(libc: Libc, path: string) {
    this.#libc = libc;
    this.path = path;
  }

  /**
   * Opens the index at `path` (none yet: empty). Throws {@linkcode TxnIndexCorruptError} for a
   * file that is not whole ordered entries (recovery then rebuilds it), IoError otherwise.
   */
  static open(libc: Libc, path: string): TransactionIndex {
    const index = new TransactionIndex(libc, path);
    if (!libc.exists(path)) return index;
    const bytes = libc.readFile(path);
    if (bytes.length % TXN_INDEX_ENTRY_BYTES !== 0) {
      throw new TxnIndexCorruptError(path, `its size ${bytes.length} is not whole entries`);
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let p = 0; p < bytes.length; p += TXN_INDEX_ENTRY_BYTES) {
      const version = view.getInt16(p);
      if (version !== TXN_INDEX_VERSION) {
        throw new TxnIndexCorruptError(path, `entry at ${p} has version ${version}`);
      }
      const entry: AbortedTxn = {
        producerId: readInt64(view, p + 2),
        firstOffset: readInt64(view, p + 10),
        lastOffset: readInt64(view, p + 18),
        lastStableOffset: readInt64(view, p + 26),
      };
      const previous = index.#entries[index.#entries.length - 1];
      if (previous !== undefined && entry.lastOffset < previous.lastOffset) {
        throw new TxnIndexCorruptError(path, `entry at ${p} goes back to ${entry.lastOffset}`);
      }
      index.#entries.push(entry);
    }
    return index;
  }

  /** The entries, oldest first (read-only use). */
  get entries(): readonly AbortedTxn[] {
    return this.#entries;
  }

  /**
   * Appends `txn`, whose marker follows every indexed one. Throws IoError; the entry is kept in
   * memory all the same (fetches stay right) and the file is rebuilt by recovery.
   */
  append(txn: AbortedTxn): void {
    const last = this.#entries[this.#entries.length - 1];
    assert(
      last === undefined || txn.lastOffset > last.lastOffset,
      `Aborted transaction at ${txn.lastOffset} does not follow ${last?.lastOffset}`,
    );
    const bytes = encodeTxnIndex([txn]);
    const positionBytes = this.#entries.length * TXN_INDEX_ENTRY_BYTES;
    this.#entries.push(txn);
    this.#unsynced = true;
    pwriteFully(this.#libc, { fd: this.#open(), bytes, positionBytes, path: this.path });
  }

  /** Drops the entries whose marker is at or past `offset` (a log truncated, a replay). */
  truncateTo(offset: number): void {
    let keep = this.#entries.length;
    while (keep > 0 && this.#entries[keep - 1].lastOffset >= offset) keep--;
    if (keep === this.#entries.length) return;
    this.#entries.length = keep;
    this.#libc.ftruncate(this.#open(), keep * TXN_INDEX_ENTRY_BYTES);
    this.#unsynced = true;
  }

  /**
   * The aborted transactions overlapping `[fetchOffset, upperBoundOffset)` (Kafka's
   * `collectAbortedTxns`).
   */
  collectAbortedTxns(fetchOffset: number, upperBoundOffset: number): TxnIndexSearch {
    const abortedTransactions: AbortedTxn[] = [];
    // Entries are ordered by marker offset, and an entry's LSO is at most its marker's offset
    // + 1: the ones before the first marker at or past `fetchOffset` neither overlap the range
    // nor complete it, so the scan starts there (Kafka scans the whole file per fetch).
    let low = 0;
    for (let high = this.#entries.length; low < high;) {
      const middle = (low + high) >>> 1;
      if (this.#entries[middle].lastOffset < fetchOffset) low = middle + 1;
      else high = middle;
    }
    for (let i = low; i < this.#entries.length; i++) {
      const txn = this.#entries[i];
      if (txn.lastOffset >= fetchOffset && txn.firstOffset < upperBoundOffset) {
        abortedTransactions.push(txn);
      }
      if (txn.lastStableOffset >= upperBoundOffset) {
        return { abortedTransactions, isComplete: true };
      }
    }
    return { abortedTransactions, isComplete: false };
  }

  /** Syncs appended entries (at roll and close). Throws IoError. */
  flush(): void {
    if (!this.#unsynced || this.#fd < 0) return;
    this.#libc.fdatasync(this.#fd);
    this.#unsynced = false;
  }

  /** Closes the file (kept on disk). */
  close(): void {
    if (this.#fd >= 0) this.#libc.close(this.#fd);
    this.#fd = -1;
  }

  /** Closes and deletes the file. */
  delete(): void {
    this.close();
    if (this.#libc.exists(this.path)) this.#libc.unlink(this.path);
    this.#entries.length = 0;
  }

  #open(): number {
    if (this.#fd < 0) {
      this.#fd = this.#libc.open(
        this.path,
        OpenFlags.O_RDWR | OpenFlags.O_CREAT | OpenFlags.O_CLOEXEC,
        0o644,
      );
    }
    return this.#fd;
  }
}
