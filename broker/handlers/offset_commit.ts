/**
 * OffsetCommit (key 8, v2-9): committed offsets (with metadata, and the
 * leader epoch from v6) are durable before the answer. v2-4 may carry a
 * retention time; from v5 the broker's `offsets.retention.minutes` rules.
 * v0-1 (ZooKeeper-era storage) are not served, as in Kafka 4.
 *
 * @module
 */
import type {
  OffsetCommitRequest,
  OffsetCommitResponse,
} from "../../protocol/messages/offset_commit.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { offsetCommitApi } from "../../protocol/messages/mod.ts";

/** Last version with a per-request retention time. */
const RETENTION_TIME_MAX_VERSION = 4;

export const offsetCommitHandler: ApiHandler = defineHandler(offsetCommitApi, {
  minVersion: 2,
  maxVersion: 9,
  handle(ctx: RequestContext, request: OffsetCommitRequest): OffsetCommitResponse {
    const withRetention = ctx.request.apiVersion <= RETENTION_TIME_MAX_VERSION;
    const topics = ctx.broker.groups.offsets.commit({
      groupId: request.groupId,
      generationId: request.generationIdOrMemberEpoch,
      memberId: request.memberId,
      groupInstanceId: request.groupInstanceId,
      retentionTimeMs: withRetention ? request.retentionTimeMs : -1,
      topics: request.topics,
    });
    return { throttleTimeMs: 0, topics };
  },
});
