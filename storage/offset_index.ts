/**
 * Kafka's OffsetIndex: a sparse map from offset to the file position of the
 * batch holding it. Entries are 8 bytes, relative offset u32 BE + position
 * u32 BE, relative to the segment's base offset; a lookup is the floor entry,
 * followed by a forward scan of batch headers in the log.
 *
 * @module
 */

import { assert } from "../util/assert.ts";
import type { Libc } from "../ffi/port.ts";
import { AbstractIndex, IndexCorruptError, IndexFile } from "./_index_file.ts";

/** Bytes per offset index entry. */
export const OFFSET_INDEX_ENTRY_BYTES = 8;
/**
 * The largest offset − baseOffset an index entry holds. Kafka stores it as a Java int and
 * rejects anything above `Integer.MAX_VALUE` (`AbstractIndex.toRelative`), so we do too,
 * which keeps our files readable by Kafka's tools.
 */
export const RELATIVE_OFFSET_MAX = 2 ** 31 - 1;
/** Segment file positions are u32 in the index, signed in Kafka: a segment stays below 2 GiB. */
export const POSITION_BYTES_MAX = 2 ** 31 - 1;

/** An index entry in absolute terms. */
export interface OffsetPosition {
  readonly offset: number;
  readonly positionBytes: number;
}

/** Options of {@linkcode OffsetIndex.open}. */
export interface OffsetIndexOptions {
  readonly baseOffset: number;
  /** Kafka's `segment.index.bytes`. */
  readonly maxIndexBytes: number;
  readonly writable: boolean;
}

const relativeOffsetAt = (view: DataView, positionBytes: number) => view.getUint32(positionBytes);
const positionAt = (view: DataView, positionBytes: number) => view.getUint32(positionBytes + 4);

/** See the module doc. */
export class OffsetIndex extends AbstractIndex {
  private constructor(baseOffset: number, file: IndexFile) {
    super(baseOffset, file);
  }

  /** Opens or creates the index at `path`; throws {@linkcode IndexCorruptError} on a bad size. */
  static open(libc: Libc, path: string, options: OffsetIndexOptions): OffsetIndex {
    const file = IndexFile.open(libc, path, {
      entrySizeBytes: OFFSET_INDEX_ENTRY_BYTES,
      maxIndexBytes: options.maxIndexBytes,
      writable: options.writable,
      // Kafka never indexes the first batch of a segment, so relative offset 0 never appears.
      isEmptyEntry: (view, p) => view.getUint32(p) === 0 && view.getUint32(p + 4) === 0,
    });
    return new OffsetIndex(options.baseOffset, file);
  }

  /** True when `offset` fits an entry of this index (Kafka's `canAppendOffset`). */
  canHoldOffset(offset: number): boolean {
    const relative = offset - this.baseOffset;
    return relative >= 0 && relative <= RELATIVE_OFFSET_MAX;
  }

  /** The entry at `i` (0-based). */
  entry(i: number): OffsetPosition {
    assert(i >= 0 && i < this.file.entryCount, `Entry ${i} out of ${this.file.entryCount}`);
    const p = i * OFFSET_INDEX_ENTRY_BYTES;
    return {
      offset: this.baseOffset + this.file.view.getUint32(p),
      positionBytes: this.file.view.getUint32(p + 4),
    };
  }

  /** The last entry, or the segment start when empty. */
  lastEntry(): OffsetPosition {
    return this.entryCount === 0
      ? { offset: this.baseOffset, positionBytes: 0 }
      : this.entry(this.entryCount - 1);
  }

  /** Appends `(offset, positionBytes)`; both must grow strictly past the last entry. */
  append(offset: number, positionBytes: number): void {
    assert(
      this.canHoldOffset(offset),
      `Offset ${offset} is out of range for base ${this.baseOffset}`,
    );
    assert(
      positionBytes >= 0 && positionBytes <= POSITION_BYTES_MAX,
      `Position ${positionBytes} overflows`,
    );
    if (this.entryCount > 0) {
      const last = this.lastEntry();
      assert(offset > last.offset, `Index offsets must grow: ${offset} after ${last.offset}`);
      assert(
        positionBytes > last.positionBytes,
        `Index positions must grow: ${positionBytes} after ${last.positionBytes}`,
      );
    }
    const p = this.file.appendEntry();
    this.file.view.setUint32(p, offset - this.baseOffset);
    this.file.view.setUint32(p + 4, positionBytes);
  }

  /**
   * The entry with the largest offset <= `targetOffset`; the segment start
   * (`baseOffset`, position 0) when the target is below the first entry or the index is empty.
   */
  lookup(targetOffset: number): OffsetPosition {
    const found = this.file.floorEntry(targetOffset - this.baseOffset, relativeOffsetAt);
    return found < 0 ? { offset: this.baseOffset, positionBytes: 0 } : this.entry(found);
  }

  /** The entry with the largest position <= `positionBytes`, or the segment start (Kafka's `fetchUpperBoundOffset` search). */
  lookupByPosition(positionBytes: number): OffsetPosition {
    const found = this.file.floorEntry(positionBytes, positionAt);
    return found < 0 ? { offset: this.baseOffset, positionBytes: 0 } : this.entry(found);
  }

  /** Drops every entry at or above `offset` (log truncation). */
  truncateTo(offset: number): void {
    this.file.truncateToEntries(
      this.file.floorEntry(offset - this.baseOffset - 1, relativeOffsetAt) + 1,
    );
  }

  /**
   * Checks every entry: offsets and positions strictly increasing, positions inside the log.
   * Throws {@linkcode IndexCorruptError}, after which the caller rebuilds from the log.
   */
  sanityCheck(logSizeBytes: number): void {
    let previousRelative = -1;
    let previousPosition = -1;
    for (let i = 0; i < this.entryCount; i++) {
      const relative = this.file.view.getUint32(i * OFFSET_INDEX_ENTRY_BYTES);
      const position = this.file.view.getUint32(i * OFFSET_INDEX_ENTRY_BYTES + 4);
      if (
        relative <= previousRelative || position <= previousPosition ||
        relative > RELATIVE_OFFSET_MAX
      ) {
        throw new IndexCorruptError(
          this.file.path,
          `entry ${i} (${relative}, ${position}) is out of order`,
        );
      }
      if (position >= logSizeBytes) {
        throw new IndexCorruptError(
          this.file.path,
          `entry ${i} points at ${position}, past the log's ${logSizeBytes} bytes`,
        );
      }
      previousRelative = relative;
      previousPosition = position;
    }
  }
}
