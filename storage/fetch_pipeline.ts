/**
 * The fetch pipeline: offset → segment (binary search of base offsets) →
 * offset index floor → forward scan of batch headers → file slices of whole
 * batches, bounded by `maxBytes` but always holding at least one whole batch
 * (KIP-74), continuing into later segments while room is left. Reads only
 * 61-byte batch headers with pread; record bytes stay in the page cache.
 *
 * @module
 */

import { assert } from "../util/assert.ts";
import type { FileSlice } from "../protocol/send_plan.ts";
import { floorSearch } from "./_floor_search.ts";
import type { Segment } from "./segment.ts";

/**
 * File ranges to send, in order, their total size, and the offsets they hold (Kafka's
 * `FetchDataInfo` keeps its offsets beside the records), so that nothing downstream reads a
 * batch header again to count what was sent.
 */
export interface FetchSlices {
  readonly slices: FileSlice[];
  readonly sizeBytes: number;
  /** The base offset of the first batch sent; -1 when nothing is sent. */
  readonly firstOffset: number;
  /** The offset after the last batch sent; -1 when nothing is sent. */
  readonly nextOffset: number;
}

/** No slices. */
export const NO_SLICES: FetchSlices = Object.freeze({
  slices: [],
  sizeBytes: 0,
  firstOffset: -1,
  nextOffset: -1,
});

/** The index of the segment with the largest base offset <= `offset` (0 when below all). */
export function floorSegmentIndex(segments: readonly Segment[], offset: number): number {
  return Math.max(0, floorSearch(0, segments.length, offset, (i) => segments[i].baseOffset));
}

/**
 * Slices of whole batches from the batch holding `fetchOffset` on, below `endOffset` (a batch
 * boundary, e.g. the last stable offset; default: the log end). The caller has checked
 * `logStartOffset <= fetchOffset < endOffset <= logEndOffset`.
 */
export function readSlices(
  segments: readonly Segment[],
  fetchOffset: number,
  maxBytes: number,
  endOffset?: number,
): FetchSlices {
  assert(maxBytes >= 0, `Invalid maxBytes "${maxBytes}"`);
  const end = endPosition(segments, endOffset);
  let i = floorSegmentIndex(segments, fetchOffset);
  let first = segments[i].findBatch(fetchOffset);
  while (first === undefined && i + 1 < segments.length) {
    first = segments[++i].findBatch(fetchOffset);
  }
  if (first === undefined) return NO_SLICES;

  const slices: FileSlice[] = [];
  let remainingBytes = maxBytes;
  let sizeBytes = 0;
  let nextOffset = -1;
  for (let startBytes = first.positionBytes; i <= end.segmentIndex; i++, startBytes = 0) {
    const segment = segments[i];
    const segmentSizeBytes = i === end.segmentIndex ? end.positionBytes : segment.sizeBytes;
    if (startBytes >= segmentSizeBytes) continue;
    let last = segment.batchEndAtOrBelow(
      startBytes,
      Math.min(startBytes + remainingBytes, segmentSizeBytes),
    );
    if (last.positionBytes === startBytes) {
      if (slices.length > 0) break;
      // KIP-74: one whole batch even above maxBytes.
      last = { positionBytes: startBytes + first.sizeBytes, nextOffset: first.lastOffset + 1 };
    }
    const sliceBytes = last.positionBytes - startBytes;
    slices.push({ fd: segment.logFd, positionBytes: startBytes, sizeBytes: sliceBytes });
    sizeBytes += sliceBytes;
    nextOffset = last.nextOffset;
    remainingBytes = Math.max(0, remainingBytes - sliceBytes);
    if (last.positionBytes < segmentSizeBytes || remainingBytes === 0) break;
  }
  if (slices.length === 0) return NO_SLICES;
  return { slices, sizeBytes, firstOffset: first.baseOffset, nextOffset };
}

/** Where a read bounded by `endOffset` (a batch boundary) stops: a segment and a position in it. */
function endPosition(
  segments: readonly Segment[],
  endOffset: number | undefined,
): { segmentIndex: number; positionBytes: number } {
  const lastIndex = segments.length - 1;
  if (endOffset === undefined || endOffset >= segments[lastIndex].nextOffset) {
    return { segmentIndex: lastIndex, positionBytes: segments[lastIndex].sizeBytes };
  }
  const segmentIndex = floorSegmentIndex(segments, endOffset);
  const segment = segments[segmentIndex];
  const batch = segment.findBatch(endOffset);
  return { segmentIndex, positionBytes: batch?.positionBytes ?? segment.sizeBytes };
}
