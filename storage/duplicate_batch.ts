/**
 * Recognises a retried idempotent batch that is already in the log without appending anything
 * (the DUPLICATE_SEQUENCE check of `ProducerStateManager.check`, on its own).
 *
 * Why the produce path needs it apart from `PartitionLog.append`: acks=all refuses a produce
 * with NOT_ENOUGH_REPLICAS while the ISR is below `min.insync.replicas`, and librdkafka reads
 * that error as "not persisted" (`MsgNotPersisted`). For a retry of a batch that the leader
 * has already written (its first answer was NOT_ENOUGH_REPLICAS_AFTER_APPEND or a timeout)
 * that is false: the client then believes the batch was never written, and once it bumps its
 * producer epoch (KIP-360) it sends the same records again under the new epoch at sequence 0,
 * which no sequence check can tell from new records — a duplicate in the log. The chaos run
 * caught exactly that (same producer id, epoch 0 sequence 3694 and epoch 1 sequence 0, one
 * leader epoch, during an etcd restart). So a retry already in the log is answered with its
 * original offsets and waits for the commit like any acks=all append (then NONE, or
 * NOT_ENOUGH_REPLICAS_AFTER_APPEND: "possibly persisted", which makes the client keep its
 * sequence numbers).
 *
 * @module
 */
import { BATCH_HEADER_BYTES, RecordBatchView } from "../protocol/record_batch.ts";
import type { AppendSuccess } from "./log_append.ts";
import type { PartitionLog } from "./partition_log.ts";

/**
 * The original offsets when `records` is one idempotent batch that the log already holds (same
 * producer id and epoch, same first and last sequence as one of the producer's last five
 * batches), else undefined. Reads `records` only; changes nothing.
 */
export function duplicateOf(records: Uint8Array, log: PartitionLog): AppendSuccess | undefined {
  if (records.length < BATCH_HEADER_BYTES) return undefined;
  const view = new RecordBatchView(records);
  // Kafka takes one batch per partition from an idempotent producer; anything else is left to
  // the append's own validation.
  if (view.sizeBytes !== records.length || view.producerId < 0 || view.isControl) {
    return undefined;
  }
  const verdict = log.producerState.check({
    producerId: view.producerId,
    producerEpoch: view.producerEpoch,
    baseSequence: view.baseSequence,
    lastOffsetDelta: view.lastOffsetDelta,
    baseOffset: view.baseOffset,
    maxTimestampMs: view.maxTimestampMs,
  });
  if (verdict.kind !== "duplicate") return undefined;
  return {
    ok: true,
    baseOffset: verdict.batch.firstOffset,
    lastOffset: verdict.batch.lastOffset,
    logAppendTimeMs: -1,
    logStartOffset: log.logStartOffset,
    recordCount: 0,
    sizeBytes: 0,
    duplicate: true,
  };
}
