/**
 * OffsetCommit (key 8, v2-9): committed offsets (with metadata, and the
 * leader epoch from v6) are durable before the answer. v2-4 may carry a
 * retention time; from v5 the broker's `offsets.retention.minutes` rules.
 * v0-1 (ZooKeeper-era storage) are not served, as in Kafka 4. Needs READ on
 * the group (else every partition is GROUP_AUTHORIZATION_FAILED) and on each
 * topic (TOPIC_AUTHORIZATION_FAILED), as in Kafka.
 *
 * @module
 */
import type {
  OffsetCommitRequest,
  OffsetCommitResponse,
} from "../../protocol/messages/offset_commit.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { withGroupCoordinator } from "./_group_route.ts";
import type { GroupCoordinator } from "../groups/coordinator.ts";
import { offsetCommitApi } from "../../protocol/messages/mod.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { AclOperation } from "../security/acl.ts";
import { authorizeGroup, mergeRefused, refusedTopics } from "../security/authorize.ts";

/** Last version with a per-request retention time. */
const RETENTION_TIME_MAX_VERSION = 4;

export const offsetCommitHandler: ApiHandler = defineHandler(offsetCommitApi, {
  minVersion: 2,
  maxVersion: 9,
  handle(
    ctx: RequestContext,
    request: OffsetCommitRequest,
  ): OffsetCommitResponse | Promise<OffsetCommitResponse> {
    const withRetention = ctx.request.apiVersion <= RETENTION_TIME_MAX_VERSION;
    const refusal = (errorCode: number) => (t: (typeof request.topics)[number]) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })),
    });
    if (!authorizeGroup(ctx, AclOperation.READ, request.groupId)) {
      return {
        throttleTimeMs: 0,
        topics: request.topics.map(refusal(ErrorCode.GROUP_AUTHORIZATION_FAILED)),
      };
    }
    const refused = refusedTopics(ctx, AclOperation.READ, request.topics, (t) => t.name);
    const commit = (groups: GroupCoordinator) =>
      groups.offsets.commit({
        groupId: request.groupId,
        generationId: request.generationIdOrMemberEpoch,
        memberId: request.memberId,
        groupInstanceId: request.groupInstanceId,
        retentionTimeMs: withRetention ? request.retentionTimeMs : -1,
        topics: refused === undefined
          ? request.topics
          : request.topics.filter((t) => !refused.has(t.name)),
      });
    return withGroupCoordinator(
      ctx,
      request.groupId,
      (groups): OffsetCommitResponse => ({
        throttleTimeMs: 0,
        topics: mergeRefused(
          request.topics,
          refused,
          (t) => t.name,
          commit(groups),
          refusal(ErrorCode.TOPIC_AUTHORIZATION_FAILED),
        ),
      }),
      (errorCode) => ({ throttleTimeMs: 0, topics: request.topics.map(refusal(errorCode)) }),
    );
  },
});
