/**
 * Transaction markers on a partition (the partition side of Kafka's
 * WriteTxnMarkers): {@linkcode writeTxnMarker} appends an EndTransactionMarker
 * control batch (`protocol/control_batch.ts`) for a producer through the one
 * produce path (`../produce_path.ts`, as acks=all: leader epoch stamped,
 * fetches woken, durable per the flush policy), which ends the producer's
 * ongoing transaction on the partition, records an abort in the segment's
 * `.txnindex` and moves the last stable offset.
 *
 * As in Kafka, a marker for a producer with no ongoing transaction on the
 * partition is appended all the same (a retried WriteTxnMarkers); a marker
 * with an epoch older than the producer's is INVALID_PRODUCER_EPOCH, one
 * from an older coordinator epoch TRANSACTION_COORDINATOR_FENCED.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import { encodeControlBatch } from "../../protocol/control_batch.ts";
import type { BrokerCore } from "../context.ts";
import { produceToPartition } from "../produce_path.ts";

/** The marker the coordinator writes to every partition of a transaction. */
export interface TxnMarker {
  readonly producerId: number;
  readonly producerEpoch: number;
  /** The coordinator's epoch (its `__transaction_state` partition's leader epoch). */
  readonly coordinatorEpoch: number;
  /** true: COMMIT, false: ABORT. */
  readonly committed: boolean;
}

/**
 * Appends `marker` to `topic`-`partition` and resolves with a Kafka error code: NONE once the
 * marker is written and as durable as the flush policy asks of acks=all;
 * UNKNOWN_TOPIC_OR_PARTITION, INVALID_PRODUCER_EPOCH, TRANSACTION_COORDINATOR_FENCED or
 * KAFKA_STORAGE_ERROR otherwise. Never rejects.
 */
export async function writeTxnMarker(
  broker: BrokerCore,
  topic: string,
  partition: number,
  marker: TxnMarker,
): Promise<number> {
  const target = broker.topics.partition(topic, partition);
  if (target === undefined) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  const bytes = encodeControlBatch(marker, broker.nowMs());
  const produced = produceToPartition(broker, target, bytes, -1, { origin: "coordinator" });
  if (produced.durable !== undefined) await produced.durable;
  const result = produced.result;
  if (!result.ok) {
    broker.logger.warn(
      `Marker of producer ${marker.producerId} on ${topic}-${partition} refused: ${result.message}`,
    );
    return result.errorCode;
  }
  return ErrorCode.NONE;
}
