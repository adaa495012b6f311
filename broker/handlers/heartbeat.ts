/**
 * Heartbeat (key 12, v0-4): keeps a member's session alive and tells it
 * when to rejoin (REBALANCE_IN_PROGRESS).
 *
 * @module
 */
import type { HeartbeatRequest, HeartbeatResponse } from "../../protocol/messages/heartbeat.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { withGroupCoordinator } from "./_group_route.ts";
import { heartbeatApi } from "../../protocol/messages/mod.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { AclOperation } from "../security/acl.ts";
import { authorizeGroup } from "../security/authorize.ts";

export const heartbeatHandler: ApiHandler = defineHandler(heartbeatApi, {
  minVersion: 0,
  maxVersion: 4,
  handle(
    ctx: RequestContext,
    request: HeartbeatRequest,
  ): HeartbeatResponse | Promise<HeartbeatResponse> {
    if (!authorizeGroup(ctx, AclOperation.READ, request.groupId)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
    }
    return withGroupCoordinator(
      ctx,
      request.groupId,
      (groups) => ({ throttleTimeMs: 0, errorCode: groups.membership.heartbeat(request) }),
      (errorCode) => ({ throttleTimeMs: 0, errorCode }),
    );
  },
});
