/**
 * File and directory names of a log, as Kafka lays them out: a partition
 * directory `<topic>-<partition>` holding segments named by their base offset
 * zero-padded to 20 digits, e.g. `00000000000000001234.log`, `.index`,
 * `.timeindex`.
 *
 * @module
 */

import { assert } from "../util/assert.ts";

/** Suffix of a segment's data file. */
export const LOG_FILE_SUFFIX = ".log";
/** Suffix of a segment's offset index. */
export const INDEX_FILE_SUFFIX = ".index";
/** Suffix of a segment's time index. */
export const TIME_INDEX_FILE_SUFFIX = ".timeindex";
/** Suffix of a segment's aborted-transaction index (created at its first abort). */
export const TXN_INDEX_FILE_SUFFIX = ".txnindex";
/** Written by a clean {@linkcode PartitionLog.close}, removed on open: its absence means "recover". */
export const CLEAN_SHUTDOWN_FILE_NAME = ".denka_clean_shutdown";

/** The partition's log start offset and recovery point, rewritten atomically when they move. */
export const CHECKPOINT_FILE_NAME = ".denka_checkpoint";
/** Suffix of a producer state snapshot, named by the offset it was taken at. */
export const SNAPSHOT_FILE_SUFFIX = ".snapshot";
/** Suffix of a compacted segment being written; a leftover one is deleted at open. */
export const CLEANED_FILE_SUFFIX = ".cleaned";

/** `<20-digit offset>.snapshot`. */
export function snapshotFileName(offset: number): string {
  assert(Number.isSafeInteger(offset) && offset >= 0, `Invalid snapshot offset "${offset}"`);
  return String(offset).padStart(OFFSET_DIGITS, "0") + SNAPSHOT_FILE_SUFFIX;
}

/** The offset of a snapshot file name, or `undefined` for any other file. */
export function parseSnapshotFileName(name: string): number | undefined {
  const match = /^(\d{20})\.snapshot$/.exec(name);
  if (match === null) return undefined;
  const offset = Number(match[1]);
  return Number.isSafeInteger(offset) ? offset : undefined;
}

/** The suffixes of a segment's files. */
export type SegmentFileSuffix =
  | typeof LOG_FILE_SUFFIX
  | typeof INDEX_FILE_SUFFIX
  | typeof TIME_INDEX_FILE_SUFFIX
  | typeof TXN_INDEX_FILE_SUFFIX;

const OFFSET_DIGITS = 20;
const SEGMENT_FILE_PATTERN = /^(\d{20})(\.log|\.index|\.timeindex|\.txnindex)$/;

/** `<20-digit baseOffset><suffix>`. */
export function segmentFileName(baseOffset: number, suffix: SegmentFileSuffix): string {
  assert(
    Number.isSafeInteger(baseOffset) && baseOffset >= 0,
    `Invalid base offset "${baseOffset}"`,
  );
  return String(baseOffset).padStart(OFFSET_DIGITS, "0") + suffix;
}

/** Parses a segment file name; `undefined` for any other file. */
export function parseSegmentFileName(
  name: string,
): { baseOffset: number; suffix: SegmentFileSuffix } | undefined {
  const match = SEGMENT_FILE_PATTERN.exec(name);
  if (match === null) return undefined;
  const baseOffset = Number(match[1]);
  if (!Number.isSafeInteger(baseOffset)) return undefined;
  return { baseOffset, suffix: match[2] as SegmentFileSuffix };
}

/** `<topic>-<partition>`. */
export function partitionDirName(topic: string, partition: number): string {
  assert(topic.length > 0 && !topic.includes("/"), `Invalid topic name "${topic}"`);
  assert(Number.isInteger(partition) && partition >= 0, `Invalid partition "${partition}"`);
  return `${topic}-${partition}`;
}

/** Parses `<topic>-<partition>` (the topic may itself contain `-`); `undefined` otherwise. */
export function parsePartitionDirName(
  name: string,
): { topic: string; partition: number } | undefined {
  const dash = name.lastIndexOf("-");
  if (dash <= 0) return undefined;
  const digits = name.slice(dash + 1);
  if (!/^\d{1,10}$/.test(digits)) return undefined;
  const partition = Number(digits);
  if (partition > 2147483647) return undefined;
  return { topic: name.slice(0, dash), partition };
}

/** Joins a directory and a file name with one `/`. */
export function joinPath(dir: string, name: string): string {
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}

/** The path of a segment file inside a partition directory. */
export function segmentPath(dir: string, baseOffset: number, suffix: SegmentFileSuffix): string {
  return joinPath(dir, segmentFileName(baseOffset, suffix));
}
