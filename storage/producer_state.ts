/**
 * Producer state of one partition (Kafka's `ProducerStateManager` and
 * `ProducerStateEntry`): per producer id, its epoch, the metadata of its last
 * five batches, so that a retried batch is answered with the offsets it got
 * the first time instead of being appended twice, and its ongoing
 * transaction (first and last offset) with the coordinator epoch of its last
 * marker.
 *
 * The checks follow Kafka 3.x (`ProducerAppendInfo`, `UnifiedLog.
 * analyzeAndValidateProducerState`) for client appends:
 * - a batch whose epoch, first and last sequence match one of the five
 *   cached batches is a duplicate: nothing is appended and the produce is
 *   answered with error NONE and the original offsets;
 * - an epoch below the producer's current one is INVALID_PRODUCER_EPOCH;
 * - a new epoch must start at sequence 0, otherwise OUT_OF_ORDER_SEQUENCE_NUMBER;
 * - within an epoch the first sequence must follow the last one (wrapping at
 *   2^31 - 1), otherwise OUT_OF_ORDER_SEQUENCE_NUMBER;
 * - a producer id with no state (new, expired, or removed with its
 *   segments) is accepted at any sequence, as Kafka has done since KIP-360;
 *   Kafka 3.x no longer answers UNKNOWN_PRODUCER_ID to a produce, nor do we.
 *
 * Transactions: a transactional batch starts the producer's transaction on
 * this partition (its first offset) or extends it; an EndTransactionMarker
 * ends it ({@linkcode ProducerStateManager.checkMarker},
 * {@linkcode ProducerStateManager.updateMarker}) and comes back as the
 * completed transaction the log indexes when it was aborted. The smallest
 * first offset of the ongoing transactions is the partition's first unstable
 * offset (the LSO's bound). Before a transactional batch that would start a
 * transaction is appended, the leader has the coordinator verify it (KIP-890):
 * {@linkcode ProducerStateManager.startVerification} hands out a guard that
 * the append must present and that a marker or the start of a transaction
 * voids, so a produce delayed past its transaction's end cannot open a new one.
 *
 * The state is snapshotted to `<offset>.snapshot` files (Kafka's layout, our
 * own encoding with a CRC-32C) at segment roll and clean shutdown, and
 * rebuilt at open from the newest snapshot plus the batch headers after it.
 *
 * @module
 */

import { assert } from "../util/assert.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { decodeProducerSnapshot, encodeProducerSnapshot } from "./producer_snapshot.ts";

/** Batches remembered per producer (Kafka's `NUM_BATCHES_TO_RETAIN`, and the client's max in-flight). */
export const PRODUCER_BATCHES_RETAINED = 5;
/** Kafka's `RecordBatch.NO_PRODUCER_EPOCH`. */
export const NO_PRODUCER_EPOCH = -1;
const SEQUENCE_MAX = 2147483647;

/** Where one producer batch landed. */
export interface ProducerBatch {
  readonly firstSequence: number;
  readonly lastSequence: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
  readonly timestampMs: number;
}

/** One producer's state. */
export interface ProducerEntry {
  readonly producerId: number;
  producerEpoch: number;
  /** The last batches, oldest first, at most {@linkcode PRODUCER_BATCHES_RETAINED}. */
  batches: ProducerBatch[];
  /** maxTimestamp of the last batch (Kafka's `lastTimestamp`, used for expiry). */
  lastTimestampMs: number;
  /** The first offset of the ongoing transaction; -1: none. */
  currentTxnFirstOffset: number;
  /** The last offset written in the ongoing transaction; -1: none. */
  currentTxnLastOffset: number;
  /** The coordinator epoch of the producer's last marker; -1: none yet. */
  coordinatorEpoch: number;
}

/** The producer fields of a batch header. */
export interface ProducerBatchHeader {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly lastOffsetDelta: number;
  readonly baseOffset: number;
  readonly maxTimestampMs: number;
  /** A transactional batch (attributes bit 4). */
  readonly isTransactional?: boolean;
}

/** A transaction ended by a marker (Kafka's `CompletedTxn`). */
export interface CompletedTxn {
  readonly producerId: number;
  readonly firstOffset: number;
  /** The marker's offset. */
  readonly lastOffset: number;
  readonly isAborted: boolean;
}

/** The marker fields the state checks. */
export interface MarkerHeader {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly coordinatorEpoch: number;
  readonly committed: boolean;
  /** The marker's offset. */
  readonly offset: number;
  readonly timestampMs: number;
}

/** What a transactional append must present (see {@linkcode ProducerStateManager.startVerification}). */
export type VerificationGuard = { readonly producerId: number };

/** The verdict on one batch. */
export type SequenceVerdict =
  | { readonly kind: "append" }
  | { readonly kind: "duplicate"; readonly batch: ProducerBatch }
  | { readonly kind: "error"; readonly errorCode: number; readonly message: string };

/** The last sequence of a batch (Kafka's `DefaultRecordBatch.incrementSequence`). */
export function lastSequenceOf(baseSequence: number, lastOffsetDelta: number): number {
  if (baseSequence > SEQUENCE_MAX - lastOffsetDelta) {
    return lastOffsetDelta - (SEQUENCE_MAX - baseSequence) - 1;
  }
  return baseSequence + lastOffsetDelta;
}

function inSequence(lastSequence: number, nextSequence: number): boolean {
  return nextSequence === lastSequence + 1 || (nextSequence === 0 && lastSequence === SEQUENCE_MAX);
}

/** See the module doc. */
export class ProducerStateManager {
  readonly #entries = new Map<number, ProducerEntry>();
  /** Producers with an ongoing transaction, to its first offset. */
  readonly #ongoing = new Map<number, number>();
  readonly #guards = new Map<number, VerificationGuard>();

  /** The number of producers with state. */
  get producerCount(): number {
    return this.#entries.size;
  }

  /** Every producer with state (read-only use), in no particular order (DescribeProducers). */
  entries(): IterableIterator<Readonly<ProducerEntry>> {
    return this.#entries.values();
  }

  /** A producer's state (read-only use), or `undefined`. */
  entry(producerId: number): Readonly<ProducerEntry> | undefined {
    return this.#entries.get(producerId);
  }

  /**
   * Checks a client batch against the state plus `pending` (batches of the same request that
   * were accepted before it, not yet committed). Does not change the state.
   */
  check(
    header: ProducerBatchHeader,
    pending?: ReadonlyMap<number, ProducerEntry>,
  ): SequenceVerdict {
    const entry = pending?.get(header.producerId) ?? this.#entries.get(header.producerId);
    if (entry === undefined) return { kind: "append" };
    const firstSequence = header.baseSequence;
    const lastSequence = lastSequenceOf(firstSequence, header.lastOffsetDelta);
    if (header.producerEpoch === entry.producerEpoch) {
      for (const b of entry.batches) {
        if (b.firstSequence === firstSequence && b.lastSequence === lastSequence) {
          return { kind: "duplicate", batch: b };
        }
      }
    }
    const id = header.producerId;
    if (header.producerEpoch < entry.producerEpoch) {
      return error(
        ErrorCode.INVALID_PRODUCER_EPOCH,
        `Epoch of producer ${id} is ${header.producerEpoch}, which is smaller than the last seen epoch ${entry.producerEpoch}.`,
      );
    }
    if (header.producerEpoch !== entry.producerEpoch) {
      if (firstSequence !== 0 && entry.producerEpoch !== NO_PRODUCER_EPOCH) {
        return error(
          ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          `Invalid sequence number for new epoch of producer ${id}: ${header.producerEpoch} (request epoch), ${firstSequence} (seq. number), ${entry.producerEpoch} (current producer epoch).`,
        );
      }
      return { kind: "append" };
    }
    const last = entry.batches[entry.batches.length - 1];
    if (last !== undefined && !inSequence(last.lastSequence, firstSequence)) {
      return error(
        ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
        `Out of order sequence number for producer ${id}: ${firstSequence} (incoming seq. number), ${last.lastSequence} (current end sequence number).`,
      );
    }
    return { kind: "append" };
  }

  /**
   * Records an appended batch into `into` (default: the state itself); an epoch change drops
   * the cached batches. Returns the updated entry.
   */
  update(header: ProducerBatchHeader, into?: Map<number, ProducerEntry>): ProducerEntry {
    assert(header.producerId >= 0, "Only idempotent batches have producer state");
    const target = into ?? this.#entries;
    const current = target.get(header.producerId) ?? this.#entries.get(header.producerId);
    const entry: ProducerEntry = current === undefined
      ? {
        producerId: header.producerId,
        producerEpoch: header.producerEpoch,
        batches: [],
        lastTimestampMs: -1,
        currentTxnFirstOffset: -1,
        currentTxnLastOffset: -1,
        coordinatorEpoch: -1,
      }
      : { ...current, batches: [...current.batches] };
    if (entry.producerEpoch !== header.producerEpoch) {
      entry.producerEpoch = header.producerEpoch;
      entry.batches = [];
    }
    if (header.baseSequence >= 0) {
      entry.batches.push({
        firstSequence: header.baseSequence,
        lastSequence: lastSequenceOf(header.baseSequence, header.lastOffsetDelta),
        firstOffset: header.baseOffset,
        lastOffset: header.baseOffset + header.lastOffsetDelta,
        timestampMs: header.maxTimestampMs,
      });
      if (entry.batches.length > PRODUCER_BATCHES_RETAINED) entry.batches.shift();
    }
    if (header.isTransactional === true) {
      if (entry.currentTxnFirstOffset < 0) entry.currentTxnFirstOffset = header.baseOffset;
      entry.currentTxnLastOffset = header.baseOffset + header.lastOffsetDelta;
    }
    entry.lastTimestampMs = Math.max(entry.lastTimestampMs, header.maxTimestampMs);
    target.set(header.producerId, entry);
    if (into === undefined) this.#trackOngoing(entry);
    return entry;
  }

  /**
   * Checks an EndTransactionMarker against the state plus `pending` (Kafka's
   * `checkProducerEpoch` and `checkCoordinatorEpoch`): an epoch below the producer's is
   * INVALID_PRODUCER_EPOCH, a coordinator epoch below its last marker's
   * TRANSACTION_COORDINATOR_FENCED.
   */
  checkMarker(marker: MarkerHeader, pending?: ReadonlyMap<number, ProducerEntry>): SequenceVerdict {
    const entry = pending?.get(marker.producerId) ?? this.#entries.get(marker.producerId);
    if (entry === undefined) return { kind: "append" };
    const id = marker.producerId;
    if (marker.producerEpoch < entry.producerEpoch) {
      return error(
        ErrorCode.INVALID_PRODUCER_EPOCH,
        `Epoch of producer ${id} is ${marker.producerEpoch}, which is smaller than the last seen epoch ${entry.producerEpoch}.`,
      );
    }
    if (marker.coordinatorEpoch < entry.coordinatorEpoch) {
      return error(
        ErrorCode.TRANSACTION_COORDINATOR_FENCED,
        `Marker of producer ${id} has coordinator epoch ${marker.coordinatorEpoch}, below the last seen ${entry.coordinatorEpoch}.`,
      );
    }
    return { kind: "append" };
  }

  /**
   * Records a checked marker into `into`: the producer's transaction ends and its
   * verification guard is voided at once. Returns the
   * completed transaction, or undefined when none was ongoing (Kafka writes the marker all
   * the same; it moves no LSO and indexes nothing).
   */
  updateMarker(marker: MarkerHeader, into: Map<number, ProducerEntry>): CompletedTxn | undefined {
    const current = into.get(marker.producerId) ?? this.#entries.get(marker.producerId);
    const entry: ProducerEntry = current === undefined
      ? {
        producerId: marker.producerId,
        producerEpoch: marker.producerEpoch,
        batches: [],
        lastTimestampMs: -1,
        currentTxnFirstOffset: -1,
        currentTxnLastOffset: -1,
        coordinatorEpoch: -1,
      }
      : { ...current, batches: [...current.batches] };
    const completed = entry.currentTxnFirstOffset < 0 ? undefined : {
      producerId: marker.producerId,
      firstOffset: entry.currentTxnFirstOffset,
      lastOffset: marker.offset,
      isAborted: !marker.committed,
    };
    if (entry.producerEpoch !== marker.producerEpoch) {
      entry.producerEpoch = marker.producerEpoch;
      entry.batches = [];
    }
    entry.currentTxnFirstOffset = -1;
    entry.currentTxnLastOffset = -1;
    entry.coordinatorEpoch = marker.coordinatorEpoch;
    entry.lastTimestampMs = Math.max(entry.lastTimestampMs, marker.timestampMs);
    into.set(marker.producerId, entry);
    // Whatever a coordinator answered before this marker is stale: the transaction it vouched
    // for has ended (even one with no data here yet), so a verification in flight is voided.
    this.#guards.delete(marker.producerId);
    return completed;
  }

  /**
   * Makes the entries of {@linkcode update}`(header, pending)` and
   * {@linkcode updateMarker} part of the state. A producer whose transaction started or ended
   * here loses its verification guard.
   */
  commit(pending: ReadonlyMap<number, ProducerEntry>): void {
    for (const [id, entry] of pending) {
      const before = this.#entries.get(id)?.currentTxnFirstOffset ?? -1;
      this.#entries.set(id, entry);
      if (entry.currentTxnFirstOffset !== before) this.#guards.delete(id);
      this.#trackOngoing(entry);
    }
  }

  /** Whether `producerId` has a transaction ongoing on this partition. */
  hasOngoingTxn(producerId: number): boolean {
    return this.#ongoing.has(producerId);
  }

  /** The smallest first offset of the ongoing transactions (Kafka's `firstUnstableOffset`). */
  firstUnstableOffset(): number | undefined {
    let first: number | undefined = undefined;
    for (const offset of this.#ongoing.values()) {
      if (first === undefined || offset < first) first = offset;
    }
    return first;
  }

  /** How many transactions are ongoing. */
  get ongoingTxnCount(): number {
    return this.#ongoing.size;
  }

  /**
   * The guard a transactional append that starts a transaction must present, created for a
   * verification about to ask the coordinator (Kafka's `maybeCreateVerificationStateEntry`:
   * concurrent verifications of one producer share it).
   */
  startVerification(producerId: number): VerificationGuard {
    let guard = this.#guards.get(producerId);
    if (guard === undefined) {
      guard = { producerId };
      this.#guards.set(producerId, guard);
    }
    return guard;
  }

  /** Whether `guard` is still the producer's (no marker and no transaction start since). */
  isVerified(producerId: number, guard: VerificationGuard | undefined): boolean {
    return guard !== undefined && this.#guards.get(producerId) === guard;
  }

  /** Forgets `guard` if it is still the producer's (the coordinator said no). */
  dropVerification(guard: VerificationGuard): void {
    if (this.#guards.get(guard.producerId) === guard) this.#guards.delete(guard.producerId);
  }

  #trackOngoing(entry: ProducerEntry): void {
    if (entry.currentTxnFirstOffset >= 0) {
      this.#ongoing.set(entry.producerId, entry.currentTxnFirstOffset);
    } else this.#ongoing.delete(entry.producerId);
  }

  /** Drops producers whose last batch is below `logStartOffset` (Kafka's `truncateHead`). */
  truncateHead(logStartOffset: number): void {
    for (const [id, entry] of this.#entries) {
      const last = entry.batches[entry.batches.length - 1];
      if (last === undefined || last.lastOffset < logStartOffset) {
        this.#entries.delete(id);
        this.#ongoing.delete(id);
      }
    }
  }

  /** Drops producers idle since before `nowMs - expirationMs` (`producer.id.expiration.ms`). */
  removeExpired(nowMs: number, expirationMs: number): number {
    let removed = 0;
    for (const [id, entry] of this.#entries) {
      // Kafka keeps a producer with an ongoing transaction (`isProducerExpired`).
      if (entry.currentTxnFirstOffset < 0 && entry.lastTimestampMs < nowMs - expirationMs) {
        this.#entries.delete(id);
        removed++;
      }
    }
    return removed;
  }

  /** Forgets every producer. */
  clear(): void {
    this.#entries.clear();
    this.#ongoing.clear();
    this.#guards.clear();
  }

  /** The snapshot encoding (`producer_snapshot.ts`). */
  encode(): Uint8Array {
    return encodeProducerSnapshot([...this.#entries.values()]);
  }

  /** Replaces the state with a snapshot; throws `SnapshotCorruptError` for a bad file. */
  load(bytes: Uint8Array, path: string): void {
    const entries = decodeProducerSnapshot(bytes, path);
    this.clear();
    for (const e of entries) {
      this.#entries.set(e.producerId, e);
      this.#trackOngoing(e);
    }
  }
}

export { SnapshotCorruptError } from "./producer_snapshot.ts";

function error(errorCode: number, message: string): SequenceVerdict {
  return { kind: "error", errorCode, message };
}
