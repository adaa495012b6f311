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
import { ErrorCode } from "../../protocol/error_codes.ts";
import { AclOperation } from "../security/acl.ts";
import { refusedTopics, transactionalRequestRefusal } from "../security/authorize.ts";

export const addPartitionsToTxnHandler: ApiHandler = defineHandler(addPartitionsToTxnApi, {
  minVersion: 0,
  maxVersion: 3,
  handle(ctx: RequestContext, request: AddPartitionsToTxnRequest): AddPartitionsToTxnResponse {
    // Kafka's checks: WRITE on the transactional id, then on each topic; with a topic
    // refused, the others are OPERATION_NOT_ATTEMPTED.
    const topics = request.v3AndBelowTopics;
    const refusal = transactionalRequestRefusal(ctx, request.v3AndBelowTransactionalId);
    const refused = refusal !== ErrorCode.NONE
      ? undefined
      : refusedTopics(ctx, AclOperation.WRITE, topics, (t) => t.name);
    const errorOf = (topic: string) => {
      if (refusal !== ErrorCode.NONE) return refusal;
      if (refused === undefined) return TRANSACTIONS_UNSUPPORTED_ERROR;
      return refused.has(topic)
        ? ErrorCode.TOPIC_AUTHORIZATION_FAILED
        : ErrorCode.OPERATION_NOT_ATTEMPTED;
    };
    return {
      throttleTimeMs: 0,
      errorCode: TRANSACTIONS_UNSUPPORTED_ERROR,
      resultsByTransaction: [],
      resultsByTopicV3AndBelow: topics.map((t) => ({
        name: t.name,
        resultsByPartition: t.partitions.map((partitionIndex) => ({
          partitionIndex,
          partitionErrorCode: errorOf(t.name),
        })),
      })),
    };
  },
});
