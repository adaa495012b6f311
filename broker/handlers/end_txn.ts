/**
 * EndTxn (key 26), versions 0-4: refused until transactions exist (see `_transactions.ts`).
 *
 * @module
 */
import type { EndTxnRequest, EndTxnResponse } from "../../protocol/messages/end_txn.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { endTxnApi } from "../../protocol/messages/mod.ts";
import { TRANSACTIONS_UNSUPPORTED_ERROR } from "./_transactions.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { transactionalRequestRefusal } from "../security/authorize.ts";

export const endTxnHandler: ApiHandler = defineHandler(endTxnApi, {
  minVersion: 0,
  maxVersion: 4,
  handle(ctx: RequestContext, request: EndTxnRequest): EndTxnResponse {
    const refusal = transactionalRequestRefusal(ctx, request.transactionalId);
    return {
      throttleTimeMs: 0,
      errorCode: refusal !== ErrorCode.NONE ? refusal : TRANSACTIONS_UNSUPPORTED_ERROR,
      producerId: request.producerId,
      producerEpoch: request.producerEpoch,
    };
  },
});
