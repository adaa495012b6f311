/**
 * Opening a partition directory (Kafka's `LogLoader`): leftovers removed,
 * segments opened, crash recovery, the checkpoint (log start offset and
 * recovery point) and the producer state rebuilt.
 *
 * After a clean stop (the marker file) nothing is scanned: indexes are
 * sanity-checked and the producer snapshot taken at close is loaded. After
 * an unclean stop, every segment that may hold offsets at or past the
 * recovery point is recovered (each batch CRC-checked, indexes rebuilt, a
 * torn tail cut off with a log line naming the file and position); if that
 * cuts a segment short, later segments cannot be trusted and are deleted.
 * Then the producer state is the newest snapshot at or below the log end
 * plus the batch headers after it; the markers among those batches end their
 * transactions and rebuild the `.txnindex` entries at or past the snapshot
 * (entries below it were synced with their segment's roll or the clean
 * close that wrote the snapshot). A segment whose `.txnindex` could not be
 * read makes the replay start at the log start offset, rebuilding them all.
 *
 * @module
 */

import { Errno, IoError, type Libc } from "../ffi/port.ts";
import type { Logger } from "../util/log.ts";
import type { LogConfig } from "./log_config.ts";
import {
  CHECKPOINT_FILE_NAME,
  CLEAN_SHUTDOWN_FILE_NAME,
  CLEANED_FILE_SUFFIX,
  joinPath,
  LOG_FILE_SUFFIX,
  parseSegmentFileName,
  parseSnapshotFileName,
  snapshotFileName,
} from "./log_files.ts";
import {
  type ProducerEntry,
  ProducerStateManager,
  SnapshotCorruptError,
} from "./producer_state.ts";
import { RecordBatchView } from "../protocol/record_batch.ts";
import { decodeControlBatch } from "../protocol/control_batch.ts";
import { indexCompletedTxn } from "./log_transactions.ts";
import { Segment } from "./segment.ts";

/** Snapshots kept per partition (older ones are deleted when a new one is written). */
export const SNAPSHOTS_RETAINED = 2;

/** The persisted offsets of a partition. */
export interface LogCheckpoint {
  readonly logStartOffset: number;
  /** Every offset below this was flushed. */
  readonly recoveryPoint: number;
}

/** What {@linkcode loadLog} found and did. */
export interface LoadedLog {
  readonly segments: Segment[];
  readonly checkpoint: LogCheckpoint;
  readonly clean: boolean;
  readonly producers: ProducerStateManager;
  /** Segments CRC-scanned by recovery. */
  readonly recoveredSegmentCount: number;
  /** Bytes cut off torn or garbled tails, and segments deleted after a cut one. */
  readonly truncatedBytes: number;
  /** Batch headers replayed into the producer state after its snapshot. */
  readonly replayedBatchCount: number;
  /** The checkpoint as it is on disk (all zero when missing); undefined when unreadable. */
  readonly checkpointOnDisk: LogCheckpoint | undefined;
  /** The offset of the snapshot the producer state was loaded from, if any. */
  readonly snapshotOffset: number | undefined;
}

/** Options of {@linkcode loadLog}. */
export interface LoadLogOptions {
  readonly nowMs: number;
  readonly logger?: Logger;
}

/** See the module doc. Throws IoError; closes what it opened on failure. */
export function loadLog(
  libc: Libc,
  dir: string,
  config: LogConfig,
  options: LoadLogOptions,
): LoadedLog {
  libc.mkdirp(dir);
  const markerPath = joinPath(dir, CLEAN_SHUTDOWN_FILE_NAME);
  const clean = libc.exists(markerPath);
  if (clean) libc.unlink(markerPath);
  const saved = readCheckpoint(libc, dir);
  const checkpointOnDisk = saved ??
    (libc.exists(joinPath(dir, CHECKPOINT_FILE_NAME)) ? undefined : MISSING_CHECKPOINT);
  const baseOffsets = segmentBaseOffsets(libc, dir);
  if (baseOffsets.length === 0) baseOffsets.push(0);
  const recoveryPoint = saved?.recoveryPoint ?? 0;
  const segments: Segment[] = [];
  let recoveredSegmentCount = 0;
  let truncatedBytes = 0;
  try {
    for (let i = 0; i < baseOffsets.length; i++) {
      const nextBaseOffset = baseOffsets[i + 1] ?? Infinity;
      const active = i === baseOffsets.length - 1;
      const segment = Segment.open(libc, {
        dir,
        baseOffset: baseOffsets[i],
        config,
        nowMs: options.nowMs,
        active,
        recover: !clean && nextBaseOffset > recoveryPoint,
      });
      segments.push(segment);
      if (segment.recovered) recoveredSegmentCount++;
      // A recovered older segment may hold bytes that never reached the disk (a crash
      // during its roll): sync it before the recovery point moves past it.
      if (segment.recovered && !active) libc.fdatasync(segment.logFd);
      if (segment.truncatedBytes === 0) continue;
      truncatedBytes += segment.truncatedBytes;
      options.logger?.warn(
        `Recovery cut ${segment.truncatedBytes} byte(s) of torn or invalid data off "${segment.logPath}" at position ${segment.sizeBytes} (the log now ends at offset ${segment.nextOffset}).`,
      );
      if (!active) {
        // Later segments follow a hole: delete them and make this one active again.
        for (const later of baseOffsets.slice(i + 1)) {
          const doomed = Segment.open(libc, {
            dir,
            baseOffset: later,
            config,
            nowMs: options.nowMs,
            active: false,
            recover: false,
          });
          truncatedBytes += doomed.sizeBytes;
          options.logger?.warn(`Recovery deleted "${doomed.logPath}": it follows a cut segment.`);
          doomed.delete();
        }
        segments.pop()!.close();
        segments.push(Segment.open(libc, {
          dir,
          baseOffset: baseOffsets[i],
          config,
          nowMs: options.nowMs,
          active: true,
          recover: false,
        }));
        break;
      }
    }
  } catch (error) {
    for (const segment of segments) segment.close();
    throw error;
  }
  const logEndOffset = segments[segments.length - 1].nextOffset;
  const logStartOffset = Math.min(
    Math.max(saved?.logStartOffset ?? 0, segments[0].baseOffset),
    logEndOffset,
  );
  const producers = new ProducerStateManager();
  const { replayedBatchCount, snapshotOffset } = loadProducerState(libc, dir, producers, {
    segments,
    logStartOffset,
    logEndOffset,
    logger: options.logger,
  });
  return {
    segments,
    checkpoint: { logStartOffset, recoveryPoint: clean ? logEndOffset : recoveryPoint },
    clean,
    producers,
    recoveredSegmentCount,
    truncatedBytes,
    replayedBatchCount,
    checkpointOnDisk,
    snapshotOffset,
  };
}

/** A missing checkpoint reads as this one (nothing deleted, nothing known flushed). */
const MISSING_CHECKPOINT: LogCheckpoint = { logStartOffset: 0, recoveryPoint: 0 };

/** Reads the checkpoint; `undefined` when missing or unreadable (everything is then recovered). */
export function readCheckpoint(libc: Libc, dir: string): LogCheckpoint | undefined {
  try {
    const text = new TextDecoder().decode(libc.readFile(joinPath(dir, CHECKPOINT_FILE_NAME)));
    const parsed = JSON.parse(text) as Partial<LogCheckpoint>;
    const { logStartOffset, recoveryPoint } = parsed;
    if (!Number.isSafeInteger(logStartOffset) || !Number.isSafeInteger(recoveryPoint)) {
      return undefined;
    }
    return { logStartOffset: logStartOffset!, recoveryPoint: recoveryPoint! };
  } catch (error) {
    if (error instanceof IoError && error.errno === Errno.ENOENT) return undefined;
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}

/** Writes the checkpoint atomically (write, fdatasync, rename). */
export function writeCheckpoint(libc: Libc, dir: string, checkpoint: LogCheckpoint): void {
  libc.writeFileAtomic(
    joinPath(dir, CHECKPOINT_FILE_NAME),
    new TextEncoder().encode(JSON.stringify(checkpoint) + "\n"),
  );
}

/** Writes `<offset>.snapshot` and deletes all but the newest {@linkcode SNAPSHOTS_RETAINED}. */
export function writeSnapshot(
  libc: Libc,
  dir: string,
  offset: number,
  producers: ProducerStateManager,
): void {
  libc.writeFileAtomic(joinPath(dir, snapshotFileName(offset)), producers.encode());
  const offsets = snapshotOffsets(libc, dir);
  for (const old of offsets.slice(SNAPSHOTS_RETAINED)) {
    libc.unlink(joinPath(dir, snapshotFileName(old)));
  }
}

/** Snapshot offsets in the directory, newest first. */
function snapshotOffsets(libc: Libc, dir: string): number[] {
  const offsets: number[] = [];
  for (const entry of libc.readdir(dir)) {
    const offset = entry.isDirectory ? undefined : parseSnapshotFileName(entry.name);
    if (offset !== undefined) offsets.push(offset);
  }
  return offsets.sort((a, b) => b - a);
}

/**
 * Rebuilds `producers` from the newest snapshot at or below the log end (newer ones are
 * deleted) and the batches after it (at open, and after a follower's truncation).
 */
export function loadProducerState(
  libc: Libc,
  dir: string,
  producers: ProducerStateManager,
  log: { segments: Segment[]; logStartOffset: number; logEndOffset: number; logger?: Logger },
): { replayedBatchCount: number; snapshotOffset: number | undefined } {
  let fromOffset = log.logStartOffset;
  let snapshotOffset: number | undefined = undefined;
  const rebuildAll = log.segments.some((s) => s.txnIndexLost);
  for (const offset of rebuildAll ? [] : snapshotOffsets(libc, dir)) {
    const path = joinPath(dir, snapshotFileName(offset));
    if (offset > log.logEndOffset || offset < log.logStartOffset) {
      libc.unlink(path); // beyond a cut tail, or below retention
      continue;
    }
    try {
      producers.load(libc.readFile(path), path);
      fromOffset = offset;
      snapshotOffset = offset;
      break;
    } catch (error) {
      if (!(error instanceof SnapshotCorruptError)) throw error;
      log.logger?.warn(`${error.message} Rebuilding producer state from the log.`);
      libc.unlink(path);
    }
  }
  let replayed = 0;
  for (const segment of log.segments) segment.txnIndex.truncateTo(fromOffset);
  for (const segment of log.segments) {
    if (segment.nextOffset <= fromOffset) continue;
    segment.forEachBatch(fromOffset, (header, positionBytes) => {
      if (header.baseOffset < fromOffset) return;
      replayed++;
      if (header.producerId < 0) return;
      if (header.isControl) {
        replayMarker(segment, producers, segment.readBytes(positionBytes, header.sizeBytes));
        return;
      }
      producers.update({
        producerId: header.producerId,
        producerEpoch: header.producerEpoch,
        baseSequence: header.baseSequence,
        lastOffsetDelta: header.lastOffsetDelta,
        baseOffset: header.baseOffset,
        maxTimestampMs: header.maxTimestampMs,
        isTransactional: header.isTransactional,
      });
    });
  }
  for (const segment of log.segments) segment.txnIndex.flush();
  producers.truncateHead(log.logStartOffset);
  return { replayedBatchCount: replayed, snapshotOffset };
}

/** Ends the transaction of the marker `bytes` (a whole control batch) and indexes an abort. */
function replayMarker(segment: Segment, producers: ProducerStateManager, bytes: Uint8Array): void {
  const view = new RecordBatchView(bytes);
  const decoded = decodeControlBatch(view);
  if (!decoded.ok) return; // another kind of control batch: no transaction ends
  const pending = new Map<number, ProducerEntry>();
  const completed = producers.updateMarker(
    { ...decoded.marker, offset: view.baseOffset, timestampMs: view.maxTimestampMs },
    pending,
  );
  producers.commit(pending);
  if (completed !== undefined) indexCompletedTxn(segment, completed, producers);
}

/** Base offsets of the `.log` files; orphan indexes and half-written cleaned files are deleted. */
function segmentBaseOffsets(libc: Libc, dir: string): number[] {
  const logs = new Set<number>();
  const indexes: { baseOffset: number; name: string }[] = [];
  for (const entry of libc.readdir(dir)) {
    if (entry.isDirectory) continue;
    if (entry.name.endsWith(CLEANED_FILE_SUFFIX) || entry.name.endsWith(".tmp")) {
      libc.unlink(joinPath(dir, entry.name)); // an interrupted compaction or atomic write
      continue;
    }
    const parsed = parseSegmentFileName(entry.name);
    if (parsed === undefined) continue;
    if (parsed.suffix === LOG_FILE_SUFFIX) logs.add(parsed.baseOffset);
    else indexes.push({ baseOffset: parsed.baseOffset, name: entry.name });
  }
  for (const index of indexes) {
    if (!logs.has(index.baseOffset)) libc.unlink(joinPath(dir, index.name)); // orphan index (Kafka deletes it too)
  }
  return [...logs].sort((a, b) => a - b);
}
