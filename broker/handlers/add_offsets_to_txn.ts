/**
 * AddOffsetsToTxn (key 25): refused until transactions exist (see `_transactions.ts`).
 *
 * @module
 */
import type { AddOffsetsToTxnResponse } from "../../protocol/messages/add_offsets_to_txn.ts";
import { type ApiHandler, defineHandler } from "../context.ts";
import { addOffsetsToTxnApi } from "../../protocol/messages/mod.ts";
import { TRANSACTIONS_UNSUPPORTED_ERROR } from "./_transactions.ts";

export const addOffsetsToTxnHandler: ApiHandler = defineHandler(addOffsetsToTxnApi, {
  minVersion: 0,
  maxVersion: 4,
  handle(): AddOffsetsToTxnResponse {
    return { throttleTimeMs: 0, errorCode: TRANSACTIONS_UNSUPPORTED_ERROR };
  },
});
