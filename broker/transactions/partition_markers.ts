/**
 * Transaction markers on a partition (the partition side of Kafka's
 * WriteTxnMarkers): {@linkcode writeTxnMarker} appends an EndTransactionMarker
 * control batch (`protocol/control_batch.ts`) for a producer, which ends the
 * producer's ongoing transaction on the partition, records an abort in the
 * segment's `.txnindex`, moves the last stable offset and wakes fetches.
 *
 * As in Kafka, a marker for a producer with no ongoing transaction on the
 * partition is appended all the same (a retried WriteTxnMarkers); a marker
 * with an epoch older than the producer's is refused (PRODUCER_FENCED in
 * Kafka's WriteTxnMarkers answer is INVALID_PRODUCER_EPOCH).
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type { BrokerCore } from "../context.ts";

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
 * Appends `marker` to `topic`-`partition` and resolves with a Kafka error code (NONE once the
 * marker is written and as durable as the flush policy asks; UNKNOWN_TOPIC_OR_PARTITION,
 * INVALID_PRODUCER_EPOCH, KAFKA_STORAGE_ERROR otherwise). Never rejects.
 */
export function writeTxnMarker(
  broker: BrokerCore,
  topic: string,
  partition: number,
  marker: TxnMarker,
): Promise<number> {
  void broker;
  void topic;
  void partition;
  void marker;
  // Not written yet: the body lands with the control-batch append (this commit fixes the port).
  return Promise.resolve(ErrorCode.UNKNOWN_SERVER_ERROR);
}
