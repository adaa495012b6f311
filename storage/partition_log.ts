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
 * Opening and crash recovery are in `log_loader.ts`, append validation in
 * `log_append.ts`, reads and timestamp lookups in `log_reads.ts`, the
 * segment list and its rolls and swaps in `log_segments.ts` (`LogSegments`);
 * this class owns the offsets, the checkpoints and the producer state.
 *
 * Segments leave the log (retention, DeleteRecords, compaction swaps, a
 * reopened active segment, deletion of the log) through the read leases: their files may be unlinked at
 * once, but the log fd stays open until every read lease taken while the
 * segment was visible has been released, so a `sendfile` in flight never
 * reads an fd number that was closed and reused.
 *
 * @module
 */

import { assert } from "../util/assert.ts";
import { IoError, type Libc } from "../ffi/port.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import type { Logger } from "../util/log.ts";
import type { AppendOptions, AppendResult, AppendSuccess } from "./log_append.ts";
import { planAppend } from "./log_append.ts";
import { type LogConfig, logConfig } from "./log_config.ts";
import { CLEAN_SHUTDOWN_FILE_NAME, joinPath } from "./log_files.ts";
import { type EpochEndOffset, LeaderEpochCache } from "./leader_epoch_cache.ts";
import {
  type LoadedLog,
  loadLog,
  loadProducerState,
  type LogCheckpoint,
  writeCheckpoint,
  writeSnapshot,
} from "./log_loader.ts";
import { maxTimestampOffset, offsetForTimestamp, readLog, type ReadResult } from "./log_reads.ts";
import {
  type CleanedSegment,
  LogSegments,
  type SegmentFilesContext,
  unlinkSegmentFiles,
} from "./log_segments.ts";
import type { CompletedTxn, ProducerStateManager } from "./producer_state.ts";
import { ReadLeases } from "./_read_leases.ts";
import { retentionBreached, type RetentionPolicy, type RetentionVerdict } from "./retention.ts";
import type { Segment } from "./segment.ts";
import type { TimestampOffset } from "./time_index.ts";
import { collectAbortedTransactions, indexCompletedTxn } from "./log_transactions.ts";

export type { AppendFailure, AppendOptions, AppendResult, AppendSuccess } from "./log_append.ts";
export type { ReadResult } from "./log_reads.ts";

function checkpointText(checkpoint: LogCheckpoint): string {
  return `${checkpoint.logStartOffset}:${checkpoint.recoveryPoint}`;
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

/** See the module doc. */
export class PartitionLog {
  readonly dir: string;
  readonly #libc: Libc;
  readonly #segments: LogSegments;
  readonly #nowMs: () => number;
  readonly #onAppend: ((result: AppendSuccess) => void) | undefined;
  readonly #logger: Logger | undefined;
  readonly #producers: ProducerStateManager;
  readonly #leases = new ReadLeases();
  readonly #epochs: LeaderEpochCache;
  /** Set by the replica manager in a cluster; undefined: the log end (one node). */
  #highWatermark: number | undefined;
  /** What opening found: clean or not, segments recovered, bytes cut, batches replayed. */
  readonly loadStats: Omit<
    LoadedLog,
    "segments" | "producers" | "checkpoint" | "checkpointOnDisk" | "snapshotOffset"
  >;
  #config: LogConfig;
  #logEndOffset: number;
  #logStartOffset: number;
  #recoveryPoint: number;
  #unflushedRecords = 0;
  #lastFlushMs: number;
  /** The checkpoint file's contents (undefined: unknown), so an unchanged one is not rewritten. */
  #checkpointOnDisk: string | undefined;
  /** The log end offset of the newest snapshot on disk that holds the current producer state. */
  #snapshotOffset: number | undefined;
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
    this.#segments = new LogSegments(loaded.segments);
    this.#producers = loaded.producers;
    this.#nowMs = options.nowMs ?? Date.now;
    this.#onAppend = options.onAppend;
    this.#logger = options.logger;
    this.#logEndOffset = this.#segments.active.nextOffset;
    this.#logStartOffset = loaded.checkpoint.logStartOffset;
    this.#recoveryPoint = loaded.checkpoint.recoveryPoint;
    this.#lastFlushMs = this.#nowMs();
    this.#checkpointOnDisk = loaded.checkpointOnDisk && checkpointText(loaded.checkpointOnDisk);
    this.#snapshotOffset = loaded.replayedBatchCount === 0 ? loaded.snapshotOffset : undefined;
    const { clean, recoveredSegmentCount, truncatedBytes, replayedBatchCount } = loaded;
    this.loadStats = { clean, recoveredSegmentCount, truncatedBytes, replayedBatchCount };
    this.#epochs = LeaderEpochCache.open(libc, dir, {
      logStartOffset: this.logStartOffset,
      logEndOffset: this.#logEndOffset,
    });
    if (this.#epochs.entries.length === 0) this.#rebuildEpochs();
  }

  /**
   * A log written before the checkpoint existed (or that lost it): epochs from its batches.
   * When the first and the last batch carry the same epoch (a single node's log: all 0) that
   * is the only one and no other header is read; otherwise every header is.
   */
  #rebuildEpochs(): void {
    const from = this.logStartOffset;
    const end = this.#logEndOffset;
    if (end <= from) return;
    const epochAt = (offset: number) => {
      let epoch = -1;
      this.#segments.floor(offset).forEachBatch(offset, (header) => {
        epoch = header.partitionLeaderEpoch;
        return false;
      });
      return epoch;
    };
    const firstEpoch = epochAt(from);
    if (firstEpoch === epochAt(end - 1)) {
      this.#epochs.assign(firstEpoch, from);
      return;
    }
    for (const segment of this.#segments.all) {
      if (segment.nextOffset <= from) continue;
      segment.forEachBatch(from, (header) => {
        this.#epochs.assign(header.partitionLeaderEpoch, Math.max(from, header.baseOffset));
      });
    }
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
    return Math.max(this.#segments.first.baseOffset, this.#logStartOffset);
  }
  /** The offset the next record gets. */
  get logEndOffset(): number {
    return this.#logEndOffset;
  }
  /**
   * The offset below which records are committed: consumers read up to it. On a single node
   * every appended record is, and it is logEndOffset; in a cluster the replica manager sets it
   * ({@linkcode updateHighWatermark}).
   */
  get highWatermark(): number {
    return Math.min(this.#highWatermark ?? this.#logEndOffset, this.#logEndOffset);
  }
  /** Sets the high watermark (capped at the log end); undefined: the log end again. */
  updateHighWatermark(offset: number | undefined): void {
    this.#highWatermark = offset;
  }
  /** The leader epochs of this log and where each starts (`leader-epoch-checkpoint`). */
  get leaderEpochCache(): LeaderEpochCache {
    return this.#epochs;
  }
  /**
   * A new leader's epoch starts at the log end (Kafka's `maybeAssignEpochStartOffset` in
   * `makeLeader`), before anything is appended in it: a follower holding an epoch this log
   * never had then learns where it diverged. A failed checkpoint write is logged.
   */
  assignLeaderEpoch(epoch: number): void {
    this.#assignEpochs([{ epoch, startOffset: this.#logEndOffset }]);
  }

  /** Where `epoch` ended in this log (OffsetForLeaderEpoch, a follower's lastFetchedEpoch). */
  endOffsetForEpoch(epoch: number): EpochEndOffset {
    return this.#epochs.endOffsetFor(epoch, this.#logEndOffset);
  }
  /**
   * The last stable offset: below it every transaction is decided (Kafka's LSO), the smaller of
   * the first ongoing transaction's first offset and the high watermark.
   */
  get lastStableOffset(): number {
    return Math.min(this.#producers.firstUnstableOffset() ?? Infinity, this.highWatermark);
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
  /** The idempotent-producer state (read-only use: DescribeProducers, tests). */
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
  /** The segments in offset order, the active one last (read-only use: storage and tests). */
  get segments(): readonly Segment[] {
    return this.#segments.all;
  }
  /** How many segments the log has. */
  get segmentCount(): number {
    return this.#segments.count;
  }
  /** The base offset of the active segment (the cleaner's "anything new to clean" check). */
  get activeSegmentBaseOffset(): number {
    return this.#segments.active.baseOffset;
  }
  /** The segments appends no longer go to, oldest first (what the cleaner may rewrite). */
  inactiveSegments(): readonly Segment[] {
    return this.#segments.inactive;
  }
  /** Bytes of all segments. */
  get sizeBytes(): number {
    return this.#segments.sizeBytes;
  }

  /** Applies changed topic settings; index sizes and the writer apply to new segments. */
  reconfigure(overrides: Partial<LogConfig>): void {
    this.#config = logConfig({ ...this.#config, ...overrides });
    for (const segment of this.#segments.all) segment.setConfig(this.#config);
  }

  /**
   * Validates every batch of `records` (all or nothing), checks producer sequences, assigns
   * offsets by patching each batch's baseOffset in `records` in place, rolls if needed, and
   * writes the whole blob.
   */
  append(records: Uint8Array, options: AppendOptions): AppendResult {
    assert(!this.#closed, "The log is closed");
    const plan = planAppend(records, options, {
      config: this.#config,
      logEndOffset: this.#logEndOffset,
      logStartOffset: this.logStartOffset,
      producers: this.#producers,
    });
    if (!plan.write) return plan.result;
    const { baseOffset, lastOffset, maxTimestampMs } = plan;
    try {
      this.#healActive();
      const append = { sizeBytes: records.length, baseOffset, lastOffset, maxTimestampMs };
      if (this.#active().shouldRoll({ ...append, nowMs: options.nowMs })) this.#roll(baseOffset);
      this.#active().append(records, plan.batches);
    } catch (error) {
      if (!(error instanceof IoError)) throw error;
      return {
        ok: false,
        errorCode: ErrorCode.KAFKA_STORAGE_ERROR,
        message: error.message,
        cause: error,
      };
    }
    this.#producers.commit(plan.pending);
    this.#logEndOffset = plan.nextOffset;
    this.#assignEpochs(plan.epochStarts);
    for (const completed of plan.completedTxns) this.#indexCompleted(completed);
    this.#unflushedRecords += plan.recordCount;
    const result: AppendSuccess = {
      ok: true,
      baseOffset,
      lastOffset,
      logAppendTimeMs: -1,
      logStartOffset: this.logStartOffset,
      recordCount: plan.recordCount,
      sizeBytes: records.length,
    };
    this.#onAppend?.(result);
    return result;
  }

  /**
   * A follower's append (Kafka's `appendAsFollower`): `records` are the leader's batches with
   * their offsets and epochs, the first starting at logEndOffset; they are checked whole
   * (CRC, sizes), written as received, indexed, and producer state and leader epochs follow.
   */
  appendAsFollower(records: Uint8Array, nowMs: number): AppendResult {
    if (records.length >= 8) {
      const baseOffset = Number(new DataView(records.buffer, records.byteOffset).getBigInt64(0));
      if (baseOffset !== this.#logEndOffset) {
        return {
          ok: false,
          errorCode: ErrorCode.OFFSET_OUT_OF_RANGE,
          message: `Records start at offset ${baseOffset}, the log ends at ${this.#logEndOffset}`,
        };
      }
    }
    return this.append(records, { nowMs, assignOffsets: false });
  }

  /**
   * File slices of whole batches from the one holding `fetchOffset`, up to `maxBytes` (at least
   * one batch), below the high watermark (a consumer's read); see `log_reads.ts`. `committed`
   * (read_committed): only below the last stable offset, with the aborted transactions
   * overlapping what is read.
   */
  read(fetchOffset: number, maxBytes: number, committed = false): ReadResult {
    assert(!this.#closed, "The log is closed");
    const lastStableOffset = this.lastStableOffset;
    const read = readLog(this.#segments.all, fetchOffset, maxBytes, {
      logStartOffset: this.logStartOffset,
      logEndOffset: this.#logEndOffset,
      highWatermark: this.highWatermark,
      maxOffset: committed ? lastStableOffset : this.highWatermark,
      lastStableOffset,
    });
    if (!committed || read.slices.length === 0) return read;
    const abortedTransactions = collectAbortedTransactions(
      this.#segments.all,
      read.firstOffset,
      read.nextOffset,
    );
    return { ...read, abortedTransactions };
  }

  /** {@linkcode read} up to the log end: a follower's fetch (Kafka's FetchLogEnd isolation). */
  readToLogEnd(fetchOffset: number, maxBytes: number): ReadResult {
    assert(!this.#closed, "The log is closed");
    return readLog(this.#segments.all, fetchOffset, maxBytes, {
      logStartOffset: this.logStartOffset,
      logEndOffset: this.#logEndOffset,
      highWatermark: this.highWatermark,
      lastStableOffset: this.lastStableOffset,
    });
  }

  /**
   * Empties the log to start over at `offset` (Kafka's `truncateFullyAndStartAt`: a follower
   * whose log end is below its leader's log start). Every segment goes, the producer state and
   * leader epochs are cleared. Throws IoError.
   */
  truncateFullyAndStartAt(offset: number): void {
    assert(!this.#closed, "The log is closed");
    const old = this.#segments.startOverAt(offset, this.#files());
    for (const segment of old) {
      this.#leases.retire(segment);
      if (segment.baseOffset !== offset) unlinkSegmentFiles(this.#libc, segment);
    }
    this.#logEndOffset = offset;
    this.#logStartOffset = offset;
    this.#recoveryPoint = offset;
    this.#highWatermark = offset;
    this.#unflushedRecords = 0;
    this.#producers.clear();
    this.#snapshotOffset = undefined;
    this.#epochs.clear();
    this.#saveCheckpoint();
    this.#logger?.info(`Emptied "${this.dir}" to start over at offset ${offset}.`);
  }

  /**
   * Cuts the log at the batch holding `offset` (a follower whose log diverged from its leader's;
   * Kafka's `truncateTo`): later segments are deleted, the one holding it cut and reopened,
   * producer state rebuilt, leader epochs and the high watermark trimmed. Nothing happens
   * when `offset` is at or past the log end. Returns the new log end. Throws IoError.
   */
  truncateTo(offset: number): number {
    assert(!this.#closed, "The log is closed");
    assert(offset >= this.logStartOffset, `Truncating to ${offset} below the log start`);
    if (offset >= this.#logEndOffset) return this.#logEndOffset;
    const removed = this.#segments.truncateTo(
      offset,
      this.#files(),
      (segment) => this.#leases.retire(segment),
    );
    for (const segment of removed) unlinkSegmentFiles(this.#libc, segment);
    this.#logEndOffset = this.#active().nextOffset;
    this.#recoveryPoint = Math.min(this.#recoveryPoint, this.#logEndOffset);
    this.#unflushedRecords = 0;
    this.#epochs.truncateFromEnd(this.#logEndOffset);
    this.#producers.clear();
    this.#snapshotOffset = undefined;
    loadProducerState(this.#libc, this.dir, this.#producers, {
      segments: [...this.#segments.all],
      logStartOffset: this.logStartOffset,
      logEndOffset: this.#logEndOffset,
      logger: this.#logger,
    });
    this.#saveCheckpoint();
    this.#logger?.info(`Truncated "${this.dir}" to offset ${this.#logEndOffset}.`);
    return this.#logEndOffset;
  }

  /** The first record with timestamp >= `timestampMs` (ListOffsets), if any. */
  offsetForTimestamp(timestampMs: number): TimestampOffset | undefined {
    assert(!this.#closed, "The log is closed");
    return offsetForTimestamp(this.#segments.all, timestampMs, this.logStartOffset);
  }

  /** The first record carrying the largest timestamp (ListOffsets MAX_TIMESTAMP), if any. */
  maxTimestamp(): TimestampOffset | undefined {
    assert(!this.#closed, "The log is closed");
    return maxTimestampOffset(this.#segments.all, this.logStartOffset);
  }

  /** The segment holding `offset` (for tests and tools). */
  segmentFor(offset: number): Segment {
    return this.#segments.floor(offset);
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
   * {@linkcode flush} off the JS thread (group commit): makes the appends made before the call
   * durable while later appends go on. Rejects with IoError; the next append or flush then
   * reopens the segment (recovery). A log closed meanwhile was flushed by its close.
   */
  async flushAsync(): Promise<void> {
    assert(!this.#closed, "The log is closed");
    this.#healActive();
    const endOffset = this.#logEndOffset;
    const records = this.#unflushedRecords;
    await this.#active().flushAsync();
    if (this.#closed) return;
    this.#recoveryPoint = Math.max(this.#recoveryPoint, Math.min(endOffset, this.#logEndOffset));
    this.#unflushedRecords = Math.max(0, this.#unflushedRecords - records);
    this.#lastFlushMs = this.#nowMs();
  }

  /**
   * A read lease: segments visible now keep their fds open until the returned function runs,
   * through retention, compaction swaps and deletion of the log. The fetch path takes one per
   * partition it sends from through `RequestContext.leaseUntilSent`, which releases it when the
   * response has been sent or dropped.
   */
  retainReads(): () => void {
    return this.#leases.lease();
  }

  /**
   * Forgets idempotent producers idle for `expirationMs` at `nowMs`
   * (`transactional.id.expiration.ms` / `producer.id.expiration.ms`); returns how many.
   */
  expireProducers(nowMs: number, expirationMs: number): number {
    return this.#producers.removeExpired(nowMs, expirationMs);
  }

  /**
   * Retention (see `retention.ts`) at `nowMs`: deletes whole segments, oldest first, and
   * advances the log start offset. Throws IoError (a roll or unlink failed).
   */
  deleteRetentionBreached(nowMs: number): RetentionVerdict {
    assert(!this.#closed, "The log is closed");
    const { retentionMs, retentionBytes, cleanupDelete } = this.#config;
    return this.#deleteBreached({ nowMs, retentionMs, retentionBytes, cleanupDelete });
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
      this.#epochs.truncateFromStart(this.logStartOffset);
      this.#saveCheckpoint();
      this.#deleteBreached({ nowMs: 0, retentionMs: -1, retentionBytes: -1, cleanupDelete: false });
    }
    return { errorCode: ErrorCode.NONE, logStartOffset: this.logStartOffset };
  }

  /**
   * Swaps the inactive segment `old` for one holding `cleaned` (whole batches with their
   * offsets, as the cleaner wrote them, and its aborted transactions if they changed),
   * crash-safely (see `swapCleanedSegment`). Returns
   * false when `old` has left the log meanwhile. Throws IoError.
   */
  replaceSegment(old: Segment, cleaned: CleanedSegment): boolean {
    assert(!this.#closed, "The log is closed");
    const replaced = this.#segments.replace(old, cleaned, this.#files());
    if (replaced === undefined) return false;
    this.#leases.retire(replaced);
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
      this.#saveSnapshot(false);
      this.#saveCheckpoint();
      flushed = true;
    } finally {
      for (const segment of this.#segments.all) segment.close();
      this.#leases.closeAll();
    }
    if (flushed) {
      this.#libc.writeFileAtomic(joinPath(this.dir, CLEAN_SHUTDOWN_FILE_NAME), new Uint8Array(0));
    }
  }

  /**
   * Closes without syncing and removes the directory with every segment in it. Segment fds
   * that read leases still use stay open (on unlinked files) until those leases are released,
   * as after retention, so a deleted topic's sends in flight finish.
   */
  deleteFiles(): void {
    if (!this.#closed) {
      this.#closed = true;
      for (const segment of this.#segments.all) {
        this.#leases.retire(segment);
        unlinkSegmentFiles(this.#libc, segment);
      }
    }
    this.#libc.removeTree(this.dir);
  }

  #active(): Segment {
    return this.#segments.active;
  }

  /**
   * Indexes a transaction a marker of the last append ended. The marker is written: a failed
   * index write is logged (the entry stays in memory, and recovery rebuilds the file from the
   * log when the snapshot it starts from is older than the marker).
   */
  #indexCompleted(completed: CompletedTxn): void {
    try {
      indexCompletedTxn(this.#active(), completed, this.#producers);
    } catch (error) {
      if (!(error instanceof IoError)) throw error;
      this.#logger?.error(`Transaction index of "${this.dir}" not written: ${error.message}`);
    }
  }

  /** Starts a new active segment at `baseOffset`; the old one is synced and trimmed. */
  #roll(baseOffset: number): void {
    if (this.#segments.roll(baseOffset, this.#files())) {
      // Everything below the new segment is synced: snapshot the producers and move the
      // recovery point. Both only save work at the next unclean start, so a failure is logged.
      this.#recoveryPoint = Math.max(this.#recoveryPoint, baseOffset);
      try {
        this.#saveSnapshot(true);
        this.#saveCheckpoint();
      } catch (error) {
        if (!(error instanceof IoError)) throw error;
        this.#logger?.warn(`Checkpoint of "${this.dir}" at roll failed: ${error.message}`);
      }
    }
  }

  /** Reopens an active segment whose flush failed: recovery decides what of it is valid. */
  #healActive(): void {
    if (!this.#active().flushFailed) return;
    this.#leases.retire(this.#segments.reopenActive(this.#files()));
    this.#snapshotOffset = undefined; // the log end may have moved back
    const fresh = this.#active();
    this.#logEndOffset = fresh.nextOffset;
    this.#epochs.truncateFromEnd(this.#logEndOffset);
    this.#logger?.warn(
      `Reopened "${fresh.logPath}" after a failed flush; it ends at offset ${fresh.nextOffset}.`,
    );
  }

  /** Records new leader epochs of appended batches; a failed checkpoint write is logged. */
  #assignEpochs(starts: readonly { epoch: number; startOffset: number }[]): void {
    try {
      for (const { epoch, startOffset } of starts) this.#epochs.assign(epoch, startOffset);
    } catch (error) {
      if (!(error instanceof IoError)) throw error;
      this.#logger?.warn(`Leader epoch checkpoint of "${this.dir}" failed: ${error.message}`);
    }
  }

  /** Removes the `count` oldest segments (rolling first when that is all of them). */
  #deleteOldestSegments(count: number, reason: string): void {
    if (count === this.#segments.count) this.#roll(this.#logEndOffset);
    const doomed = this.#segments.removeOldest(count);
    this.#logStartOffset = Math.max(this.#logStartOffset, this.#segments.first.baseOffset);
    for (const segment of doomed) {
      this.#leases.retire(segment);
      unlinkSegmentFiles(this.#libc, segment);
    }
    this.#producers.truncateHead(this.logStartOffset);
    this.#epochs.truncateFromStart(this.logStartOffset);
    this.#saveCheckpoint();
    this.#logger?.info(
      `Deleted ${count} segment(s) of "${this.dir}" (${reason}); the log now starts at offset ${this.logStartOffset}.`,
    );
  }

  /** Deletes the oldest segments `policy` (at the current log start offset) condemns. */
  #deleteBreached(policy: Omit<RetentionPolicy, "logStartOffset">): RetentionVerdict {
    const segments = this.#segments.all.map((s) => ({
      baseOffset: s.baseOffset,
      sizeBytes: s.sizeBytes,
      maxTimestampMs: s.maxTimestamp.timestampMs,
    }));
    const verdict = retentionBreached(segments, { ...policy, logStartOffset: this.logStartOffset });
    if (verdict.count > 0) this.#deleteOldestSegments(verdict.count, verdict.reason!);
    return verdict;
  }

  /** Where new segments go, with the current settings and time. */
  #files(): SegmentFilesContext {
    return { libc: this.#libc, dir: this.dir, config: this.#config, nowMs: this.#nowMs() };
  }

  /**
   * Snapshots the producer state at the log end, unless a snapshot there already holds it, or
   * (`always` false, at close) there is nothing to keep: no producers and no record bytes to
   * replay them from.
   */
  #saveSnapshot(always: boolean): void {
    const endOffset = this.#logEndOffset;
    if (this.#snapshotOffset === endOffset) return;
    if (!always && this.#producers.producerCount === 0 && this.sizeBytes === 0) return;
    writeSnapshot(this.#libc, this.dir, endOffset, this.#producers);
    this.#snapshotOffset = endOffset;
  }

  /** Writes the checkpoint unless the file already holds the same offsets. */
  #saveCheckpoint(): void {
    const checkpoint = { logStartOffset: this.logStartOffset, recoveryPoint: this.#recoveryPoint };
    const text = checkpointText(checkpoint);
    if (text === this.#checkpointOnDisk) return;
    this.#checkpointOnDisk = undefined; // unknown until the atomic write succeeds
    writeCheckpoint(this.#libc, this.dir, checkpoint);
    this.#checkpointOnDisk = text;
  }
}
