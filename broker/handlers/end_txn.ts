/**
 * EndTxn (key 26), versions 0-4: refused until transactions exist (see `_transactions.ts`).
 *
 * @module
 */
import type { EndTxnRequest, EndTxnResponse } from "../../protocol/messages/end_txn.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { endTxnApi } from "../../protocol/messages/mod.ts";
import { TRANSACTIONS_UNSUPPORTED_ERROR } from "./_transactions.ts";

export const endTxnHandler: ApiHandler = defineHandler(endTxnApi, {
  minVersion: 0,
  maxVersion: 4,
  handle(_ctx: RequestContext, request: EndTxnRequest): EndTxnResponse {
    return {
      throttleTimeMs: 0,
      errorCode: TRANSACTIONS_UNSUPPORTED_ERROR,
      producerId: request.producerId,
      producerEpoch: request.producerEpoch,
    };
  },
});
