/**
 * The leader epoch cache of one partition (Kafka's `LeaderEpochFileCache`):
 * for every leader epoch the log holds, the offset of its first record, kept
 * in `leader-epoch-checkpoint` in Kafka's format (a version line `0`, the
 * entry count, then one `epoch startOffset` line per entry) and rewritten
 * atomically on every change.
 *
 * A leader adds an entry when it appends the first batch of a new epoch; a
 * follower when it appends a batch stamped with a newer epoch than the last.
 * Truncating the log's end (a diverged follower) or start (retention) trims
 * the entries. {@linkcode LeaderEpochCache.endOffsetFor} answers
 * OffsetForLeaderEpoch and a follower's `lastFetchedEpoch`: where a given
 * epoch ended in this log.
 *
 * @module
 */
import { Errno, IoError, type Libc } from "../ffi/port.ts";
import { joinPath } from "./log_files.ts";

/** The checkpoint's file name in a partition directory (Kafka's). */
export const LEADER_EPOCH_CHECKPOINT_FILE_NAME = "leader-epoch-checkpoint";
/** Kafka's `UNDEFINED_EPOCH` and `UNDEFINED_EPOCH_OFFSET`. */
export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_EPOCH_OFFSET = -1;
const CHECKPOINT_VERSION = 0;

/** One epoch and the offset of its first record. */
export interface EpochEntry {
  readonly epoch: number;
  readonly startOffset: number;
}

/** Where an epoch ended: the largest epoch <= the one asked for, and the start of the next. */
export interface EpochEndOffset {
  readonly epoch: number;
  readonly endOffset: number;
}

/** See the module doc. */
export class LeaderEpochCache {
  readonly #libc: Libc;
  readonly #path: string;
  #entries: EpochEntry[];

  private constructor(libc: Libc, path: string, entries: EpochEntry[]) {
    this.#libc = libc;
    this.#path = path;
    this.#entries = entries;
  }

  /**
   * Reads the checkpoint in `dir` (missing or unreadable: empty) and trims it to the log's
   * `[logStartOffset, logEndOffset)`.
   */
  static open(
    libc: Libc,
    dir: string,
    log: { logStartOffset: number; logEndOffset: number },
  ): LeaderEpochCache {
    const path = joinPath(dir, LEADER_EPOCH_CHECKPOINT_FILE_NAME);
    let entries: EpochEntry[] = [];
    try {
      entries = parseCheckpoint(new TextDecoder().decode(libc.readFile(path)));
    } catch (error) {
      if (!(error instanceof IoError && error.errno === Errno.ENOENT)) {
        if (error instanceof IoError) throw error;
        entries = []; // a corrupt checkpoint: epochs are learned again from new appends
      }
    }
    const cache = new LeaderEpochCache(libc, path, entries);
    const before = cache.#text();
    cache.#trimEnd(log.logEndOffset);
    cache.#trimStart(log.logStartOffset);
    if (cache.#text() !== before) cache.#save();
    return cache;
  }

  /** The entries, oldest first. */
  get entries(): readonly EpochEntry[] {
    return this.#entries;
  }

  /** The newest epoch, or {@linkcode UNDEFINED_EPOCH} when there is none. */
  get latestEpoch(): number {
    return this.#entries.at(-1)?.epoch ?? UNDEFINED_EPOCH;
  }

  /** The first offset of `epoch`, if the cache has it. */
  startOffsetOf(epoch: number): number | undefined {
    return this.#entries.find((e) => e.epoch === epoch)?.startOffset;
  }

  /**
   * Records that `epoch` starts at `startOffset` (Kafka's `assign`): ignored unless `epoch` is
   * newer than the latest; an older entry starting at or after `startOffset` is dropped.
   * Throws IoError when the checkpoint cannot be written.
   */
  assign(epoch: number, startOffset: number): void {
    if (epoch < 0 || epoch <= this.latestEpoch) return;
    this.#entries = this.#entries.filter((e) => e.startOffset < startOffset);
    this.#entries.push({ epoch, startOffset });
    this.#save();
  }

  /** Drops every entry (the log was emptied to start over at another offset). */
  clear(): void {
    if (this.#entries.length === 0) return;
    this.#entries = [];
    this.#save();
  }

  /** Drops the entries starting at or after `endOffset` (the log was cut there). */
  truncateFromEnd(endOffset: number): void {
    if (this.#trimEnd(endOffset)) this.#save();
  }

  /** Drops entries wholly below `startOffset`; the oldest kept one then starts there. */
  truncateFromStart(startOffset: number): void {
    if (this.#trimStart(startOffset)) this.#save();
  }

  /**
   * Where `requestedEpoch` ended in a log ending at `logEndOffset` (Kafka's `endOffsetFor`):
   * the latest epoch ends at the log end; an older one where the next newer epoch starts,
   * answered with the largest epoch at or below it (or `requestedEpoch` itself when it is
   * older than them all); an unknown newer epoch, or none, is undefined.
   */
  endOffsetFor(requestedEpoch: number, logEndOffset: number): EpochEndOffset {
    const undefinedEnd = { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    if (requestedEpoch === UNDEFINED_EPOCH || this.#entries.length === 0) return undefinedEnd;
    if (requestedEpoch === this.latestEpoch) {
      return { epoch: requestedEpoch, endOffset: logEndOffset };
    }
    const higher = this.#entries.find((e) => e.epoch > requestedEpoch);
    if (higher === undefined) return undefinedEnd;
    const floor = this.#entries.findLast((e) => e.epoch <= requestedEpoch);
    return { epoch: floor?.epoch ?? requestedEpoch, endOffset: higher.startOffset };
  }

  #trimEnd(endOffset: number): boolean {
    const kept = this.#entries.filter((e) => e.startOffset < endOffset);
    const changed = kept.length !== this.#entries.length;
    this.#entries = kept;
    return changed;
  }

  #trimStart(startOffset: number): boolean {
    const firstKept = this.#entries.findLastIndex((e) => e.startOffset <= startOffset);
    if (firstKept < 0) return false;
    const head = this.#entries[firstKept];
    if (firstKept === 0 && head.startOffset === startOffset) return false;
    this.#entries = [{ epoch: head.epoch, startOffset }, ...this.#entries.slice(firstKept + 1)];
    return true;
  }

  #text(): string {
    const lines = [`${CHECKPOINT_VERSION}`, `${this.#entries.length}`];
    for (const e of this.#entries) lines.push(`${e.epoch} ${e.startOffset}`);
    return lines.join("\n") + "\n";
  }

  #save(): void {
    this.#libc.writeFileAtomic(this.#path, new TextEncoder().encode(this.#text()));
  }
}

/** Parses Kafka's checkpoint text; throws Error on anything malformed. */
export function parseCheckpoint(text: string): EpochEntry[] {
  const lines = text.split("\n").filter((line) => line.trim() !== "");
  if (lines.length < 2 || Number(lines[0]) !== CHECKPOINT_VERSION) {
    throw new Error(`Unsupported leader epoch checkpoint version "${lines[0]}"`);
  }
  const count = Number(lines[1]);
  if (!Number.isSafeInteger(count) || count !== lines.length - 2) {
    throw new Error(`Leader epoch checkpoint count "${lines[1]}" does not match its lines`);
  }
  const entries: EpochEntry[] = [];
  for (const line of lines.slice(2)) {
    const [epoch, startOffset] = line.trim().split(/\s+/).map(Number);
    if (!Number.isSafeInteger(epoch) || !Number.isSafeInteger(startOffset)) {
      throw new Error(`Malformed leader epoch checkpoint line "${line}"`);
    }
    entries.push({ epoch, startOffset });
  }
  return entries;
}
