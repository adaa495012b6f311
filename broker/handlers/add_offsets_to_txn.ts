/**
 * AddOffsetsToTxn (key 25): refused until transactions exist (see `_transactions.ts`),
 * after Kafka's checks (WRITE on the transactional id, READ on the group).
 *
 * @module
 */
import type {
  AddOffsetsToTxnRequest,
  AddOffsetsToTxnResponse,
} from "../../protocol/messages/add_offsets_to_txn.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { addOffsetsToTxnApi } from "../../protocol/messages/mod.ts";
import { TRANSACTIONS_UNSUPPORTED_ERROR } from "./_transactions.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { transactionalRequestRefusal } from "../security/authorize.ts";

export const addOffsetsToTxnHandler: ApiHandler = defineHandler(addOffsetsToTxnApi, {
  minVersion: 0,
  maxVersion: 4,
  handle(ctx: RequestContext, request: AddOffsetsToTxnRequest): AddOffsetsToTxnResponse {
    const refusal = transactionalRequestRefusal(ctx, request.transactionalId, request.groupId);
    if (refusal !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: refusal };
    return { throttleTimeMs: 0, errorCode: TRANSACTIONS_UNSUPPORTED_ERROR };
  },
});
