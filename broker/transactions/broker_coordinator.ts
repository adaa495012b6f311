/**
 * The broker's transaction coordinator: {@linkcode TransactionCoordinator}
 * wired to this node's producer ids, topics and group coordinator, its
 * markers going through the {@linkcode LocalTxnMarkerChannel} (data
 * partitions by `writeTxnMarker`, `__consumer_offsets` by the group
 * coordinator). In a cluster each `__transaction_state` partition's leader
 * runs a coordinator of its own whose markers go to each partition's leader
 * (`cluster/cluster_transactions.ts`); this one stays idle there.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type { ClusterGroups } from "../cluster/cluster_groups.ts";
import type { BrokerCore } from "../context.ts";
import type { GroupCoordinator } from "../groups/coordinator.ts";
import { TransactionCoordinator } from "./coordinator.ts";
import { LocalTxnMarkerChannel } from "./marker_channel.ts";
import { writeTxnMarker } from "./partition_markers.ts";

/** The local channel of `broker` (also what the WriteTxnMarkers handler writes with). */
export function localMarkerChannel(broker: BrokerCore): LocalTxnMarkerChannel {
  return new LocalTxnMarkerChannel({
    writeDataMarker: (topic, partition, marker) => writeTxnMarker(broker, topic, partition, marker),
    perPartitionOffsets: broker.clusterGroups !== undefined,
    completeOffsets: (producerId, producerEpoch, committed, partition) =>
      broker.clusterGroups === undefined
        ? broker.groups.txnOffsets.complete(producerId, producerEpoch, committed)
        : completeClusterOffsets(
          broker.clusterGroups,
          partition,
          (coordinator) => coordinator.txnOffsets.complete(producerId, producerEpoch, committed),
        ),
  });
}

/**
 * In a cluster: the marker of `__consumer_offsets`-`partition` ends the producer's offsets in
 * that partition's group coordinator, once the marker it writes has committed (acks=all);
 * NOT_LEADER_OR_FOLLOWER when the partition is not loaded here (the sender retries at its
 * leader), COORDINATOR_LOAD_IN_PROGRESS while it loads.
 */
async function completeClusterOffsets(
  groups: ClusterGroups,
  partition: number,
  complete: (coordinator: GroupCoordinator) => number,
): Promise<number> {
  if (groups.isLoading(partition)) return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
  const loaded = groups.loadedPartitions().find((p) => p.partition === partition);
  if (loaded === undefined) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
  const sinceWrite = loaded.log.writeCount;
  const errorCode = complete(loaded.coordinator);
  if (errorCode !== ErrorCode.NONE) return errorCode;
  const written = await loaded.log.settled(sinceWrite);
  return written === ErrorCode.NONE ? ErrorCode.NONE : ErrorCode.NOT_LEADER_OR_FOLLOWER;
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
