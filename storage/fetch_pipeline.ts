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
import type { Segment } from "./segment.ts";

/** File ranges to send, in order, and their total size. */
export interface FetchSlices {
  readonly slices: FileSlice[];
  readonly sizeBytes: number;
}

/** The index of the segment with the largest base offset <= `offset` (0 when below all). */
export function floorSegmentIndex(segments: readonly Segment[], offset: number): number {
  let low = 0;
  let high = segments.length - 1;
  let found = 0;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    if (segments[middle].baseOffset <= offset) {
      found = middle;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return found;
}

/**
 * Slices of whole batches from the batch holding `fetchOffset` on. The caller has checked
 * `logStartOffset <= fetchOffset < logEndOffset`.
 */
export function readSlices(
  segments: readonly Segment[],
  fetchOffset: number,
  maxBytes: number,
): FetchSlices {
  assert(maxBytes >= 0, `Invalid maxBytes "${maxBytes}"`);
  let i = floorSegmentIndex(segments, fetchOffset);
  let first = segments[i].findBatch(fetchOffset);
  while (first === undefined && i + 1 < segments.length) {
    first = segments[++i].findBatch(fetchOffset);
  }
  if (first === undefined) return { slices: [], sizeBytes: 0 };

  const slices: FileSlice[] = [];
  let remainingBytes = maxBytes;
  for (let startBytes = first.positionBytes; i < segments.length; i++, startBytes = 0) {
    const segment = segments[i];
    const segmentSizeBytes = segment.sizeBytes;
    if (startBytes >= segmentSizeBytes) continue;
    let endBytes = segment.batchEndAtOrBelow(startBytes, startBytes + remainingBytes);
    if (endBytes === startBytes) {
      if (slices.length > 0) break;
      endBytes = startBytes + first.sizeBytes; // KIP-74: one whole batch even above maxBytes
    }
    slices.push({ fd: segment.logFd, positionBytes: startBytes, sizeBytes: endBytes - startBytes });
    remainingBytes = Math.max(0, remainingBytes - (endBytes - startBytes));
    if (endBytes < segmentSizeBytes || remainingBytes === 0) break;
  }
  let sizeBytes = 0;
  for (const slice of slices) sizeBytes += slice.sizeBytes;
  return { slices, sizeBytes };
}
