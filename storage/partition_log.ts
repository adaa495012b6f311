/**
 * One partition's log (Kafka's `UnifiedLog` + `LocalLog`, single node): an
 * ordered list of segments, the last one active. Appends are validated whole
 * and written with one copy (the buffer's baseOffsets are patched in place);
 * reads return file slices; nothing caches record bytes in the heap.
 *
 * Errors: a client's mistake or an I/O failure comes back as a Kafka error
 * code in the result (`ok: false`); a broken invariant trips `assert`.
 *
 * Idempotent producers: every client batch with a producer id is checked
 * against the {@linkcode ProducerStateManager} before anything is written; a
 * retried batch is answered with its original offsets (`duplicate: true`).
 *
 * Segments leave the log (retention, DeleteRecords, compaction swaps, a
 * reopened active segment) through `#retire`: their files may be unlinked at
 * once, but the log fd stays open until every read lease taken while the
 * segment was visible has been released, so a `sendfile` in flight never
 * reads an fd number that was closed and reused.
 *
 * @module
 */

import { strict as assert } from "node:assert";
import { Errno, IoError, type Libc, OpenFlags } from "../ffi/port.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { type BatchInfo, RecordBatchView, validateBatches } from "../protocol/record_batch.ts";
import type { FileSlice } from "../protocol/send_plan.ts";
import type { Logger } from "../util/log.ts";
import { floorSegmentIndex, readSlices } from "./fetch_pipeline.ts";
import { type LogConfig, logConfig } from "./log_config.ts";
import {
  CLEAN_SHUTDOWN_FILE_NAME,
  CLEANED_FILE_SUFFIX,
  INDEX_FILE_SUFFIX,
  joinPath,
  LOG_FILE_SUFFIX,
  segmentPath,
  TIME_INDEX_FILE_SUFFIX,
} from "./log_files.ts";
import { type LoadedLog, loadLog, writeCheckpoint, writeSnapshot } from "./log_loader.ts";
import { RELATIVE_OFFSET_MAX } from "./offset_index.ts";
import type { ProducerBatchHeader, ProducerEntry, ProducerStateManager } from "./producer_state.ts";
import { ReadLeases } from "./_read_leases.ts";
import { retentionBreached, type RetentionSegment, type RetentionVerdict } from "./retention.ts";
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
  /** A retried idempotent batch: nothing was written, the offsets are the original ones. */
  readonly duplicate?: boolean;
}

/** A failed append: nothing was written and no offset was taken. */
export interface AppendFailure {
  readonly ok: false;
  /**
   * CORRUPT_MESSAGE, INVALID_RECORD, MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE, KAFKA_STORAGE_ERROR,
   * OUT_OF_ORDER_SEQUENCE_NUMBER or INVALID_PRODUCER_EPOCH.
   */
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
  /** Where recovery, retention and compaction report (default: silent). */
  readonly logger?: Logger;
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
  readonly #libc: Libc;
  readonly #segments: Segment[];
  readonly #nowMs: () => number;
  readonly #onAppend: ((result: AppendSuccess) => void) | undefined;
  readonly #logger: Logger | undefined;
  readonly #producers: ProducerStateManager;
  readonly #leases = new ReadLeases();
  /** What opening found: clean or not, segments recovered, bytes cut, batches replayed. */
  readonly loadStats: Omit<LoadedLog, "segments" | "producers" | "checkpoint">;
  #config: LogConfig;
  #logEndOffset: number;
  #logStartOffset: number;
  #recoveryPoint: number;
  #unflushedRecords = 0;
  #lastFlushMs: number;
  #closed = false;

  private constructor(
    libc: Libc,
    dir: string,
    config: LogConfig,
    loaded: LoadedLog,
    options: PartitionLogOptions,
  ) {
    this.#libc = libc;
    this.dir = dir;
    this.#config = config;
    this.#segments = loaded.segments;
    this.#producers = loaded.producers;
    this.#nowMs = options.nowMs ?? Date.now;
    this.#onAppend = options.onAppend;
    this.#logger = options.logger;
    this.#logEndOffset = this.#segments[this.#segments.length - 1].nextOffset;
    this.#logStartOffset = loaded.checkpoint.logStartOffset;
    this.#recoveryPoint = loaded.checkpoint.recoveryPoint;
    this.#lastFlushMs = this.#nowMs();
    const { clean, recoveredSegmentCount, truncatedBytes, replayedBatchCount } = loaded;
    this.loadStats = { clean, recoveredSegmentCount, truncatedBytes, replayedBatchCount };
  }

  /**
   * Opens the log in `dir` (created if missing); see `log_loader.ts`. Without the
   * clean-shutdown marker, segments past the recovery point are recovered: every batch
   * CRC-checked, indexes rebuilt, a torn tail cut off. The producer state is rebuilt.
   */
  static open(
    libc: Libc,
    dir: string,
    config: Partial<LogConfig> = {},
    options: PartitionLogOptions = {},
  ): PartitionLog {
    const full = logConfig(config);
    const nowMs = (options.nowMs ?? Date.now)();
    const loaded = loadLog(libc, dir, full, { nowMs, logger: options.logger });
    const log = new PartitionLog(libc, dir, full, loaded, options);
    if (loaded.recoveredSegmentCount > 0) log.#saveCheckpoint();
    return log;
  }

  /** The log's settings (see {@linkcode reconfigure}). */
  get config(): LogConfig {
    return this.#config;
  }
  /** The first offset still in the log (raised by retention and DeleteRecords). */
  get logStartOffset(): number {
    return Math.max(this.#segments[0].baseOffset, this.#logStartOffset);
  }
  /** The offset the next record gets. */
  get logEndOffset(): number {
    return this.#logEndOffset;
  }
  /** On a single node, every appended record is committed: the high watermark is logEndOffset. */
  get highWatermark(): number {
    return this.#logEndOffset;
  }
  /** Every offset below this is known to be on disk. */
  get recoveryPoint(): number {
    return this.#recoveryPoint;
  }
  /** Records appended since the last flush (for `flush.messages`). */
  get unflushedRecords(): number {
    return this.#unflushedRecords;
  }
  /** When the last flush ran (for `flush.ms`), by the log's clock. */
  get lastFlushMs(): number {
    return this.#lastFlushMs;
  }
  /** The idempotent-producer state (read-only use). */
  get producerState(): ProducerStateManager {
    return this.#producers;
  }
  /** Segments that left the log but whose fd waits for reads in flight. */
  get retiredSegmentCount(): number {
    return this.#leases.retiredCount;
  }
  get isClosed(): boolean {
    return this.#closed;
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

  /** Applies changed topic settings; index sizes and the writer apply to new segments. */
  reconfigure(overrides: Partial<LogConfig>): void {
    this.#config = logConfig({ ...this.#config, ...overrides });
    for (const segment of this.#segments) segment.setConfig(this.#config);
  }

  /**
   * Validates every batch of `records` (all or nothing), checks producer sequences, assigns
   * offsets by patching each batch's baseOffset in `records` in place, rolls if needed, and
   * writes the whole blob.
   */
  append(records: Uint8Array, options: AppendOptions): AppendResult {
    assert(!this.#closed, "The log is closed");
    const assignOffsets = options.assignOffsets ?? true;
    if (records.length > this.#config.segmentBytes) {
      return failure(
        ErrorCode.RECORD_LIST_TOO_LARGE,
        `Records of ${records.length} bytes exceed segment.bytes ${this.#config.segmentBytes}`,
      );
    }
    const validation = validateBatches(records, {
      maxMessageBytes: this.#config.maxMessageBytes,
      requireDenseOffsets: assignOffsets,
    });
    if (!validation.ok) return failure(validation.error.errorCode, validation.error.message);
    const batches = validation.batches;
    const view = new RecordBatchView(records);
    const pending = new Map<number, ProducerEntry>();
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
      if (view.producerId >= 0) {
        const header = producerHeader(view, batch);
        const verdict = assignOffsets ? this.#producers.check(header, pending) : undefined;
        if (verdict?.kind === "duplicate") {
          return {
            ok: true,
            baseOffset: verdict.batch.firstOffset,
            lastOffset: verdict.batch.lastOffset,
            logAppendTimeMs: -1,
            logStartOffset: this.logStartOffset,
            recordCount: 0,
            duplicate: true,
          };
        }
        if (verdict?.kind === "error") return failure(verdict.errorCode, verdict.message);
        this.#producers.update(header, pending);
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
      this.#healActive();
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
    this.#producers.commit(pending);
    this.#logEndOffset = nextOffset;
    this.#unflushedRecords += validation.recordCount;
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
    assert(!this.#closed, "The log is closed");
    this.#healActive();
    const endOffset = this.#logEndOffset;
    this.#active().flush();
    this.#recoveryPoint = endOffset;
    this.#unflushedRecords = 0;
    this.#lastFlushMs = this.#nowMs();
  }

  /**
   * A read lease: segments visible now keep their fds open until the returned function runs
   * (call it once the file slices of a read have been sent or dropped).
   */
  retainReads(): () => void {
    return this.#leases.lease();
  }

  /**
   * Retention (see `retention.ts`) at `nowMs`: deletes whole segments, oldest first, and
   * advances the log start offset. Throws IoError (a roll or unlink failed).
   */
  deleteRetentionBreached(nowMs: number): RetentionVerdict {
    assert(!this.#closed, "The log is closed");
    const verdict = retentionBreached(
      this.#retentionSegments(),
      {
        nowMs,
        retentionMs: this.#config.retentionMs,
        retentionBytes: this.#config.retentionBytes,
        cleanupDelete: this.#config.cleanupDelete,
        logStartOffset: this.logStartOffset,
      },
    );
    if (verdict.count > 0) this.#deleteOldestSegments(verdict.count, verdict.reason!);
    return verdict;
  }

  /**
   * DeleteRecords: raises the log start offset to `offset` (at most the high watermark, else
   * OFFSET_OUT_OF_RANGE) and deletes the segments wholly below it. Throws IoError.
   */
  deleteRecordsBefore(offset: number): { errorCode: number; logStartOffset: number } {
    assert(!this.#closed, "The log is closed");
    if (offset < 0 || offset > this.highWatermark) {
      return { errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, logStartOffset: this.logStartOffset };
    }
    if (offset > this.logStartOffset) {
      this.#logStartOffset = offset;
      this.#producers.truncateHead(this.logStartOffset);
      this.#saveCheckpoint();
      const verdict = retentionBreached(this.#retentionSegments(), {
        nowMs: 0,
        retentionMs: -1,
        retentionBytes: -1,
        cleanupDelete: false,
        logStartOffset: this.logStartOffset,
      });
      if (verdict.count > 0) this.#deleteOldestSegments(verdict.count, verdict.reason!);
    }
    return { errorCode: ErrorCode.NONE, logStartOffset: this.logStartOffset };
  }

  /**
   * Swaps the inactive segment `old` for one holding `bytes` (whole batches with their
   * offsets, as the cleaner wrote them): `<base>.log.cleaned` is written and synced, the old
   * indexes deleted, the file renamed over `<base>.log`, and the new segment opened with
   * fresh indexes. A crash at any point leaves either log, and a missing index is rebuilt.
   * Returns false when `old` has left the log meanwhile. Throws IoError.
   */
  replaceSegment(old: Segment, bytes: Uint8Array): boolean {
    assert(!this.#closed, "The log is closed");
    const i = this.#segments.indexOf(old);
    if (i < 0 || i === this.#segments.length - 1) return false;
    const cleanedPath = old.logPath + CLEANED_FILE_SUFFIX;
    const fd = this.#libc.open(
      cleanedPath,
      OpenFlags.O_RDWR | OpenFlags.O_CREAT | OpenFlags.O_TRUNC | OpenFlags.O_CLOEXEC,
      0o644,
    );
    try {
      for (let done = 0; done < bytes.length;) {
        const n = this.#libc.pwrite(fd, bytes.subarray(done), done);
        if (n <= 0) throw new IoError("pwrite", Errno.EIO, cleanedPath);
        done += n;
      }
      this.#libc.fdatasync(fd);
    } finally {
      this.#libc.close(fd);
    }
    for (const path of [old.offsetIndex.file.path, old.timeIndex.file.path]) {
      if (this.#libc.exists(path)) this.#libc.unlink(path);
    }
    this.#libc.rename(cleanedPath, old.logPath);
    const fresh = Segment.open(this.#libc, {
      dir: this.dir,
      baseOffset: old.baseOffset,
      config: this.#config,
      nowMs: this.#nowMs(),
      active: false,
      recover: true,
    });
    this.#segments[i] = fresh;
    this.#leases.retire(old);
    return true;
  }

  /** Flushes, snapshots producer state, trims the indexes, closes every fd, leaves the marker. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    let flushed = false;
    try {
      this.#healActive();
      this.#active().flush();
      this.#recoveryPoint = this.#logEndOffset;
      writeSnapshot(this.#libc, this.dir, this.#logEndOffset, this.#producers);
      this.#saveCheckpoint();
      flushed = true;
    } finally {
      for (const segment of this.#segments) segment.close();
      this.#leases.closeAll();
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
      this.#leases.closeAll();
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
    const config = this.#config;
    const nowMs = this.#nowMs();
    for (const suffix of [LOG_FILE_SUFFIX, INDEX_FILE_SUFFIX, TIME_INDEX_FILE_SUFFIX] as const) {
      const path = segmentPath(this.dir, baseOffset, suffix);
      if (old.baseOffset !== baseOffset && this.#libc.exists(path)) this.#libc.unlink(path); // a failed roll's leftovers
    }
    const open = () =>
      Segment.open(this.#libc, {
        dir: this.dir,
        baseOffset,
        config,
        nowMs,
        active: true,
        recover: false,
      });
    if (old.sizeBytes === 0) {
      // Nothing to keep: replace the empty segment (Kafka deletes an empty active segment on roll).
      assert(
        old.baseOffset !== baseOffset,
        `Rolling an empty segment onto itself at ${baseOffset}`,
      );
      const fresh = open();
      old.delete();
      this.#segments[this.#segments.length - 1] = fresh;
      return fresh;
    }
    const fresh = open();
    try {
      old.makeInactive();
    } catch (error) {
      fresh.delete();
      throw error;
    }
    this.#segments.push(fresh);
    // Everything below the new segment is synced: snapshot the producers and move the
    // recovery point. Both only save work at the next unclean start, so a failure is logged.
    this.#recoveryPoint = Math.max(this.#recoveryPoint, baseOffset);
    try {
      writeSnapshot(this.#libc, this.dir, this.#logEndOffset, this.#producers);
      this.#saveCheckpoint();
    } catch (error) {
      if (!(error instanceof IoError)) throw error;
      this.#logger?.warn(`Checkpoint of "${this.dir}" at roll failed: ${error.message}`);
    }
    return fresh;
  }

  /** Reopens an active segment whose flush failed: recovery decides what of it is valid. */
  #healActive(): void {
    const old = this.#active();
    if (!old.flushFailed) return;
    const fresh = Segment.open(this.#libc, {
      dir: this.dir,
      baseOffset: old.baseOffset,
      config: this.#config,
      nowMs: this.#nowMs(),
      active: true,
      recover: true,
    });
    this.#segments[this.#segments.length - 1] = fresh;
    this.#leases.retire(old);
    this.#logEndOffset = fresh.nextOffset;
    this.#logger?.warn(
      `Reopened "${fresh.logPath}" after a failed flush; it ends at offset ${fresh.nextOffset}.`,
    );
  }

  /** Removes the `count` oldest segments (rolling first when that is all of them). */
  #deleteOldestSegments(count: number, reason: string): void {
    if (count === this.#segments.length) this.#roll(this.#logEndOffset);
    const doomed = this.#segments.splice(0, count);
    this.#logStartOffset = Math.max(this.#logStartOffset, this.#segments[0].baseOffset);
    for (const segment of doomed) {
      const paths = [segment.logPath, segment.offsetIndex.file.path, segment.timeIndex.file.path];
      this.#leases.retire(segment);
      for (const path of paths) if (this.#libc.exists(path)) this.#libc.unlink(path);
    }
    this.#producers.truncateHead(this.logStartOffset);
    this.#saveCheckpoint();
    this.#logger?.info(
      `Deleted ${count} segment(s) of "${this.dir}" (${reason}); the log now starts at offset ${this.logStartOffset}.`,
    );
  }

  #retentionSegments(): RetentionSegment[] {
    return this.#segments.map((s) => ({
      baseOffset: s.baseOffset,
      sizeBytes: s.sizeBytes,
      maxTimestampMs: s.maxTimestamp.timestampMs,
    }));
  }

  #saveCheckpoint(): void {
    writeCheckpoint(this.#libc, this.dir, {
      logStartOffset: this.logStartOffset,
      recoveryPoint: this.#recoveryPoint,
    });
  }
}

function producerHeader(view: RecordBatchView, batch: BatchInfo): ProducerBatchHeader {
  return {
    producerId: view.producerId,
    producerEpoch: view.producerEpoch,
    baseSequence: view.baseSequence,
    lastOffsetDelta: batch.lastOffsetDelta,
    baseOffset: view.baseOffset,
    maxTimestampMs: batch.maxTimestampMs,
  };
}

function failure(errorCode: number, message: string): AppendFailure {
  return { ok: false, errorCode, message };
}
