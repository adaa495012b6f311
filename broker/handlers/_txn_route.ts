/**
 * Which transaction coordinator answers a transactional request. On one
 * node: the broker's own ({@linkcode RequestContext.broker.transactions}).
 * In a cluster: the coordinator of the id's `__transaction_state` partition
 * when this broker leads it and has loaded it, else NOT_COORDINATOR or
 * COORDINATOR_LOAD_IN_PROGRESS (`cluster/cluster_transactions.ts`); a request
 * that wrote to the replicated log is answered once its writes committed
 * (acks=all), or with the error they came to.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type { RequestContext } from "../context.ts";
import type { TransactionCoordinator, TxnView } from "../transactions/coordinator.ts";
import { txnPartitionFor } from "../transactions/txn_records.ts";
import type { TxnVerifyRequest } from "../transactions/verifier.ts";

/** The coordinator of `transactionalId` here, or the error code to answer (read-only requests). */
export function txnCoordinatorOf(
  ctx: RequestContext,
  transactionalId: string,
): TransactionCoordinator | number {
  const cluster = ctx.broker.clusterTransactions;
  if (cluster === undefined) return ctx.broker.transactions;
  const route = cluster.route(transactionalId);
  return "errorCode" in route ? route.errorCode : route.loaded.coordinator;
}

/**
 * Runs `run` with the coordinator of `transactionalId` and answers what it returns once the
 * writes it made have committed; `refuse(errorCode)` when this broker does not coordinate the
 * id or a write failed (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, as Kafka maps them).
 */
export function withTxnCoordinatorAnswer<R>(
  ctx: RequestContext,
  transactionalId: string,
  run: (coordinator: TransactionCoordinator) => R,
  refuse: (errorCode: number) => R,
): R | Promise<R> {
  const cluster = ctx.broker.clusterTransactions;
  if (cluster === undefined) return run(ctx.broker.transactions);
  const route = cluster.route(transactionalId);
  if ("errorCode" in route) return refuse(route.errorCode);
  const { coordinator, log } = route.loaded;
  const sinceWrite = log.writeCount;
  const answer = run(coordinator);
  return log.settled(sinceWrite).then((written) =>
    written === ErrorCode.NONE ? answer : refuse(written)
  );
}

/** {@linkcode withTxnCoordinatorAnswer} for requests answered with one error code. */
export function withTxnCoordinator(
  ctx: RequestContext,
  transactionalId: string,
  run: (coordinator: TransactionCoordinator) => number,
): number | Promise<number> {
  return withTxnCoordinatorAnswer(ctx, transactionalId, run, (errorCode) => errorCode);
}

/**
 * TxnOffsetCommit's check that the group's `__consumer_offsets` partition is in the producer's
 * ongoing transaction: the local coordinator on one node, the id's coordinator in a cluster.
 */
export function verifyTxnOffsets(
  ctx: RequestContext,
  request: Omit<TxnVerifyRequest, "topic" | "partition">,
  groupId: string,
): number | Promise<number> {
  const cluster = ctx.broker.clusterTransactions;
  const transactions = ctx.broker.transactions;
  if (cluster === undefined) {
    return transactions.verifyNow({
      ...request,
      topic: "__consumer_offsets",
      partition: transactions.offsetsPartitionFor(groupId),
    });
  }
  const partitions = ctx.broker.config.cluster!.offsetsTopicPartitions;
  return cluster.verify({
    ...request,
    topic: "__consumer_offsets",
    partition: txnPartitionFor(groupId, partitions),
  });
}

/** ListTransactions: this node's, or in a cluster those of every partition loaded here. */
export function listTxns(
  ctx: RequestContext,
  filters: Parameters<TransactionCoordinator["list"]>[0],
): TxnView[] {
  return (ctx.broker.clusterTransactions ?? ctx.broker.transactions).list(filters);
}
