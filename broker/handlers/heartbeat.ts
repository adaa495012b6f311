/**
 * Heartbeat (key 12, v0-4): keeps a member's session alive and tells it
 * when to rejoin (REBALANCE_IN_PROGRESS).
 *
 * @module
 */
import type { HeartbeatRequest, HeartbeatResponse } from "../../protocol/messages/heartbeat.ts";
import type { ApiHandler, RequestContext } from "../context.ts";

export const heartbeatHandler: ApiHandler = {
  apiKey: 12,
  minVersion: 0,
  maxVersion: 4,
  handle(ctx: RequestContext, request: HeartbeatRequest): HeartbeatResponse {
    return { throttleTimeMs: 0, errorCode: ctx.broker.groups.membership.heartbeat(request) };
  },
};
