/**
 * The cluster's health as this broker's metadata cache sees it, for the
 * metrics (Kafka's ActiveControllerCount, OfflinePartitionsCount,
 * UnderReplicatedPartitions and UnderMinIsrPartitionCount): the last two
 * count, as in Kafka, the partitions this broker leads.
 *
 * @module
 */
import type { ClusterNode } from "./cluster_node.ts";

/** One reading of the cluster's health. */
export interface ClusterHealth {
  /** 1 when this broker is the active controller. */
  readonly activeController: number;
  /** The controller epoch (-1 while there is no controller). */
  readonly controllerEpoch: number;
  readonly liveBrokers: number;
  /** Partitions without a live leader (cluster-wide). */
  readonly offlinePartitions: number;
  /** Partitions led here whose ISR is smaller than their replica set. */
  readonly underReplicatedPartitions: number;
  /** Partitions led here whose ISR is smaller than `min.insync.replicas`. */
  readonly underMinIsrPartitions: number;
}

/** Reads the health; `defaultMinIsr`: the broker's default `min.insync.replicas`. */
export function clusterHealth(node: ClusterNode, defaultMinIsr: number): ClusterHealth {
  const cache = node.cache;
  let offline = 0, underReplicated = 0, underMinIsr = 0;
  for (const [name, topic] of cache.topics) {
    const minIsrText = topic.record.configs["min.insync.replicas"];
    const minIsr = minIsrText === undefined ? defaultMinIsr : Number(minIsrText);
    for (const state of cache.topicPartitions(name)) {
      if (state.leader < 0 || !cache.brokers.has(state.leader)) {
        offline++;
        continue;
      }
      if (state.leader !== node.nodeId) continue;
      if (state.isr.length < state.replicas.length) underReplicated++;
      if (state.isr.length < minIsr) underMinIsr++;
    }
  }
  const controller = cache.controller;
  return {
    activeController: node.controller?.isActive ? 1 : 0,
    controllerEpoch: controller?.epoch ?? -1,
    liveBrokers: cache.brokers.size,
    offlinePartitions: offline,
    underReplicatedPartitions: underReplicated,
    underMinIsrPartitions: underMinIsr,
  };
}
