/**
 * Transactions, as the transaction coordinator holds them (Denka's own
 * routes; the Confluent REST Proxy has none): id, state, producer id and
 * epoch, timeout, partitions, and the age of the open transaction; only ids
 * the principal may DESCRIBE (with an authorizer).
 *
 * - `GET .../transactions` (`?state=Ongoing` filters by Kafka's state name)
 * - `GET .../transactions/{transactional_id}`
 *
 * @module
 */
import type { Context, Hono } from "hono";
import { HttpError, HttpErrorCode } from "./codec.ts";
import type { HttpContext } from "./context.ts";
import type { TxnView } from "../transactions/coordinator.ts";
import { parseTxnState } from "../transactions/txn_state.ts";
import { checkCluster, CLUSTER_PATH, clusterUrl, reply } from "./route_util.ts";
import { mayAccess, requireAccess } from "./access.ts";
import { AclOperation, ResourceType } from "../security/acl.ts";

const TXN_PATH = `${CLUSTER_PATH}/transactions`;

function txnBody(c: Context, ctx: HttpContext, t: TxnView): Record<string, unknown> {
  const clusterId = ctx.broker.config.clusterId;
  const open = t.startTimestampMs >= 0 && (t.state === "Ongoing" || t.state.startsWith("Prepare"));
  return {
    kind: "KafkaTransaction",
    metadata: {
      self: `${clusterUrl(c, clusterId)}/transactions/${encodeURIComponent(t.transactionalId)}`,
    },
    cluster_id: clusterId,
    transactional_id: t.transactionalId,
    state: t.state,
    producer_id: t.producerId,
    producer_epoch: t.producerEpoch,
    transaction_timeout_ms: t.transactionTimeoutMs,
    start_timestamp: t.startTimestampMs >= 0 ? t.startTimestampMs : null,
    age_ms: open ? Math.max(0, ctx.broker.nowMs() - t.startTimestampMs) : null,
    last_update_timestamp: t.lastUpdateTimestampMs,
    partitions: t.partitions.flatMap((tp) =>
      tp.partitions.map((partition_id) => ({ topic_name: tp.topic, partition_id }))
    ),
  };
}

/** Mounts the transaction routes. */
export function transactionRoutes(app: Hono, ctx: HttpContext): void {
  app.get(TXN_PATH, (c) => {
    checkCluster(c, ctx);
    const stateName = c.req.query("state");
    const state = stateName === undefined ? undefined : parseTxnState(stateName);
    if (stateName !== undefined && state === undefined) {
      throw new HttpError(
        400,
        HttpErrorCode.BAD_PARAMETER,
        `Unknown transaction state "${stateName}".`,
      );
    }
    const data = (ctx.broker.clusterTransactions ?? ctx.broker.transactions).list({
      states: state === undefined ? [] : [state],
    })
      .filter((t) =>
        mayAccess(c, AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, t.transactionalId)
      )
      .sort((a, b) => (a.transactionalId < b.transactionalId ? -1 : 1))
      .map((t) => txnBody(c, ctx, t));
    return reply(c, 200, { kind: "KafkaTransactionList", metadata: { self: c.req.url }, data });
  });
  app.get(`${TXN_PATH}/:transactional_id`, (c) => {
    checkCluster(c, ctx);
    const id = c.req.param("transactional_id") ?? "";
    requireAccess(c, AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, id);
    const t = (ctx.broker.clusterTransactions ?? ctx.broker.transactions).describe(id);
    if (t === undefined) {
      throw new HttpError(404, HttpErrorCode.NOT_FOUND, `Transactional id "${id}" does not exist.`);
    }
    return reply(c, 200, txnBody(c, ctx, t));
  });
}
