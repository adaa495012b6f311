/**
 * Log compaction (`cleanup.policy=compact`, Kafka's `LogCleaner`), off the
 * produce path: run from a timer, one segment at a time with a turn of the
 * event loop between segments.
 *
 * 1. Map every key in the inactive segments to its latest offset (the active
 *    segment is never cleaned, as in Kafka).
 * 2. Rewrite each inactive segment keeping, per key, only the record at its
 *    latest offset; records without a key are kept. A tombstone (null value)
 *    is kept until its delete horizon: the first cleaning that keeps it stamps
 *    its batch with the DELETE_HORIZON attribute and `baseTimestamp = now +
 *    delete.retention.ms` (KIP-534; record timestamps are re-encoded relative
 *    to it), and a cleaning after that horizon drops it.
 * 3. Swap the segment with {@linkcode PartitionLog.replaceSegment} (write
 *    `.cleaned`, sync, rename over `.log`, rebuild the indexes).
 *
 * Records are read with the one reader of untrusted record bytes
 * (`protocol/record_reader.ts`); when it refuses a stored batch the log is
 * left as it is and the result says why (`unreadable`): the caller marks the
 * partition uncleanable, as Kafka's LogCleaner does, instead of a throw. Compressed batches are inflated to read keys (`protocol/decompress.ts`,
 * bounded as produce bounds them): gzip and zstd, recompressed with the same
 * codec through `node:zlib` when rewritten; snappy and lz4 batches have no
 * compressor here and are kept whole. A batch left with no
 * record is dropped (Kafka keeps an empty batch for an idempotent producer's
 * last one; our producer state lives in snapshots, not in the log).
 * Segments are not merged.
 *
 * Transactions (Kafka's `CleanedTransactionMetadata`): only segments wholly
 * below the last stable offset are cleaned, so an undecided transaction is
 * never touched; the batches of aborted transactions (the segments'
 * `.txnindex`) are dropped whole and never shadow a committed key. A
 * marker whose transaction has no data left (none read in this pass) goes as
 * Kafka's does: the first such pass stamps its delete horizon (now +
 * `delete.retention.ms`, as for tombstones) and, for an ABORT, drops its
 * `.txnindex` entry (the cleaned index keeps the aborted transactions that
 * still had data in the pass); a pass after the horizon drops the marker.
 * The index is replaced before the log (`swapCleanedSegment`), so no crash
 * leaves an entry without its marker, which would hide the producer's later
 * records from read_committed consumers.
 *
 * @module
 */

import { gzipSync, zstdCompressSync } from "node:zlib";
import { setImmediate } from "node:timers";
import {
  BATCH_HEADER_BYTES,
  BATCH_LOG_OVERHEAD_BYTES,
  BatchAttribute,
  BatchField,
  RecordBatchView,
  writeInt64,
} from "../protocol/record_batch.ts";
import { varintSizeBytes, writeVarint } from "../protocol/records.ts";
import { inflate } from "../protocol/decompress.ts";
import { RecordReader } from "../protocol/record_reader.ts";
import { inflatedBytesMax } from "../protocol/record_validator.ts";
import type { PartitionLog } from "./partition_log.ts";
import type { Segment } from "./segment.ts";
import { collectAbortedTransactions } from "./log_transactions.ts";
import { decodeControlBatch } from "../protocol/control_batch.ts";
import { concatBytes } from "../util/bytes.ts";

/** What one compaction did. */
export interface CompactionResult {
  readonly segmentsRewritten: number;
  readonly recordsRemoved: number;
  readonly tombstonesRemoved: number;
  /** Batches kept whole because their codec (snappy, lz4) is not decoded here. */
  readonly batchesSkipped: number;
  /** The earliest delete horizon of a tombstone still kept (Infinity: none). */
  readonly nextHorizonMs: number;
  /**
   * Why a stored batch could not be read (the record reader's message, where): the log was
   * left as it was, and the caller marks it uncleanable, as Kafka's LogCleaner does.
   */
  readonly unreadable?: string;
}

interface ParsedRecord {
  readonly offsetDelta: number;
  readonly timestampMs: number;
  readonly key: string | undefined;
  readonly isTombstone: boolean;
  /** The record's bytes after offsetDelta (key, value, headers), in `payload`. */
  readonly tailStart: number;
  readonly tailEnd: number;
  readonly attributes: number;
}

interface ParsedBatch {
  readonly bytes: Uint8Array;
  readonly view: RecordBatchView;
  /** Uncompressed records, or undefined for a codec not decoded here. */
  readonly payload: Uint8Array | undefined;
  readonly records: ParsedRecord[];
  /** Why the records cannot be read (bad bytes, or an inflation past the bound). */
  readonly unreadable?: string;
}

const COMPRESSION_GZIP = 1;
const COMPRESSION_ZSTD = 4;

/** Compacts `log` at `nowMs`; see the module doc. Throws IoError. */
export async function compactLog(
  log: PartitionLog,
  options: { nowMs: number },
): Promise<CompactionResult> {
  const result: { -readonly [K in keyof CompactionResult]: CompactionResult[K] } = {
    segmentsRewritten: 0,
    recordsRemoved: 0,
    tombstonesRemoved: 0,
    batchesSkipped: 0,
    nextHorizonMs: Infinity,
  };
  const lastStableOffset = log.lastStableOffset;
  const inactive = log.inactiveSegments().filter((s) => s.nextOffset <= lastStableOffset);
  if (inactive.length === 0) return result;
  const aborted = abortedRanges(log, inactive[0].baseOffset, lastStableOffset);
  const latest = new Map<string, number>();
  for (const segment of inactive) {
    for (const batch of readBatches(segment, log.config.maxMessageBytes)) {
      const base = batch.view.baseOffset;
      if (batch.unreadable !== undefined) {
        result.unreadable = `the batch at offset ${base} cannot be read: ${batch.unreadable}`;
        return result; // nothing rewritten: the partition is left as it is
      }
      if (batch.view.isControl || abortedRangeOf(batch.view, aborted) !== undefined) continue;
      for (const r of batch.records) {
        if (r.key !== undefined) latest.set(r.key, base + r.offsetDelta);
      }
    }
    await nextTurn();
    if (log.isClosed) return result;
  }
  /** What this pass read of transactions, for their markers to tell whether data is left. */
  const seen: TxnDataSeen = { committed: new Set(), aborted: new Set() };
  for (const segment of inactive) {
    const parts: Uint8Array[] = [];
    let changed = false;
    for (const batch of readBatches(segment, log.config.maxMessageBytes)) {
      const abortedRange = abortedRangeOf(batch.view, aborted);
      if (abortedRange !== undefined) {
        seen.aborted.add(txnKey(batch.view.producerId, abortedRange.last));
        result.recordsRemoved += batch.view.recordCount;
        changed = true;
        continue;
      }
      if (batch.payload === undefined) result.batchesSkipped++;
      const clean = {
        nowMs: options.nowMs,
        deleteRetentionMs: log.config.deleteRetentionMs,
        result,
      };
      let rebuilt: Uint8Array | undefined;
      if (batch.view.isControl) rebuilt = cleanMarker(batch, seen, clean);
      else {
        if (batch.view.isTransactional) seen.committed.add(batch.view.producerId);
        rebuilt = cleanBatch(batch, latest, clean);
      }
      if (rebuilt !== batch.bytes) changed = true;
      if (rebuilt !== undefined) parts.push(rebuilt);
    }
    // Kafka's cleaned index: the aborted transactions that still had data in this pass.
    const entries = segment.txnIndex.entries;
    const kept = entries.filter((e) => seen.aborted.has(txnKey(e.producerId, e.lastOffset)));
    const abortedTxns = kept.length === entries.length ? undefined : kept;
    if (abortedTxns !== undefined) changed = true;
    const cleaned = { bytes: concatBytes(parts), abortedTxns };
    if (changed && log.replaceSegment(segment, cleaned)) result.segmentsRewritten++;
    await nextTurn();
    if (log.isClosed) return result;
  }
  return result;
}

/** The batch's bytes unchanged, a rebuilt batch, or undefined when no record is left. */
function cleanBatch(
  batch: ParsedBatch,
  latest: ReadonlyMap<string, number>,
  options: {
    nowMs: number;
    deleteRetentionMs: number;
    result: { -readonly [K in keyof CompactionResult]: CompactionResult[K] };
  },
): Uint8Array | undefined {
  const { view, records, payload } = batch;
  if (payload === undefined || view.isControl) return batch.bytes;
  const base = view.baseOffset;
  const hasHorizon = (view.attributes & BatchAttribute.DELETE_HORIZON) !== 0;
  const kept = records.filter((r) => {
    if (r.key !== undefined && latest.get(r.key) !== base + r.offsetDelta) {
      options.result.recordsRemoved++;
      return false;
    }
    if (r.isTombstone && hasHorizon && options.nowMs >= view.baseTimestampMs) {
      options.result.tombstonesRemoved++;
      return false;
    }
    return true;
  });
  const keepsTombstone = kept.some((r) => r.isTombstone);
  const needsHorizon = keepsTombstone && !hasHorizon;
  if (keepsTombstone) {
    const horizonMs = hasHorizon ? view.baseTimestampMs : options.nowMs + options.deleteRetentionMs;
    options.result.nextHorizonMs = Math.min(options.result.nextHorizonMs, horizonMs);
  }
  if (kept.length === records.length && !needsHorizon) return batch.bytes;
  if (kept.length === 0) return undefined;
  const baseTimestampMs = needsHorizon
    ? options.nowMs + options.deleteRetentionMs
    : view.baseTimestampMs;
  return buildBatch(batch, kept, baseTimestampMs, needsHorizon || hasHorizon);
}

/** Transactions whose data a cleaning pass read: producers since their last marker, aborts. */
interface TxnDataSeen {
  /** Producers whose (committed) transaction's data was read since their last marker. */
  readonly committed: Set<number>;
  /** Aborted transactions whose data was read (and dropped), by {@linkcode txnKey}. */
  readonly aborted: Set<string>;
}

/** An aborted transaction's key: its producer and its marker's offset. */
function txnKey(producerId: number, markerOffset: number): string {
  return `${producerId}@${markerOffset}`;
}

/**
 * A marker kept as it is, stamped with its delete horizon, or undefined (dropped): a marker
 * whose transaction had no data read in this pass goes after its horizon (Kafka's
 * `CleanedTransactionMetadata.onControlBatchRead`; see the module doc).
 */
function cleanMarker(
  batch: ParsedBatch,
  seen: TxnDataSeen,
  options: {
    nowMs: number;
    deleteRetentionMs: number;
    result: { -readonly [K in keyof CompactionResult]: CompactionResult[K] };
  },
): Uint8Array | undefined {
  const { view } = batch;
  const decoded = decodeControlBatch(view);
  if (!decoded.ok || batch.payload === undefined) return batch.bytes;
  const hadData = decoded.marker.committed
    ? seen.committed.delete(view.producerId)
    : seen.aborted.has(txnKey(view.producerId, view.baseOffset));
  if (hadData) return batch.bytes;
  const hasHorizon = (view.attributes & BatchAttribute.DELETE_HORIZON) !== 0;
  if (hasHorizon && options.nowMs >= view.baseTimestampMs) {
    options.result.recordsRemoved += view.recordCount;
    return undefined;
  }
  const horizonMs = hasHorizon ? view.baseTimestampMs : options.nowMs + options.deleteRetentionMs;
  options.result.nextHorizonMs = Math.min(options.result.nextHorizonMs, horizonMs);
  return hasHorizon ? batch.bytes : buildBatch(batch, batch.records, horizonMs, true);
}

function buildBatch(
  batch: ParsedBatch,
  kept: readonly ParsedRecord[],
  baseTimestampMs: number,
  deleteHorizon: boolean,
): Uint8Array {
  const payload = batch.payload!;
  const bodies = kept.map((r) => {
    const tail = r.tailEnd - r.tailStart;
    return 1 + varintSizeBytes(r.timestampMs - baseTimestampMs) + varintSizeBytes(r.offsetDelta) +
      tail;
  });
  let rawBytes = 0;
  for (const b of bodies) rawBytes += varintSizeBytes(b) + b;
  let records = new Uint8Array(rawBytes);
  let p = 0;
  kept.forEach((r, i) => {
    p = writeVarint(records, p, bodies[i]);
    records[p++] = r.attributes;
    p = writeVarint(records, p, r.timestampMs - baseTimestampMs);
    p = writeVarint(records, p, r.offsetDelta);
    records.set(payload.subarray(r.tailStart, r.tailEnd), p);
    p += r.tailEnd - r.tailStart;
  });
  const compression = batch.view.compression;
  if (compression === COMPRESSION_GZIP) records = new Uint8Array(gzipSync(records));
  if (compression === COMPRESSION_ZSTD) records = new Uint8Array(zstdCompressSync(records));
  const out = new Uint8Array(BATCH_HEADER_BYTES + records.length);
  out.set(batch.bytes.subarray(0, BATCH_HEADER_BYTES));
  out.set(records, BATCH_HEADER_BYTES);
  const dv = new DataView(out.buffer);
  dv.setInt32(BatchField.batchLength, out.length - BATCH_LOG_OVERHEAD_BYTES);
  const attributes = batch.view.attributes | (deleteHorizon ? BatchAttribute.DELETE_HORIZON : 0);
  dv.setInt16(BatchField.attributes, attributes);
  dv.setInt32(BatchField.lastOffsetDelta, kept[kept.length - 1].offsetDelta);
  writeInt64(dv, BatchField.baseTimestamp, baseTimestampMs);
  dv.setInt32(BatchField.recordCount, kept.length);
  new RecordBatchView(out).updateCrc();
  return out;
}

function readBatches(segment: Segment, maxMessageBytes: number): ParsedBatch[] {
  const positions: [number, number][] = [];
  segment.forEachBatch(segment.baseOffset, (header, positionBytes) => {
    positions.push([positionBytes, header.sizeBytes]);
  });
  return positions.map(([positionBytes, sizeBytes]) =>
    parseBatch(segment.readBytes(positionBytes, sizeBytes), maxMessageBytes)
  );
}

/**
 * Reads the records of a stored batch with the one record reader. A codec not rewritten here
 * (snappy, lz4) comes back without payload, to be kept whole; bytes that do not inflate within
 * the bound or do not parse come back `unreadable` (none is accepted at produce since records
 * are validated, but a data dir may hold older ones).
 */
function parseBatch(bytes: Uint8Array, maxMessageBytes: number): ParsedBatch {
  const view = new RecordBatchView(bytes);
  const unread: ParsedBatch = { bytes, view, payload: undefined, records: [] };
  const unreadable = (why: string): ParsedBatch => ({ ...unread, unreadable: why });
  const raw = bytes.subarray(BATCH_HEADER_BYTES);
  let payload: Uint8Array;
  const codec = view.compression;
  if (codec === 0) payload = raw;
  else if (codec === COMPRESSION_GZIP || codec === COMPRESSION_ZSTD) {
    const inflated = inflate(codec, raw, inflatedBytesMax(maxMessageBytes));
    if (!inflated.ok) return unreadable(inflated.message);
    payload = inflated.bytes;
  } else return unread;
  const records: ParsedRecord[] = [];
  const baseTimestampMs = view.baseTimestampMs;
  const reader = new RecordReader().reset(payload);
  for (let i = 0; i < view.recordCount; i++) {
    if (!reader.next()) return unreadable(reader.error ?? "fewer records than the batch counts");
    let key: string | undefined = undefined;
    if (reader.keyLengthBytes >= 0) {
      key = "";
      for (let k = 0; k < reader.keyLengthBytes; k++) {
        key += String.fromCharCode(payload[reader.keyStartBytes + k]);
      }
    }
    records.push({
      offsetDelta: reader.offsetDelta,
      timestampMs: view.isLogAppendTime
        ? view.maxTimestampMs
        : baseTimestampMs + reader.timestampDelta,
      key,
      isTombstone: reader.valueLengthBytes < 0,
      tailStart: reader.keyFieldStartBytes,
      tailEnd: reader.recordEndBytes,
      attributes: reader.attributes,
    });
  }
  return { bytes, view, payload, records };
}

/** The offset ranges of aborted transactions, by producer id. */
type AbortedRanges = ReadonlyMap<number, readonly { first: number; last: number }[]>;

function abortedRanges(log: PartitionLog, fromOffset: number, toOffset: number): AbortedRanges {
  const ranges = new Map<number, { first: number; last: number }[]>();
  for (const txn of collectAbortedTransactions(log.segments, fromOffset, toOffset)) {
    const list = ranges.get(txn.producerId) ?? [];
    list.push({ first: txn.firstOffset, last: txn.lastOffset });
    ranges.set(txn.producerId, list);
  }
  return ranges;
}

/** The aborted transaction a data batch belongs to (its producer's only one over its offsets). */
function abortedRangeOf(
  view: RecordBatchView,
  aborted: AbortedRanges,
): { first: number; last: number } | undefined {
  if (!view.isTransactional || view.isControl) return undefined;
  const base = view.baseOffset;
  return aborted.get(view.producerId)?.find((r) => r.first <= base && base <= r.last);
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
