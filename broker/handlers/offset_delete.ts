/**
 * OffsetDelete (key 47, v0): removes committed offsets of partitions the
 * group no longer consumes (GROUP_SUBSCRIBED_TO_TOPIC for those it does).
 * Needs DELETE on the group and READ on each topic, as in Kafka.
 *
 * @module
 */
import type {
  OffsetDeleteRequest,
  OffsetDeleteResponse,
} from "../../protocol/messages/offset_delete.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { withGroupCoordinator } from "./_group_route.ts";
import type { GroupCoordinator } from "../groups/coordinator.ts";
import { offsetDeleteApi } from "../../protocol/messages/mod.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { AclOperation } from "../security/acl.ts";
import { authorizeGroup, mergeRefused, refusedTopics } from "../security/authorize.ts";

export const offsetDeleteHandler: ApiHandler = defineHandler(offsetDeleteApi, {
  minVersion: 0,
  maxVersion: 0,
  handle(
    ctx: RequestContext,
    request: OffsetDeleteRequest,
  ): OffsetDeleteResponse | Promise<OffsetDeleteResponse> {
    if (!authorizeGroup(ctx, AclOperation.DELETE, request.groupId)) {
      return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, throttleTimeMs: 0, topics: [] };
    }
    const refused = refusedTopics(ctx, AclOperation.READ, request.topics, (t) => t.name);
    const allowed = refused === undefined
      ? request.topics
      : request.topics.filter((t) => !refused.has(t.name));
    return withGroupCoordinator(
      ctx,
      request.groupId,
      (groups) => answer(request, refused, deleteOffsets(groups, request.groupId, allowed)),
      (errorCode) => ({ errorCode, throttleTimeMs: 0, topics: [] }),
    );
  },
});

function deleteOffsets(
  groups: GroupCoordinator,
  groupId: string,
  allowed: OffsetDeleteRequest["topics"],
) {
  return groups.offsets.delete(
    groupId,
    allowed.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => p.partitionIndex),
    })),
  );
}

function answer(
  request: OffsetDeleteRequest,
  refused: ReadonlySet<string> | undefined,
  result: ReturnType<GroupCoordinator["offsets"]["delete"]>,
): OffsetDeleteResponse {
  const topics = result.errorCode !== ErrorCode.NONE ? result.topics : mergeRefused(
    request.topics,
    refused,
    (t) => t.name,
    result.topics,
    (t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partitionIndex,
        errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
      })),
    }),
  );
  return { errorCode: result.errorCode, throttleTimeMs: 0, topics };
}
