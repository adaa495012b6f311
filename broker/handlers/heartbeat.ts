/**
 * Heartbeat (key 12, v0-4): keeps a member's session alive and tells it
 * when to rejoin (REBALANCE_IN_PROGRESS).
 *
 * @module
 */
import type { HeartbeatRequest, HeartbeatResponse } from "../../protocol/messages/heartbeat.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { heartbeatApi } from "../../protocol/messages/mod.ts";

export const heartbeatHandler: ApiHandler = defineHandler(heartbeatApi, {
  minVersion: 0,
  maxVersion: 4,
  handle(ctx: RequestContext, request: HeartbeatRequest): HeartbeatResponse {
    return { throttleTimeMs: 0, errorCode: ctx.broker.groups.membership.heartbeat(request) };
  },
});
