/**
 * AddPartitionsToTxn (key 24), client versions 0-3: refused per partition
 * until transactions exist (see `_transactions.ts`).
 *
 * @module
 */
import type {
  AddPartitionsToTxnRequest,
  AddPartitionsToTxnResponse,
} from "../../protocol/messages/add_partitions_to_txn.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { addPartitionsToTxnApi } from "../../protocol/messages/mod.ts";
import { TRANSACTIONS_UNSUPPORTED_ERROR } from "./_transactions.ts";

export const addPartitionsToTxnHandler: ApiHandler = defineHandler(addPartitionsToTxnApi, {
  minVersion: 0,
  maxVersion: 3,
  handle(_ctx: RequestContext, request: AddPartitionsToTxnRequest): AddPartitionsToTxnResponse {
    return {
      throttleTimeMs: 0,
      errorCode: TRANSACTIONS_UNSUPPORTED_ERROR,
      resultsByTransaction: [],
      resultsByTopicV3AndBelow: request.v3AndBelowTopics.map((t) => ({
        name: t.name,
        resultsByPartition: t.partitions.map((partitionIndex) => ({
          partitionIndex,
          partitionErrorCode: TRANSACTIONS_UNSUPPORTED_ERROR,
        })),
      })),
    };
  },
});
