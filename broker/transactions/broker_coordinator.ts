/**
 * The broker's transaction coordinator: {@linkcode TransactionCoordinator}
 * wired to this node's producer ids, topics and group coordinator, its
 * markers going through the {@linkcode LocalTxnMarkerChannel} (data
 * partitions by `writeTxnMarker`, `__consumer_offsets` by the group
 * coordinator). A cluster swaps the channel for one that sends
 * WriteTxnMarkers to each partition's leader.
 *
 * @module
 */
import type { BrokerCore } from "../context.ts";
import { TransactionCoordinator } from "./coordinator.ts";
import { LocalTxnMarkerChannel } from "./marker_channel.ts";
import { writeTxnMarker } from "./partition_markers.ts";

/** The local channel of `broker` (also what the WriteTxnMarkers handler writes with). */
export function localMarkerChannel(broker: BrokerCore): LocalTxnMarkerChannel {
  return new LocalTxnMarkerChannel({
    writeDataMarker: (topic, partition, marker) => writeTxnMarker(broker, topic, partition, marker),
    completeOffsets: (producerId, producerEpoch, committed) =>
      broker.clusterGroups?.completeOffsets(producerId, producerEpoch, committed) ??
        broker.groups.txnOffsets.complete(producerId, producerEpoch, committed),
  });
}

/** Opens the coordinator of `broker` (after its topics and groups). */
export function openTransactionCoordinator(broker: BrokerCore): TransactionCoordinator {
  return TransactionCoordinator.open(broker.libc, {
    dataDir: broker.config.dataDir,
    settings: broker.config.txnSettings,
    logger: broker.logger.child("transactions"),
    nowMs: () => broker.nowMs(),
    nextProducerId: () => broker.producerIds.next(),
    channel: localMarkerChannel(broker),
    partitionExists: (topic, partition) => broker.topics.partition(topic, partition) !== undefined,
    onTimerError: (error) => broker.background.failed("A transaction coordinator timer", error),
  });
}
