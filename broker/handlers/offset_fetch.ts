/**
 * OffsetFetch (key 9, v1-9): a group's committed offsets (-1 where none);
 * null topics (v2+) ask for all of them; v8+ asks for several groups at
 * once. With `requireStable` (v7+), a partition with offsets pending in a
 * transaction is answered UNSTABLE_OFFSET_COMMIT (KIP-447): the consumer
 * retries until the transaction's marker decides them. Needs DESCRIBE on the
 * group, and on each topic (Kafka's checks).
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type {
  OffsetFetchRequest,
  OffsetFetchResponse,
} from "../../protocol/messages/offset_fetch.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { groupCoordinatorOf } from "./_group_route.ts";
import { offsetFetchApi } from "../../protocol/messages/mod.ts";
import { AclOperation, ResourceType } from "../security/acl.ts";
import {
  authorizeGroup,
  authorizeQuietly,
  mergeRefused,
  refusedTopics,
} from "../security/authorize.ts";

/** First version asking for several groups. */
const MULTI_GROUP_MIN_VERSION = 8;

export const offsetFetchHandler: ApiHandler = defineHandler(offsetFetchApi, {
  minVersion: 1,
  maxVersion: 9,
  handle(ctx: RequestContext, request: OffsetFetchRequest): OffsetFetchResponse {
    if (ctx.request.apiVersion >= MULTI_GROUP_MIN_VERSION) {
      return {
        throttleTimeMs: 0,
        topics: [],
        errorCode: ErrorCode.NONE,
        groups: request.groups.map((g) => ({
          groupId: g.groupId,
          ...stable(ctx, g.groupId, request.requireStable, fetchGroup(ctx, g)),
        })),
      };
    }
    const answer = stable(ctx, request.groupId, request.requireStable, fetchGroup(ctx, request));
    return { throttleTimeMs: 0, ...answer, groups: [] };
  },
});

/** `answer` with partitions whose offsets a transaction holds UNSTABLE_OFFSET_COMMIT when asked. */
function stable<A extends ReturnType<typeof fetchGroup>>(
  ctx: RequestContext,
  groupId: string,
  requireStable: boolean,
  answer: A,
): A {
  const groups = groupCoordinatorOf(ctx, groupId);
  if (typeof groups === "number") return answer;
  const pending = groups.txnOffsets;
  if (!requireStable || pending.pendingCount === 0) return answer;
  for (const t of answer.topics) {
    t.partitions = t.partitions.map((p) =>
      p.errorCode === ErrorCode.NONE && pending.hasPending(groupId, t.name, p.partitionIndex)
        ? { ...p, committedOffset: -1, errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT }
        : p
    );
  }
  return answer;
}

/**
 * One group's committed offsets, as the principal may see them: DESCRIBE on
 * the group, and on each topic (a topic named but not describable answers
 * TOPIC_AUTHORIZATION_FAILED; all topics lists only the describable ones).
 */
function fetchGroup(
  ctx: RequestContext,
  g: { groupId: string; topics: { name: string; partitionIndexes: number[] }[] | null },
) {
  if (!authorizeGroup(ctx, AclOperation.DESCRIBE, g.groupId)) {
    return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, topics: [] };
  }
  const groups = groupCoordinatorOf(ctx, g.groupId);
  if (typeof groups === "number") return { errorCode: groups, topics: [] };
  const offsets = groups.offsets;
  if (g.topics === null) {
    const all = offsets.fetch(g.groupId, null);
    return {
      errorCode: ErrorCode.NONE,
      topics: all.filter((t) =>
        authorizeQuietly(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, t.name)
      ),
    };
  }
  const refused = refusedTopics(ctx, AclOperation.DESCRIBE, g.topics, (t) => t.name);
  const allowed = refused === undefined ? g.topics : g.topics.filter((t) => !refused.has(t.name));
  const topics = mergeRefused(
    g.topics,
    refused,
    (t) => t.name,
    offsets.fetch(g.groupId, allowed),
    (t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map((partitionIndex) => ({
        partitionIndex,
        committedOffset: -1,
        committedLeaderEpoch: -1,
        metadata: "",
        errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
      })),
    }),
  );
  return { errorCode: ErrorCode.NONE, topics };
}
