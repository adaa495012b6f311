/**
 * The transaction side of a log's reads and appends (Kafka's
 * `UnifiedLog.collectAbortedTransactions` and the txn-index update of its
 * append): aborted transactions are indexed in the segment that holds their
 * ABORT marker, and a `read_committed` fetch collects those overlapping what
 * it sends from every segment from the one holding its fetch offset, until an
 * entry's last stable offset reaches past the range.
 *
 * @module
 */
import type { CompletedTxn, ProducerStateManager } from "./producer_state.ts";
import type { Segment } from "./segment.ts";
import type { AbortedTxn } from "./txn_index.ts";
import { floorSegmentIndex } from "./fetch_pipeline.ts";

export type { AbortedTxn } from "./txn_index.ts";

/**
 * The aborted transactions overlapping `[startOffset, upperBoundOffset)`, oldest marker first
 * (Kafka's `collectAbortedTransactions`).
 */
export function collectAbortedTransactions(
  segments: readonly Segment[],
  startOffset: number,
  upperBoundOffset: number,
): AbortedTxn[] {
  const found: AbortedTxn[] = [];
  for (let i = floorSegmentIndex(segments, startOffset); i < segments.length; i++) {
    const search = segments[i].txnIndex.collectAbortedTxns(startOffset, upperBoundOffset);
    found.push(...search.abortedTransactions);
    if (search.isComplete) break;
  }
  return found;
}

/**
 * Indexes `completed` (ended by a marker just written to `segment`) when it was aborted, with
 * the LSO the partition has once it ended: the first offset of another ongoing transaction, or
 * the offset after the marker (Kafka's `ProducerStateManager.lastStableOffset`). `producers`
 * already holds the transaction's end. Throws IoError.
 */
export function indexCompletedTxn(
  segment: Segment,
  completed: CompletedTxn,
  producers: ProducerStateManager,
): void {
  if (!completed.isAborted) return;
  segment.txnIndex.append({
    producerId: completed.producerId,
    firstOffset: completed.firstOffset,
    lastOffset: completed.lastOffset,
    lastStableOffset: producers.firstUnstableOffset() ?? completed.lastOffset + 1,
  });
}
