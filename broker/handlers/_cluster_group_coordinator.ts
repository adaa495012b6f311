/**
 * The group coordinator in a cluster: FindCoordinator answers the leader of
 * the group's `__consumer_offsets` partition (Kafka's partitioner), creating
 * the topic through the controller on first use. That leader keeps the
 * group's state in the replicated partition and rebuilds it from there when
 * leadership moves (`cluster/cluster_groups.ts`).
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type { RequestContext } from "../context.ts";
import { clusterOf, endpointFor, OFFSETS_TOPIC } from "./_cluster.ts";

/** Java's `String.hashCode` (Kafka's group partitioner). */
export function javaStringHash(value: string): number {
  let hash = 0;
  for (let i = 0; i < value.length; i++) hash = (Math.imul(hash, 31) + value.charCodeAt(i)) | 0;
  return hash;
}

/** Kafka's `partitionFor(groupId)`: `Utils.abs(groupId.hashCode) % offsets.topic.num.partitions`. */
export function offsetsPartitionFor(groupId: string, partitionCount: number): number {
  const hash = javaStringHash(groupId);
  return (hash === -2147483648 ? 0 : Math.abs(hash)) % partitionCount;
}

/**
 * The group coordinator of `groupId` in a cluster: the leader of its
 * `__consumer_offsets` partition (asked of the controller when the topic
 * does not exist yet: COORDINATOR_NOT_AVAILABLE meanwhile, as in Kafka).
 */
export async function clusterGroupCoordinator(
  ctx: RequestContext,
  groupId: string,
): Promise<{ nodeId: number; host: string; port: number } | { errorCode: number }> {
  const { node, config } = clusterOf(ctx);
  const cached = node.cache.topics.get(OFFSETS_TOPIC);
  if (cached === undefined) {
    await node.admin.requestTopic(OFFSETS_TOPIC, {
      partitions: config.offsetsTopicPartitions,
      replicationFactor: Math.min(config.offsetsTopicReplicationFactor, node.cache.brokers.size),
      assignment: null,
      configs: { "cleanup.policy": "compact" },
    });
    return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
  }
  const partition = offsetsPartitionFor(groupId, cached.record.assignment.length);
  const leader = node.cache.partitionState(OFFSETS_TOPIC, partition)?.leader ?? -1;
  const broker = node.cache.brokers.get(leader);
  if (broker === undefined) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
  return { nodeId: broker.nodeId, ...endpointFor(ctx, broker) };
}
