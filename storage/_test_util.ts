/** Helpers shared by the storage tests. */

import { encodeRecordBatch } from "../protocol/records.ts";

/** A batch of `recordCount` records with timestamps `timestampMs, timestampMs + 1, ...`. */
export function testBatch(recordCount: number, timestampMs = 1000, valueBytes = 40): Uint8Array {
  return encodeRecordBatch(
    Array.from({ length: recordCount }, (_, i) => ({
      key: null,
      value: new Uint8Array(valueBytes).fill(i & 0xff),
      timestampMs: timestampMs + i,
    })),
  );
}
