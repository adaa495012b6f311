/**
 * Kafka's TimeIndex: a sparse map from timestamp to offset. Entries are 12
 * bytes, timestamp i64 BE + relative offset u32 BE, appended only when the
 * segment's max timestamp grows; a lookup is the floor entry (largest
 * timestamp <= target), followed by a forward scan of batch headers.
 *
 * @module
 */

import { assert } from "../util/assert.ts";
import type { Libc } from "../ffi/port.ts";
import { readInt64, writeInt64 } from "../protocol/record_batch.ts";
import { AbstractIndex, IndexCorruptError, IndexFile } from "./_index_file.ts";
import { RELATIVE_OFFSET_MAX } from "./offset_index.ts";

/** Bytes per time index entry. */
export const TIME_INDEX_ENTRY_BYTES = 12;

/** A time index entry in absolute terms. */
export interface TimestampOffset {
  readonly timestampMs: number;
  readonly offset: number;
}

/** Options of {@linkcode TimeIndex.open}. */
export interface TimeIndexOptions {
  readonly baseOffset: number;
  /** Kafka's `segment.index.bytes`. */
  readonly maxIndexBytes: number;
  readonly writable: boolean;
}

const timestampAt = (view: DataView, positionBytes: number) => readInt64(view, positionBytes);
const relativeOffsetAt = (view: DataView, positionBytes: number) =>
  view.getUint32(positionBytes + 8);

/** See the module doc. */
export class TimeIndex extends AbstractIndex {
  private constructor(baseOffset: number, file: IndexFile) {
    super(baseOffset, file);
  }

  /** Opens or creates the index at `path`; throws {@linkcode IndexCorruptError} on a bad size. */
  static open(libc: Libc, path: string, options: TimeIndexOptions): TimeIndex {
    const file = IndexFile.open(libc, path, {
      entrySizeBytes: TIME_INDEX_ENTRY_BYTES,
      maxIndexBytes: options.maxIndexBytes,
      writable: options.writable,
      isEmptyEntry: (view, p) =>
        view.getUint32(p) === 0 && view.getUint32(p + 4) === 0 && view.getUint32(p + 8) === 0,
    });
    return new TimeIndex(options.baseOffset, file);
  }

  /** The entry at `i` (0-based). */
  entry(i: number): TimestampOffset {
    assert(i >= 0 && i < this.file.entryCount, `Entry ${i} out of ${this.file.entryCount}`);
    const p = i * TIME_INDEX_ENTRY_BYTES;
    return {
      timestampMs: readInt64(this.file.view, p),
      offset: this.baseOffset + this.file.view.getUint32(p + 8),
    };
  }

  /** The last entry, or `(-1, baseOffset)` when empty (Kafka's `lastEntry`). */
  lastEntry(): TimestampOffset {
    return this.entryCount === 0
      ? { timestampMs: -1, offset: this.baseOffset }
      : this.entry(this.entryCount - 1);
  }

  /**
   * Appends `(timestampMs, offset)` when `timestampMs` is above the last entry's
   * (Kafka's `maybeAppend`); offsets must not go back. A full index ignores it.
   */
  maybeAppend(timestampMs: number, offset: number): void {
    const last = this.lastEntry();
    if (this.entryCount > 0 && timestampMs <= last.timestampMs) return;
    if (this.isFull) return;
    assert(
      offset >= last.offset,
      `Time index offsets must not go back: ${offset} after ${last.offset}`,
    );
    assert(
      offset - this.baseOffset <= RELATIVE_OFFSET_MAX,
      `Offset ${offset} is out of range for base ${this.baseOffset}`,
    );
    const p = this.file.appendEntry();
    writeInt64(this.file.view, p, timestampMs);
    this.file.view.setUint32(p + 8, offset - this.baseOffset);
  }

  /** The entry with the largest timestamp <= `timestampMs`, or `(-1, baseOffset)` if none. */
  lookup(timestampMs: number): TimestampOffset {
    const found = this.file.floorEntry(timestampMs, timestampAt);
    return found < 0 ? { timestampMs: -1, offset: this.baseOffset } : this.entry(found);
  }

  /** Drops every entry whose offset is at or above `offset` (log truncation). */
  truncateTo(offset: number): void {
    this.file.truncateToEntries(
      this.file.floorEntry(offset - this.baseOffset - 1, relativeOffsetAt) + 1,
    );
  }

  /** Timestamps strictly increasing, offsets non-decreasing and below `nextOffset`; else {@linkcode IndexCorruptError}. */
  sanityCheck(nextOffset: number): void {
    let previous: TimestampOffset = { timestampMs: -Infinity, offset: this.baseOffset };
    for (let i = 0; i < this.entryCount; i++) {
      const e = this.entry(i);
      if (
        e.timestampMs <= previous.timestampMs || e.offset < previous.offset ||
        e.offset >= nextOffset
      ) {
        throw new IndexCorruptError(
          this.file.path,
          `entry ${i} (${e.timestampMs}, ${e.offset}) is out of order`,
        );
      }
      previous = e;
    }
  }
}
