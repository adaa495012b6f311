/**
 * How the coordinator's transaction markers reach partitions: one port,
 * {@linkcode TxnMarkerChannel}, so that in a cluster an implementation sends
 * WriteTxnMarkers (key 27) to each partition's leader (Kafka's
 * TransactionMarkerChannelManager). {@linkcode LocalTxnMarkerChannel} is the
 * one-node implementation: data partitions get their control batch through
 * `writeTxnMarker`, `__consumer_offsets` partitions go to the group
 * coordinator, which makes the transaction's pending offsets visible or drops
 * them. The WriteTxnMarkers handler calls the same local channel.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type { TxnMarker } from "./partition_markers.ts";
import type { TxnTopicPartitions } from "./txn_records.ts";

/** Kafka's name of the group log topic: its partitions in a transaction are offsets. */
export const GROUP_METADATA_TOPIC = "__consumer_offsets";

/** One partition's answer to a marker. */
export interface MarkerResult {
  readonly topic: string;
  readonly partition: number;
  readonly errorCode: number;
}

/** See the module doc. */
export interface TxnMarkerChannel {
  /** Writes `marker` to every partition of `partitions`; resolves with each one's error code. */
  send(marker: TxnMarker, partitions: readonly TxnTopicPartitions[]): Promise<MarkerResult[]>;
}

/** What the local channel writes with. */
export interface LocalMarkerTargets {
  /** Whether each `__consumer_offsets` partition is completed on its own (a cluster). */
  readonly perPartitionOffsets?: boolean;
  /** Appends the control batch to a data partition (`partition_markers.ts`); never rejects. */
  writeDataMarker(topic: string, partition: number, marker: TxnMarker): Promise<number>;
  /**
   * Ends the producer's pending transactional offsets in the group coordinator; an error code.
   * `partition` is the `__consumer_offsets` partition the marker is for: in a cluster only its
   * coordinator (NOT_LEADER_OR_FOLLOWER elsewhere), on one node every group.
   */
  completeOffsets(
    producerId: number,
    producerEpoch: number,
    committed: boolean,
    partition: number,
  ): number | Promise<number>;
}

/** See the module doc. */
export class LocalTxnMarkerChannel implements TxnMarkerChannel {
  readonly #targets: LocalMarkerTargets;

  constructor(targets: LocalMarkerTargets) {
    this.#targets = targets;
  }

  send(marker: TxnMarker, partitions: readonly TxnTopicPartitions[]): Promise<MarkerResult[]> {
    let offsetsDone = false;
    const results: Promise<MarkerResult>[] = [];
    for (const tp of partitions) {
      for (const partition of tp.partitions) {
        if (tp.topic === GROUP_METADATA_TOPIC) {
          // One node holds every group: the first offsets partition ends them all.
          const completed: number | Promise<number> = offsetsDone
            ? ErrorCode.NONE
            : this.#targets.completeOffsets(
              marker.producerId,
              marker.producerEpoch,
              marker.committed,
              partition,
            );
          offsetsDone = completed === ErrorCode.NONE && !this.#targets.perPartitionOffsets;
          results.push(
            Promise.resolve(completed)
              .catch(() => ErrorCode.UNKNOWN_SERVER_ERROR)
              .then((errorCode) => ({ topic: tp.topic, partition, errorCode })),
          );
          continue;
        }
        results.push(
          this.#targets.writeDataMarker(tp.topic, partition, marker)
            .catch(() => ErrorCode.UNKNOWN_SERVER_ERROR)
            .then((errorCode) => ({ topic: tp.topic, partition, errorCode })),
        );
      }
    }
    return Promise.all(results);
  }
}
