/**
 * OffsetFetch (key 9, v1-9): a group's committed offsets (-1 where none);
 * null topics (v2+) ask for all of them; v8+ asks for several groups at
 * once. With `requireStable` (v7+), a partition with offsets pending in a
 * transaction is answered UNSTABLE_OFFSET_COMMIT (KIP-447): the consumer
 * retries until the transaction's marker decides them.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type {
  OffsetFetchRequest,
  OffsetFetchResponse,
} from "../../protocol/messages/offset_fetch.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { offsetFetchApi } from "../../protocol/messages/mod.ts";

/** First version asking for several groups. */
const MULTI_GROUP_MIN_VERSION = 8;

export const offsetFetchHandler: ApiHandler = defineHandler(offsetFetchApi, {
  minVersion: 1,
  maxVersion: 9,
  handle(ctx: RequestContext, request: OffsetFetchRequest): OffsetFetchResponse {
    const groups = ctx.broker.groups;
    const fetch = (groupId: string, topics: Parameters<typeof groups.offsets.fetch>[1]) => {
      const answer = groups.offsets.fetch(groupId, topics);
      if (!request.requireStable || groups.txnOffsets.pendingCount === 0) return answer;
      for (const t of answer) {
        t.partitions = t.partitions.map((p) =>
          groups.txnOffsets.hasPending(groupId, t.name, p.partitionIndex)
            ? { ...p, committedOffset: -1, errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT }
            : p
        );
      }
      return answer;
    };
    if (ctx.request.apiVersion >= MULTI_GROUP_MIN_VERSION) {
      return {
        throttleTimeMs: 0,
        topics: [],
        errorCode: ErrorCode.NONE,
        groups: request.groups.map((g) => ({
          groupId: g.groupId,
          topics: fetch(g.groupId, g.topics),
          errorCode: ErrorCode.NONE,
        })),
      };
    }
    return {
      throttleTimeMs: 0,
      topics: fetch(request.groupId, request.topics),
      errorCode: ErrorCode.NONE,
      groups: [],
    };
  },
});
