/**
 * Header scans over one segment file (Kafka's `LogSegment.translateOffset`
 * and `findOffsetByTimestamp`): from the floor entry of an index, batch
 * headers (61 bytes each, read with pread) are walked forward to turn an
 * offset, a position limit or a timestamp into a file position. Only the
 * timestamp search reads a batch's records, one uncompressed batch at most.
 * Part of `Segment` (`segment.ts`), which passes its current valid size to
 * each scan.
 *
 * @module
 */
import type { RecordBatchView } from "../protocol/record_batch.ts";
import { findRecordByTimestamp } from "../protocol/records.ts";
import type { BatchHeaderReader } from "./_batch_headers.ts";
import type { OffsetIndex } from "./offset_index.ts";
import type { TimeIndex, TimestampOffset } from "./time_index.ts";

/** Where a batch sits in a segment file. */
export interface BatchPosition {
  readonly positionBytes: number;
  readonly sizeBytes: number;
  readonly baseOffset: number;
  readonly lastOffset: number;
}

/** Where a run of whole batches ends: a file position and the offset of the batch found there. */
export interface BatchEnd {
  readonly positionBytes: number;
  /** The base offset of the batch at `positionBytes`; -1 at the end of the segment. */
  readonly nextOffset: number;
}

/** The scans of one segment file; every scan stops at `sizeBytes`, the file's valid size. */
export class SegmentScanner {
  readonly #headers: BatchHeaderReader;
  readonly #offsetIndex: OffsetIndex;
  readonly #timeIndex: TimeIndex;

  constructor(headers: BatchHeaderReader, offsetIndex: OffsetIndex, timeIndex: TimeIndex) {
    this.#headers = headers;
    this.#offsetIndex = offsetIndex;
    this.#timeIndex = timeIndex;
  }

  /** The first batch whose last offset is >= `targetOffset`, scanning headers from the index floor. */
  findBatch(targetOffset: number, sizeBytes: number): BatchPosition | undefined {
    for (let p = this.#offsetIndex.lookup(targetOffset).positionBytes; p < sizeBytes;) {
      const header = this.#headers.read(p, sizeBytes);
      if (header.lastOffset >= targetOffset) {
        return {
          positionBytes: p,
          sizeBytes: header.sizeBytes,
          baseOffset: header.baseOffset,
          lastOffset: header.lastOffset,
        };
      }
      p += header.sizeBytes;
    }
    return undefined;
  }

  /**
   * The end of the last whole batch starting at or after `fromPositionBytes` that ends at or
   * below `limitPositionBytes`, and the base offset of the batch that starts there (-1 when the
   * end is the segment's end: the caller knows its next offset).
   */
  batchEndAtOrBelow(
    fromPositionBytes: number,
    limitPositionBytes: number,
    sizeBytes: number,
  ): BatchEnd {
    if (limitPositionBytes >= sizeBytes) return { positionBytes: sizeBytes, nextOffset: -1 };
    let p = Math.max(
      fromPositionBytes,
      this.#offsetIndex.lookupByPosition(limitPositionBytes).positionBytes,
    );
    while (p < sizeBytes) {
      const header = this.#headers.read(p, sizeBytes);
      if (p + header.sizeBytes > limitPositionBytes) {
        return { positionBytes: p, nextOffset: header.baseOffset };
      }
      p += header.sizeBytes;
    }
    return { positionBytes: p, nextOffset: -1 };
  }

  /**
   * Kafka's `findOffsetByTimestamp`: time index floor, offset index floor, then the first batch
   * with maxTimestamp >= `timestampMs`, then the first record in it at or after both bounds.
   * A compressed batch answers with its own base offset (clamped) and maxTimestamp.
   */
  findOffsetByTimestamp(
    timestampMs: number,
    offsetMin: number,
    sizeBytes: number,
  ): TimestampOffset | undefined {
    const floor = this.#timeIndex.lookup(timestampMs);
    for (
      let p = this.#offsetIndex.lookup(Math.max(floor.offset, offsetMin)).positionBytes;
      p < sizeBytes;
    ) {
      const header = this.#headers.read(p, sizeBytes);
      const batchSizeBytes = header.sizeBytes;
      if (header.maxTimestampMs >= timestampMs && header.lastOffset >= offsetMin) {
        if (header.compression !== 0) {
          return {
            offset: Math.max(header.baseOffset, offsetMin),
            timestampMs: header.maxTimestampMs,
          };
        }
        const batch = this.#headers.readBatch(p, batchSizeBytes);
        const found = findRecordByTimestamp(batch, 0, { timestampMs, offsetMin });
        if (found !== undefined) return { offset: found.offset, timestampMs: found.timestampMs };
      }
      p += batchSizeBytes;
    }
    return undefined;
  }

  /**
   * Calls `visit` with each batch header (a reused view) from the first batch whose last
   * offset is >= `fromOffset`, with its position; stops when `visit` returns false.
   */
  forEachBatch(
    fromOffset: number,
    sizeBytes: number,
    visit: (header: RecordBatchView, positionBytes: number) => boolean | void,
  ): void {
    const first = this.findBatch(fromOffset, sizeBytes);
    if (first === undefined) return;
    for (let p = first.positionBytes; p < sizeBytes;) {
      const header = this.#headers.read(p, sizeBytes);
      const batchSizeBytes = header.sizeBytes;
      if (visit(header, p) === false) return;
      p += batchSizeBytes;
    }
  }
}
