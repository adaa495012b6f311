/**
 * The transaction coordinator in a cluster: FindCoordinator(TRANSACTION)
 * answers the leader of the id's `__transaction_state` partition (Kafka's
 * partitioner), creating the topic (compacted, `transaction.state.log.*`)
 * through the controller on first use. That leader keeps the id's state in
 * the replicated partition (`cluster/cluster_transactions.ts`).
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type { RequestContext } from "../context.ts";
import { TXN_STATE_TOPIC } from "../cluster/cluster_transactions.ts";
import { txnPartitionFor } from "../transactions/txn_records.ts";
import { clusterOf, endpointFor } from "./_cluster.ts";

/**
 * The coordinator of `transactionalId` in a cluster: the leader of its `__transaction_state`
 * partition (COORDINATOR_NOT_AVAILABLE while the topic is being created or has no leader).
 */
export async function clusterTxnCoordinator(
  ctx: RequestContext,
  transactionalId: string,
): Promise<{ nodeId: number; host: string; port: number } | { errorCode: number }> {
  const { node, config } = clusterOf(ctx);
  const cached = node.cache.topics.get(TXN_STATE_TOPIC);
  if (cached === undefined) {
    await node.admin.requestTopic(TXN_STATE_TOPIC, {
      partitions: ctx.broker.config.txnSettings.stateLogPartitionCount,
      replicationFactor: Math.min(config.txnStateLogReplicationFactor, node.cache.brokers.size),
      assignment: null,
      configs: { "cleanup.policy": "compact" },
    });
    return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
  }
  const partition = txnPartitionFor(transactionalId, cached.record.assignment.length);
  const leader = node.cache.partitionState(TXN_STATE_TOPIC, partition)?.leader ?? -1;
  const broker = node.cache.brokers.get(leader);
  if (broker === undefined) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
  return { nodeId: broker.nodeId, ...endpointFor(ctx, broker) };
}
