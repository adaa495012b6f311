/**
 * EndTxn (key 26), versions 0-4: refused until transactions exist (see `_transactions.ts`).
 *
 * @module
 */
import type { EndTxnRequest, EndTxnResponse } from "../../protocol/messages/end_txn.ts";
import type { ApiHandler, RequestContext } from "../context.ts";
import { TRANSACTIONS_UNSUPPORTED_ERROR } from "./_transactions.ts";

export const endTxnHandler: ApiHandler = {
  apiKey: 26,
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
};
