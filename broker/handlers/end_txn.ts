/**
 * EndTxn (key 26, v0-4): commits or aborts the producer's transaction, after
 * Kafka's check (WRITE on the transactional id); the answer comes once the
 * outcome (PrepareCommit / PrepareAbort) is durable in `__transaction_state`,
 * the markers follow (Kafka's order).
 *
 * @module
 */
import type { EndTxnRequest, EndTxnResponse } from "../../protocol/messages/end_txn.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { endTxnApi } from "../../protocol/messages/mod.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { transactionalRequestRefusal } from "../security/authorize.ts";
import { fencedForVersion } from "./_txn_errors.ts";
import { withTxnCoordinator } from "./_txn_route.ts";

/** First version answered PRODUCER_FENCED (KIP-588). */
const FENCED_MIN_VERSION = 2;

export const endTxnHandler: ApiHandler = defineHandler(endTxnApi, {
  minVersion: 0,
  maxVersion: 4,
  async handle(ctx: RequestContext, request: EndTxnRequest): Promise<EndTxnResponse> {
    const refusal = transactionalRequestRefusal(ctx, request.transactionalId);
    const errorCode = refusal !== ErrorCode.NONE ? refusal : await withTxnCoordinator(
      ctx,
      request.transactionalId,
      (c) => c.endTxn(request, request.committed),
    );
    return {
      throttleTimeMs: 0,
      errorCode: fencedForVersion(errorCode, {
        apiVersion: ctx.request.apiVersion,
        fencedMinVersion: FENCED_MIN_VERSION,
      }),
      producerId: request.producerId,
      producerEpoch: request.producerEpoch,
    };
  },
});
