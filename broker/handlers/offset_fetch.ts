/**
 * OffsetFetch (key 9, v1-9): a group's committed offsets (-1 where none);
 * null topics (v2+) ask for all of them; v8+ asks for several groups at
 * once. `requireStable` (v7+) needs no wait: there are no pending
 * transactional commits.
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
    const offsets = ctx.broker.groups.offsets;
    if (ctx.request.apiVersion >= MULTI_GROUP_MIN_VERSION) {
      return {
        throttleTimeMs: 0,
        topics: [],
        errorCode: ErrorCode.NONE,
        groups: request.groups.map((g) => ({
          groupId: g.groupId,
          topics: offsets.fetch(g.groupId, g.topics),
          errorCode: ErrorCode.NONE,
        })),
      };
    }
    return {
      throttleTimeMs: 0,
      topics: offsets.fetch(request.groupId, request.topics),
      errorCode: ErrorCode.NONE,
      groups: [],
    };
  },
});
