/**
 * Reading a log's segments (Kafka's `LocalLog.read` and
 * `UnifiedLog.fetchOffsetByTimestamp`): a fetch within the log's bounds
 * becomes file slices of whole batches (see `fetch_pipeline.ts`), outside them
 * OFFSET_OUT_OF_RANGE, an I/O failure KAFKA_STORAGE_ERROR; ListOffsets finds
 * an offset by timestamp through the segments' time indexes. Nothing here
 * reads record bytes into the heap except the timestamp scan of one batch.
 *
 * @module
 */
import { IoError } from "../ffi/port.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { type FetchSlices, NO_SLICES, readSlices } from "./fetch_pipeline.ts";
import type { Segment } from "./segment.ts";
import type { TimestampOffset } from "./time_index.ts";
import type { AbortedTxn } from "./txn_index.ts";

/**
 * The outcome of `PartitionLog.read`: slices with the offsets they hold (see
 * {@linkcode FetchSlices}), or OFFSET_OUT_OF_RANGE / KAFKA_STORAGE_ERROR with none.
 */
export interface ReadResult extends FetchSlices {
  readonly errorCode: number;
  readonly highWatermark: number;
  readonly logStartOffset: number;
  /** The partition's last stable offset (set by `PartitionLog.read`). */
  readonly lastStableOffset?: number;
  /** read_committed: the aborted transactions overlapping the slices. */
  readonly abortedTransactions?: readonly AbortedTxn[];
}

/** The offsets a read is bounded by. */
export interface LogBounds {
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  readonly highWatermark: number;
  /** Where a read stops (read_committed: the last stable offset); default logEndOffset. */
  readonly maxOffset?: number;
  /** Reported in the result. */
  readonly lastStableOffset?: number;
}

/**
 * File slices of whole batches from the one holding `fetchOffset`, up to `maxBytes` (at least
 * one batch) and below `bounds.maxOffset`. `fetchOffset >= maxOffset` gives no slices; outside
 * `[logStartOffset, logEndOffset]` gives OFFSET_OUT_OF_RANGE.
 */
export function readLog(
  segments: readonly Segment[],
  fetchOffset: number,
  maxBytes: number,
  bounds: LogBounds,
): ReadResult {
  const base = {
    highWatermark: bounds.highWatermark,
    logStartOffset: bounds.logStartOffset,
    lastStableOffset: bounds.lastStableOffset,
  };
  if (fetchOffset < bounds.logStartOffset || fetchOffset > bounds.logEndOffset) {
    return { errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, ...NO_SLICES, ...base };
  }
  const maxOffset = bounds.maxOffset ?? bounds.logEndOffset;
  if (fetchOffset >= maxOffset) {
    return { errorCode: ErrorCode.NONE, ...NO_SLICES, ...base };
  }
  try {
    const slices = readSlices(segments, fetchOffset, maxBytes, maxOffset);
    return { errorCode: ErrorCode.NONE, ...slices, ...base };
  } catch (error) {
    if (!(error instanceof IoError)) throw error;
    return { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, ...NO_SLICES, ...base };
  }
}

/**
 * The first record with timestamp >= `timestampMs` at or above `logStartOffset` (ListOffsets
 * with a real timestamp), or `undefined` when every record is older.
 */
export function offsetForTimestamp(
  segments: readonly Segment[],
  timestampMs: number,
  logStartOffset: number,
): TimestampOffset | undefined {
  for (const segment of segments) {
    if (segment.maxTimestamp.timestampMs < timestampMs) continue;
    const found = segment.findOffsetByTimestamp(timestampMs, logStartOffset);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * ListOffsets MAX_TIMESTAMP (-3, KIP-734): the first record carrying the largest timestamp
 * (Kafka's lookup: the segment with the largest maxTimestamp, then a scan), or `undefined`
 * when the log is empty.
 */
export function maxTimestampOffset(
  segments: readonly Segment[],
  logStartOffset: number,
): TimestampOffset | undefined {
  let best: Segment | undefined = undefined;
  for (const segment of segments) {
    if (segment.maxTimestamp.timestampMs < 0) continue;
    if (best === undefined || segment.maxTimestamp.timestampMs > best.maxTimestamp.timestampMs) {
      best = segment;
    }
  }
  return best?.findOffsetByTimestamp(best.maxTimestamp.timestampMs, logStartOffset);
}
