/**
 * TxnOffsetCommit (key 28): refused per partition until transactions exist
 * (see `_transactions.ts`), after Kafka's checks (WRITE on the
 * transactional id, READ on the group, READ on each topic); nothing is committed.
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
import { ErrorCode } from "../../protocol/error_codes.ts";
import { AclOperation } from "../security/acl.ts";
import { authorizeTopic, transactionalRequestRefusal } from "../security/authorize.ts";

export const txnOffsetCommitHandler: ApiHandler = defineHandler(txnOffsetCommitApi, {
  minVersion: 0,
  maxVersion: 4,
  handle(ctx: RequestContext, request: TxnOffsetCommitRequest): TxnOffsetCommitResponse {
    const refusal = transactionalRequestRefusal(ctx, request.transactionalId, request.groupId);
    const errorOf = (topic: string) => {
      if (refusal !== ErrorCode.NONE) return refusal;
      if (!authorizeTopic(ctx, AclOperation.READ, topic)) {
        return ErrorCode.TOPIC_AUTHORIZATION_FAILED;
      }
      return TRANSACTIONS_UNSUPPORTED_ERROR;
    };
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((t) => {
        const errorCode = errorOf(t.name);
        return {
          name: t.name,
          partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })),
        };
      }),
    };
  },
});
