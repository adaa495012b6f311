/**
 * One partition's log (Kafka's `UnifiedLog` + `LocalLog`, single node): an
 * ordered list of segments, the last one active. Appends are validated whole
 * and written with one copy (the buffer's baseOffsets are patched in place);
 * reads return file slices; nothing caches record bytes in the heap.
 *
 * Errors: a client's mistake or an I/O failure comes back as a Kafka error
 * code in the result (`ok: false`); a broken invariant trips `assert`.
 *
 * @module
 */

import { strict as assert } from "node:assert";
import { IoError, type Libc } from "../ffi/port.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { type BatchInfo, RecordBatchView, validateBatches } from "../protocol/record_batch.ts";
import type { FileSlice } from "../protocol/send_plan.ts";
import { floorSegmentIndex, readSlices } from "./fetch_pipeline.ts";
import { type LogConfig, logConfig } from "./log_config.ts";
import {
  CLEAN_SHUTDOWN_FILE_NAME,
  INDEX_FILE_SUFFIX,
  joinPath,
  LOG_FILE_SUFFIX,
  parseSegmentFileName,
  segmentPath,
  TIME_INDEX_FILE_SUFFIX,
} from "./log_files.ts";
import { RELATIVE_OFFSET_MAX } from "./offset_index.ts";
import { Segment } from "./segment.ts";
import type { TimestampOffset } from "./time_index.ts";

/** A successful append. */
export interface AppendSuccess {
  readonly ok: true;
  readonly baseOffset: number;
  readonly lastOffset: number;
  /** Always -1: batches keep CreateTime. */
  readonly logAppendTimeMs: number;
  readonly logStartOffset: number;
  readonly recordCount: number;
}

/** A failed append: nothing was written and no offset was taken. */
export interface AppendFailure {
  readonly ok: false;
  /** CORRUPT_MESSAGE, INVALID_RECORD, MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE or KAFKA_STORAGE_ERROR. */
  readonly errorCode: number;
  readonly message: string;
  /** The I/O failure behind KAFKA_STORAGE_ERROR. */
  readonly cause?: IoError;
}

/** The outcome of {@linkcode PartitionLog.append}. */
export type AppendResult = AppendSuccess | AppendFailure;

/** The outcome of {@linkcode PartitionLog.read}: slices, or OFFSET_OUT_OF_RANGE / KAFKA_STORAGE_ERROR. */
export interface ReadResult {
  readonly errorCode: number;
  readonly slices: FileSlice[];
  readonly sizeBytes: number;
  readonly highWatermark: number;
  readonly logStartOffset: number;
}

/** Options of {@linkcode PartitionLog.open}. */
export interface PartitionLogOptions {
  /** The clock for segment creation times (default `Date.now`). */
  readonly nowMs?: () => number;
  /** Called synchronously after every successful append, e.g. to wake long-poll fetches. */
  readonly onAppend?: (result: AppendSuccess) => void;
}

/** Options of {@linkcode PartitionLog.append}. */
export interface AppendOptions {
  readonly nowMs: number;
  /**
   * true (default): a producer's append, offsets assigned from logEndOffset. false: the
   * batches carry their offsets (replication, tests), which must be at or above logEndOffset.
   */
  readonly assignOffsets?: boolean;
}

/** See the module doc. */
export class PartitionLog {
  readonly dir: string;
  readonly config: LogConfig;
  readonly #libc: Libc;
  readonly #segments: Segment[];
  readonly #nowMs: () => number;
  readonly #onAppend: ((result: AppendSuccess) => void) | undefined;
  #logEndOffset: number;
  #closed = false;

  private constructor(
    libc: Libc,
    dir: string,
    config: LogConfig,
    segments: Segment[],
    options: PartitionLogOptions,
  ) {
    this.#libc = libc;
    this.dir = dir;
    this.config = config;
    this.#segments = segments;
    this.#nowMs = options.nowMs ?? Date.now;
    this.#onAppend = options.onAppend;
    this.#logEndOffset = segments[segments.length - 1].nextOffset;
  }

  /**
   * Opens the log in `dir` (created if missing). Without the clean-shutdown marker the active
   * segment is recovered: every batch CRC-checked, indexes rebuilt, a torn tail cut off.
   * Older segments were synced when they rolled; their indexes are sanity-checked and rebuilt
   * if broken.
   */
  static open(
    libc: Libc,
    dir: string,
    config: Partial<LogConfig> = {},
    options: PartitionLogOptions = {},
  ): PartitionLog {
    const full = logConfig(config);
    const nowMs = (options.nowMs ?? Date.now)();
    libc.mkdirp(dir);
    const markerPath = joinPath(dir, CLEAN_SHUTDOWN_FILE_NAME);
    const clean = libc.exists(markerPath);
    if (clean) libc.unlink(markerPath);
    const baseOffsets = PartitionLog.#segmentBaseOffsets(libc, dir);
    if (baseOffsets.length === 0) baseOffsets.push(0);
    const segments: Segment[] = [];
    try {
      baseOffsets.forEach((baseOffset, i) => {
        const active = i === baseOffsets.length - 1;
        segments.push(
          Segment.open(libc, {
            dir,
            baseOffset,
            config: full,
            nowMs,
            active,
            recover: active && !clean,
          }),
        );
      });
    } catch (error) {
      for (const segment of segments) segment.close();
      throw error;
    }
    return new PartitionLog(libc, dir, full, segments, options);
  }

  /** The first offset still in the log. */
  get logStartOffset(): number {
    return this.#segments[0].baseOffset;
  }
  /** The offset the next record gets. */
  get logEndOffset(): number {
    return this.#logEndOffset;
  }
  /** On a single node, every appended record is committed: the high watermark is logEndOffset. */
  get highWatermark(): number {
    return this.#logEndOffset;
  }
  /** The segments in offset order, the active one last (read-only use). */
  get segments(): readonly Segment[] {
    return this.#segments;
  }
  /** Bytes of all segments. */
  get sizeBytes(): number {
    let total = 0;
    for (const segment of this.#segments) total += segment.sizeBytes;
    return total;
  }

  /**
   * Validates every batch of `records` (all or nothing), assigns offsets by patching each
   * batch's baseOffset in `records` in place, rolls if needed, and writes the whole blob.
   */
  append(records: Uint8Array, options: AppendOptions): AppendResult {
    assert(!this.#closed, "The log is closed");
    const assignOffsets = options.assignOffsets ?? true;
    if (records.length > this.config.segmentBytes) {
      return failure(
        ErrorCode.RECORD_LIST_TOO_LARGE,
        `Records of ${records.length} bytes exceed segment.bytes ${this.config.segmentBytes}`,
      );
    }
    const validation = validateBatches(records, {
      maxMessageBytes: this.config.maxMessageBytes,
      requireDenseOffsets: assignOffsets,
    });
    if (!validation.ok) return failure(validation.error.errorCode, validation.error.message);
    const batches = validation.batches;
    const view = new RecordBatchView(records);
    let nextOffset = this.#logEndOffset;
    let maxTimestampMs = -1;
    for (const batch of batches) {
      view.moveTo(batch.positionBytes);
      if (assignOffsets) view.setBaseOffset(nextOffset);
      else if (view.baseOffset < nextOffset) {
        return failure(
          ErrorCode.INVALID_RECORD,
          `Out of order offset ${view.baseOffset}, expected at least ${nextOffset}`,
        );
      }
      nextOffset = view.baseOffset + batch.lastOffsetDelta + 1;
      maxTimestampMs = Math.max(maxTimestampMs, batch.maxTimestampMs);
    }
    const baseOffset = view.moveTo(batches[0].positionBytes).baseOffset;
    const lastOffset = nextOffset - 1;
    if (lastOffset - baseOffset > RELATIVE_OFFSET_MAX) {
      return failure(
        ErrorCode.INVALID_RECORD,
        `Records span ${baseOffset}..${lastOffset}, more than one segment can index`,
      );
    }
    try {
      this.#appendToActive(records, batches, {
        baseOffset,
        lastOffset,
        maxTimestampMs,
        nowMs: options.nowMs,
      });
    } catch (error) {
      if (!(error instanceof IoError)) throw error;
      return {
        ok: false,
        errorCode: ErrorCode.KAFKA_STORAGE_ERROR,
        message: error.message,
        cause: error,
      };
    }
    this.#logEndOffset = nextOffset;
    const result: AppendSuccess = {
      ok: true,
      baseOffset,
      lastOffset,
      logAppendTimeMs: -1,
      logStartOffset: this.logStartOffset,
      recordCount: validation.recordCount,
    };
    this.#onAppend?.(result);
    return result;
  }

  /**
   * File slices of whole batches from the one holding `fetchOffset`, up to `maxBytes` (at least
   * one batch). `fetchOffset === logEndOffset` gives no slices; outside
   * `[logStartOffset, logEndOffset]` gives OFFSET_OUT_OF_RANGE.
   */
  read(fetchOffset: number, maxBytes: number): ReadResult {
    assert(!this.#closed, "The log is closed");
    const base = { highWatermark: this.highWatermark, logStartOffset: this.logStartOffset };
    if (fetchOffset < this.logStartOffset || fetchOffset > this.#logEndOffset) {
      return { errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, slices: [], sizeBytes: 0, ...base };
    }
    if (fetchOffset === this.#logEndOffset) {
      return { errorCode: ErrorCode.NONE, slices: [], sizeBytes: 0, ...base };
    }
    try {
      return {
        errorCode: ErrorCode.NONE,
        ...readSlices(this.#segments, fetchOffset, maxBytes),
        ...base,
      };
    } catch (error) {
      if (!(error instanceof IoError)) throw error;
      return { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, slices: [], sizeBytes: 0, ...base };
    }
  }

  /**
   * The first record with timestamp >= `timestampMs` at or above logStartOffset (ListOffsets
   * with a real timestamp), or `undefined` when every record is older.
   */
  offsetForTimestamp(timestampMs: number): TimestampOffset | undefined {
    assert(!this.#closed, "The log is closed");
    for (const segment of this.#segments) {
      if (segment.maxTimestamp.timestampMs < timestampMs) continue;
      const found = segment.findOffsetByTimestamp(timestampMs, this.logStartOffset);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  /**
   * ListOffsets MAX_TIMESTAMP (-3, KIP-734): the first record carrying the largest timestamp
   * (Kafka's lookup: the segment with the largest maxTimestamp, then a scan), or `undefined`
   * when the log is empty.
   */
  maxTimestamp(): TimestampOffset | undefined {
    assert(!this.#closed, "The log is closed");
    let best: Segment | undefined = undefined;
    for (const segment of this.#segments) {
      if (segment.maxTimestamp.timestampMs < 0) continue;
      if (best === undefined || segment.maxTimestamp.timestampMs > best.maxTimestamp.timestampMs) {
        best = segment;
      }
    }
    return best?.findOffsetByTimestamp(best.maxTimestamp.timestampMs, this.logStartOffset);
  }

  /** The segment holding `offset` (for tests and tools). */
  segmentFor(offset: number): Segment {
    return this.#segments[floorSegmentIndex(this.#segments, offset)];
  }

  /** Makes every append so far durable (older segments were synced when they rolled). Throws IoError. */
  flush(): void {
    this.#active().flush();
  }

  /** Flushes, trims the indexes, closes every fd, and leaves the clean-shutdown marker. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    let flushed = false;
    try {
      this.#active().flush();
      flushed = true;
    } finally {
      for (const segment of this.#segments) segment.close();
    }
    if (flushed) {
      this.#libc.writeFileAtomic(joinPath(this.dir, CLEAN_SHUTDOWN_FILE_NAME), new Uint8Array(0));
    }
  }

  /** Closes without syncing and removes the directory with every segment in it. */
  deleteFiles(): void {
    if (!this.#closed) {
      this.#closed = true;
      for (const segment of this.#segments) segment.delete();
    }
    this.#libc.removeTree(this.dir);
  }

  #active(): Segment {
    return this.#segments[this.#segments.length - 1];
  }

  #appendToActive(
    records: Uint8Array,
    batches: readonly BatchInfo[],
    append: { baseOffset: number; lastOffset: number; maxTimestampMs: number; nowMs: number },
  ): void {
    let active = this.#active();
    if (active.shouldRoll({ sizeBytes: records.length, ...append })) {
      active = this.#roll(append.baseOffset);
    }
    active.append(records, batches);
  }

  /** Starts a new active segment at `baseOffset`; the old one is synced and trimmed. */
  #roll(baseOffset: number): Segment {
    const old = this.#active();
    const config = this.config;
    const nowMs = this.#nowMs();
    for (const suffix of [LOG_FILE_SUFFIX, INDEX_FILE_SUFFIX, TIME_INDEX_FILE_SUFFIX] as const) {
      const path = segmentPath(this.dir, baseOffset, suffix);
      if (old.baseOffset !== baseOffset && this.#libc.exists(path)) this.#libc.unlink(path); // a failed roll's leftovers
    }
    if (old.sizeBytes === 0) {
      // Nothing to keep: replace the empty segment (Kafka deletes an empty active segment on roll).
      assert(
        old.baseOffset !== baseOffset,
        `Rolling an empty segment onto itself at ${baseOffset}`,
      );
      const fresh = Segment.open(this.#libc, {
        dir: this.dir,
        baseOffset,
        config,
        nowMs,
        active: true,
        recover: false,
      });
      old.delete();
      this.#segments[this.#segments.length - 1] = fresh;
      return fresh;
    }
    const fresh = Segment.open(this.#libc, {
      dir: this.dir,
      baseOffset,
      config,
      nowMs,
      active: true,
      recover: false,
    });
    try {
      old.makeInactive();
    } catch (error) {
      fresh.delete();
      throw error;
    }
    this.#segments.push(fresh);
    return fresh;
  }

  static #segmentBaseOffsets(libc: Libc, dir: string): number[] {
    const logs = new Set<number>();
    const indexes: { baseOffset: number; name: string }[] = [];
    for (const entry of libc.readdir(dir)) {
      const parsed = entry.isDirectory ? undefined : parseSegmentFileName(entry.name);
      if (parsed === undefined) continue;
      if (parsed.suffix === LOG_FILE_SUFFIX) logs.add(parsed.baseOffset);
      else indexes.push({ baseOffset: parsed.baseOffset, name: entry.name });
    }
    for (const index of indexes) {
      if (!logs.has(index.baseOffset)) libc.unlink(joinPath(dir, index.name)); // orphan index (Kafka deletes it too)
    }
    return [...logs].sort((a, b) => a - b);
  }
}

function failure(errorCode: number, message: string): AppendFailure {
  return { ok: false, errorCode, message };
}
