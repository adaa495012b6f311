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
import type { ApiHandler, RequestContext } from "../context.ts";
import { TRANSACTIONS_UNSUPPORTED_ERROR } from "./_transactions.ts";

export const txnOffsetCommitHandler: ApiHandler = {
  apiKey: 28,
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
};
