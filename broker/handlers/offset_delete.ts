/**
 * OffsetDelete (key 47, v0): removes committed offsets of partitions the
 * group no longer consumes (GROUP_SUBSCRIBED_TO_TOPIC for those it does).
 *
 * @module
 */
import type {
  OffsetDeleteRequest,
  OffsetDeleteResponse,
} from "../../protocol/messages/offset_delete.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { offsetDeleteApi } from "../../protocol/messages/mod.ts";

export const offsetDeleteHandler: ApiHandler = defineHandler(offsetDeleteApi, {
  minVersion: 0,
  maxVersion: 0,
  handle(ctx: RequestContext, request: OffsetDeleteRequest): OffsetDeleteResponse {
    const result = ctx.broker.groups.offsets.delete(
      request.groupId,
      request.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => p.partitionIndex),
      })),
    );
    return { errorCode: result.errorCode, throttleTimeMs: 0, topics: result.topics };
  },
});
