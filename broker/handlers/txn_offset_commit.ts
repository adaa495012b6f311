/**
 * TxnOffsetCommit (key 28): refused per partition until transactions exist
 * (see `_transactions.ts`); nothing is committed.
 *
 * @module
 */
import type {
  TxnOffsetCommitRequest,
  TxnOffsetCommitResponse,
} from "../../protocol/messages/txn_offset_commit.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { txnOffsetCommitApi } from "../../protocol/messages/mod.ts";
import { TRANSACTIONS_UNSUPPORTED_ERROR } from "./_transactions.ts";

export const txnOffsetCommitHandler: ApiHandler = defineHandler(txnOffsetCommitApi, {
  minVersion: 0,
  maxVersion: 4,
  handle(_ctx: RequestContext, request: TxnOffsetCommitRequest): TxnOffsetCommitResponse {
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          errorCode: TRANSACTIONS_UNSUPPORTED_ERROR,
        })),
      })),
    };
  },
});
