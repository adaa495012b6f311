/**
 * TxnOffsetCommit (key 28, v0-4): offsets committed in the producer's
 * transaction, durable before the answer and made the group's committed
 * offsets only by the transaction's COMMIT marker (`groups/txn_offsets.ts`).
 * The group's `__consumer_offsets` partition must be in the producer's
 * ongoing transaction (AddOffsetsToTxn first), checked with the coordinator
 * as KIP-890 checks produces. Kafka's checks first: WRITE on the transactional
 * id, READ on the group, READ on each topic.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type {
  TxnOffsetCommitRequest,
  TxnOffsetCommitResponse,
} from "../../protocol/messages/txn_offset_commit.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { withGroupCoordinator } from "./_group_route.ts";
import { txnOffsetCommitApi } from "../../protocol/messages/mod.ts";
import { verifyTxnOffsets } from "./_txn_route.ts";
import { AclOperation } from "../security/acl.ts";
import { authorizeTopic, transactionalRequestRefusal } from "../security/authorize.ts";
import { fencedForVersion } from "./_txn_errors.ts";

/** First version answered PRODUCER_FENCED (KIP-447 / KIP-588). */
const FENCED_MIN_VERSION = 3;

export const txnOffsetCommitHandler: ApiHandler = defineHandler(txnOffsetCommitApi, {
  minVersion: 0,
  maxVersion: 4,
  handle(
    ctx: RequestContext,
    request: TxnOffsetCommitRequest,
  ): TxnOffsetCommitResponse | Promise<TxnOffsetCommitResponse> {
    const refusal = transactionalRequestRefusal(ctx, request.transactionalId, request.groupId);
    const refusedTopic = refusal === ErrorCode.NONE &&
      request.topics.some((t) => !authorizeTopic(ctx, AclOperation.READ, t.name));
    if (refusal !== ErrorCode.NONE || refusedTopic) {
      return {
        throttleTimeMs: 0,
        topics: request.topics.map((t) => {
          const errorCode = refusal !== ErrorCode.NONE
            ? refusal
            : authorizeTopic(ctx, AclOperation.READ, t.name)
            ? ErrorCode.OPERATION_NOT_ATTEMPTED
            : ErrorCode.TOPIC_AUTHORIZATION_FAILED;
          return {
            name: t.name,
            partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })),
          };
        }),
      };
    }
    const verifying = verifyTxnOffsets(ctx, {
      transactionalId: request.transactionalId,
      producerId: request.producerId,
      producerEpoch: request.producerEpoch,
    }, request.groupId);
    if (typeof verifying !== "number") {
      return verifying.then((verified) => commitVerified(ctx, request, verified));
    }
    return commitVerified(ctx, request, verifying);
  },
});

/** The commit once the transaction coordinator answered `verified` (see the module doc). */
function commitVerified(
  ctx: RequestContext,
  request: TxnOffsetCommitRequest,
  verified: number,
): TxnOffsetCommitResponse | Promise<TxnOffsetCommitResponse> {
  if (verified !== ErrorCode.NONE) {
    const errorCode = fencedForVersion(verified, {
      apiVersion: ctx.request.apiVersion,
      fencedMinVersion: FENCED_MIN_VERSION,
    });
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })),
      })),
    };
  }
  const refuse = (errorCode: number): TxnOffsetCommitResponse => ({
    throttleTimeMs: 0,
    topics: request.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })),
    })),
  });
  return withGroupCoordinator(ctx, request.groupId, (groups) => ({
    throttleTimeMs: 0,
    topics: groups.txnOffsets.commit({
      groupId: request.groupId,
      producerId: request.producerId,
      producerEpoch: request.producerEpoch,
      generationId: request.generationId,
      memberId: request.memberId,
      groupInstanceId: request.groupInstanceId,
      topics: request.topics,
    }),
  }), refuse);
}
