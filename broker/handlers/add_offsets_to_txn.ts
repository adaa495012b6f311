/**
 * AddOffsetsToTxn (key 25, v0-4): adds the group's `__consumer_offsets`
 * partition to the producer's transaction, so its TxnOffsetCommit offsets are
 * decided by the transaction's marker; after Kafka's checks (WRITE on the
 * transactional id, READ on the group).
 *
 * @module
 */
import type {
  AddOffsetsToTxnRequest,
  AddOffsetsToTxnResponse,
} from "../../protocol/messages/add_offsets_to_txn.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { addOffsetsToTxnApi } from "../../protocol/messages/mod.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { transactionalRequestRefusal } from "../security/authorize.ts";
import { fencedForVersion } from "./_txn_errors.ts";
import { withTxnCoordinator } from "./_txn_route.ts";

/** First version answered PRODUCER_FENCED (KIP-588). */
const FENCED_MIN_VERSION = 2;

export const addOffsetsToTxnHandler: ApiHandler = defineHandler(addOffsetsToTxnApi, {
  minVersion: 0,
  maxVersion: 4,
  async handle(
    ctx: RequestContext,
    request: AddOffsetsToTxnRequest,
  ): Promise<AddOffsetsToTxnResponse> {
    const refusal = transactionalRequestRefusal(ctx, request.transactionalId, request.groupId);
    if (refusal !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: refusal };
    const errorCode = await withTxnCoordinator(
      ctx,
      request.transactionalId,
      (c) => c.addOffsets(request, request.groupId),
    );
    return {
      throttleTimeMs: 0,
      errorCode: fencedForVersion(errorCode, {
        apiVersion: ctx.request.apiVersion,
        fencedMinVersion: FENCED_MIN_VERSION,
      }),
    };
  },
});
