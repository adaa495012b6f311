/**
 * A log's list of segments (Kafka's `LogSegments`), and every change to it
 * (Kafka's `LocalLog` roll and `replaceSegments`): rolling the active
 * segment, reopening one whose flush failed, swapping a cleaned segment in
 * crash-safely, dropping the oldest, and unlinking the files of segments that
 * left the log. {@linkcode LogSegments} is the one owner of the list; the
 * functions below it do the file work for it. The log (`PartitionLog`) owns
 * the offsets, the checkpoints and the retiring of segments that left.
 *
 * @module
 */
import { assert } from "../util/assert.ts";
import { type Libc, OpenFlags } from "../ffi/port.ts";
import { pwriteFully } from "../ffi/pwrite_fully.ts";
import type { LogConfig } from "./log_config.ts";
import {
  CLEANED_FILE_SUFFIX,
  INDEX_FILE_SUFFIX,
  LOG_FILE_SUFFIX,
  segmentPath,
  TIME_INDEX_FILE_SUFFIX,
  TXN_INDEX_FILE_SUFFIX,
} from "./log_files.ts";
import { Segment } from "./segment.ts";
import { type AbortedTxn, encodeTxnIndex } from "./txn_index.ts";
import { floorSegmentIndex } from "./fetch_pipeline.ts";

/** The segments of one log in offset order, the active one last; never empty. */
export class LogSegments {
  readonly #list: Segment[];

  constructor(segments: Segment[]) {
    assert(segments.length > 0, "A log has at least one segment");
    this.#list = segments;
  }

  /** Every segment in offset order, the active one last (a read-only view). */
  get all(): readonly Segment[] {
    return this.#list;
  }
  get count(): number {
    return this.#list.length;
  }
  /** The segment appends go to. */
  get active(): Segment {
    return this.#list[this.#list.length - 1];
  }
  /** The oldest segment. */
  get first(): Segment {
    return this.#list[0];
  }
  /** The segments appends no longer go to, oldest first. */
  get inactive(): readonly Segment[] {
    return this.#list.slice(0, -1);
  }
  /** Bytes of all segments. */
  get sizeBytes(): number {
    let total = 0;
    for (const segment of this.#list) total += segment.sizeBytes;
    return total;
  }

  /** The segment with the largest base offset <= `offset` (the oldest when below all). */
  floor(offset: number): Segment {
    return this.#list[floorSegmentIndex(this.#list, offset)];
  }

  /**
   * Makes a new active segment at `baseOffset` (see {@linkcode rollSegment}). Returns true
   * when the old active segment was kept (everything below `baseOffset` is then on disk).
   */
  roll(baseOffset: number, ctx: SegmentFilesContext): boolean {
    return rollSegment(this.#list, baseOffset, ctx);
  }

  /** Reopens the active segment with recovery; returns the old one, to be retired. */
  reopenActive(ctx: SegmentFilesContext): Segment {
    return reopenActiveSegment(this.#list, ctx);
  }

  /**
   * Swaps the inactive segment `old` for one holding `bytes` (see
   * {@linkcode swapCleanedSegment}); returns `old`, to be retired, or `undefined` when `old`
   * is no longer an inactive segment of this log.
   */
  replace(
    old: Segment,
    cleaned: CleanedSegment,
    ctx: SegmentFilesContext,
  ): Segment | undefined {
    const i = this.#list.indexOf(old);
    if (i < 0 || i === this.#list.length - 1) return undefined;
    return swapCleanedSegment(this.#list, i, cleaned, ctx);
  }

  /**
   * Cuts the log at the batch holding `offset` (Kafka's `LocalLog.truncateTo`, for a diverged
   * follower): the segments above it leave the list (returned, for the caller to unlink after
   * `retire`), the one holding it is retired, cut and reopened as the active segment, its
   * indexes rebuilt by recovery. `offset` must be at or above the first segment's base.
   * Throws IoError.
   */
  truncateTo(
    offset: number,
    ctx: SegmentFilesContext,
    retire: (segment: Segment) => void,
  ): Segment[] {
    const i = floorSegmentIndex(this.#list, offset);
    const keep = this.#list[i];
    assert(keep.baseOffset <= offset, `Truncating to ${offset} below the log's first segment`);
    const cutBytes = keep.findBatch(offset)?.positionBytes ?? keep.sizeBytes;
    const removed = this.#list.splice(i + 1);
    for (const segment of removed) retire(segment);
    retire(keep); // closes its writer first: an mmap writer trims the file on close
    const fd = ctx.libc.open(keep.logPath, OpenFlags.O_RDWR | OpenFlags.O_CLOEXEC, 0o644);
    try {
      ctx.libc.ftruncate(fd, cutBytes);
    } finally {
      ctx.libc.close(fd);
    }
    this.#list[i] = openSegment(ctx, keep.baseOffset, { active: true, recover: true });
    return removed;
  }

  /**
   * Replaces every segment by one empty active segment at `baseOffset` (Kafka's
   * `truncateFullyAndStartAt`: a follower far behind its leader's log start). Returns the old
   * segments, for the caller to retire and unlink. Throws IoError; on failure the list is kept.
   */
  startOverAt(baseOffset: number, ctx: SegmentFilesContext): Segment[] {
    for (const segment of this.#list) {
      assert(segment.baseOffset !== baseOffset || segment.sizeBytes === 0, "Start over onto data");
    }
    const old = this.#list.splice(0, this.#list.length);
    const reuse = old.find((s) => s.baseOffset === baseOffset);
    if (reuse !== undefined) {
      // An empty segment already sits at baseOffset: keep its files, reopen it as active.
      old.splice(old.indexOf(reuse), 1);
      reuse.close();
    }
    try {
      this.#list.push(openSegment(ctx, baseOffset, { active: true, recover: false }));
    } catch (error) {
      this.#list.push(...old);
      throw error;
    }
    return old;
  }

  /** Takes the `count` oldest segments out of the list (not the active one); returns them. */
  removeOldest(count: number): Segment[] {
    assert(count < this.#list.length, `Removing ${count} of ${this.#list.length} segments`);
    return this.#list.splice(0, count);
  }
}

/** What a cleaned segment holds. */
export interface CleanedSegment {
  /** Whole batches with their offsets. */
  readonly bytes: Uint8Array;
  /**
   * Its aborted transactions when they changed (only ever fewer: those with no data left),
   * else undefined.
   */
  readonly abortedTxns?: readonly AbortedTxn[];
}

/** Where and how new segments are opened. */
export interface SegmentFilesContext {
  readonly libc: Libc;
  readonly dir: string;
  readonly config: LogConfig;
  /** The new segments' creation time. */
  readonly nowMs: number;
}

/**
 * Makes a new active segment at `baseOffset` the last of `segments`. An empty active segment is
 * replaced (Kafka deletes an empty active segment on roll); otherwise the old one is synced and
 * trimmed first. Returns true when the old segment was kept (everything below `baseOffset` is
 * then on disk). Throws IoError; a failed roll leaves `segments` as it was.
 */
function rollSegment(
  segments: Segment[],
  baseOffset: number,
  ctx: SegmentFilesContext,
): boolean {
  const { libc, dir } = ctx;
  const old = segments[segments.length - 1];
  const suffixes = [
    LOG_FILE_SUFFIX,
    INDEX_FILE_SUFFIX,
    TIME_INDEX_FILE_SUFFIX,
    TXN_INDEX_FILE_SUFFIX,
  ] as const;
  for (const suffix of suffixes) {
    const path = segmentPath(dir, baseOffset, suffix);
    if (old.baseOffset !== baseOffset && libc.exists(path)) libc.unlink(path); // a failed roll's leftovers
  }
  const open = () => openSegment(ctx, baseOffset, { active: true, recover: false });
  if (old.sizeBytes === 0) {
    assert(old.baseOffset !== baseOffset, `Rolling an empty segment onto itself at ${baseOffset}`);
    const fresh = open();
    old.delete();
    segments[segments.length - 1] = fresh;
    return false;
  }
  const fresh = open();
  try {
    old.makeInactive();
  } catch (error) {
    fresh.delete();
    throw error;
  }
  segments.push(fresh);
  return true;
}

/**
 * Replaces the active segment of `segments` by the same file reopened with recovery (after a
 * failed flush: recovery decides what of it is valid). Returns the old one, to be retired.
 */
function reopenActiveSegment(segments: Segment[], ctx: SegmentFilesContext): Segment {
  const old = segments[segments.length - 1];
  segments[segments.length - 1] = openSegment(ctx, old.baseOffset, { active: true, recover: true });
  return old;
}

/**
 * Swaps segment `index` of `segments` for one holding `cleaned.bytes` (whole batches with their
 * offsets): `<base>.log.cleaned` is written and synced, the old indexes deleted, the file
 * renamed over `<base>.log`, and the new segment opened with fresh indexes. A crash at any
 * point leaves either log, and a missing index is rebuilt. A changed `.txnindex` is replaced
 * first, atomically: it only loses entries of transactions with no data left in the old log
 * either, so with either log it never names data it should hide nor outlives a marker.
 * Returns the old segment, to be retired. Throws IoError.
 */
function swapCleanedSegment(
  segments: Segment[],
  index: number,
  cleaned: CleanedSegment,
  ctx: SegmentFilesContext,
): Segment {
  const { libc } = ctx;
  const old = segments[index];
  const bytes = cleaned.bytes;
  if (cleaned.abortedTxns !== undefined) {
    const path = old.txnIndex.path;
    if (cleaned.abortedTxns.length > 0) {
      libc.writeFileAtomic(path, encodeTxnIndex(cleaned.abortedTxns));
    } else if (libc.exists(path)) libc.unlink(path);
  }
  const cleanedPath = old.logPath + CLEANED_FILE_SUFFIX;
  const fd = libc.open(
    cleanedPath,
    OpenFlags.O_RDWR | OpenFlags.O_CREAT | OpenFlags.O_TRUNC | OpenFlags.O_CLOEXEC,
    0o644,
  );
  try {
    pwriteFully(libc, { fd, bytes, positionBytes: 0, path: cleanedPath });
    libc.fdatasync(fd);
  } finally {
    libc.close(fd);
  }
  for (const path of [old.offsetIndex.path, old.timeIndex.path]) {
    if (libc.exists(path)) libc.unlink(path);
  }
  libc.rename(cleanedPath, old.logPath);
  segments[index] = openSegment(ctx, old.baseOffset, { active: false, recover: true });
  return old;
}

/** Unlinks a segment's `.log` and index files (its fds may stay open until retired). */
export function unlinkSegmentFiles(libc: Libc, segment: Segment): void {
  const paths = [
    segment.logPath,
    segment.offsetIndex.path,
    segment.timeIndex.path,
    segment.txnIndex.path,
  ];
  for (const path of paths) if (libc.exists(path)) libc.unlink(path);
}

function openSegment(
  ctx: SegmentFilesContext,
  baseOffset: number,
  how: { active: boolean; recover: boolean },
): Segment {
  return Segment.open(ctx.libc, {
    dir: ctx.dir,
    baseOffset,
    config: ctx.config,
    nowMs: ctx.nowMs,
    ...how,
  });
}
