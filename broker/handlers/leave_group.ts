/**
 * LeaveGroup (key 13, v0-5): one member (v0-2) or a batch of members,
 * possibly by `group.instance.id` alone (v3+), leave at once.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type { LeaveGroupRequest, LeaveGroupResponse } from "../../protocol/messages/leave_group.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { withGroupCoordinator } from "./_group_route.ts";
import { leaveGroupApi } from "../../protocol/messages/mod.ts";
import { AclOperation } from "../security/acl.ts";
import { authorizeGroup } from "../security/authorize.ts";

/** First version with a batch of members. */
const BATCHED_MIN_VERSION = 3;

export const leaveGroupHandler: ApiHandler = defineHandler(leaveGroupApi, {
  minVersion: 0,
  maxVersion: 5,
  handle(
    ctx: RequestContext,
    request: LeaveGroupRequest,
  ): LeaveGroupResponse | Promise<LeaveGroupResponse> {
    if (!authorizeGroup(ctx, AclOperation.READ, request.groupId)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, members: [] };
    }
    const batched = ctx.request.apiVersion >= BATCHED_MIN_VERSION;
    const leaving = batched
      ? request.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId }))
      : [{ memberId: request.memberId, groupInstanceId: null }];
    return withGroupCoordinator(
      ctx,
      request.groupId,
      (groups) => answer(batched, leaving, groups.membership.leave(request.groupId, leaving)),
      (errorCode) => ({ throttleTimeMs: 0, errorCode, members: [] }),
    );
  },
});

function answer(
  batched: boolean,
  leaving: { memberId: string; groupInstanceId: string | null }[],
  result: { errorCode: number; members: readonly number[] },
): LeaveGroupResponse {
  if (!batched) {
    // Before v3 the one member's error is the response's error (Kafka's LeaveGroupResponse).
    const memberError = result.members.find((e) => e !== ErrorCode.NONE) ?? ErrorCode.NONE;
    const errorCode = result.errorCode !== ErrorCode.NONE ? result.errorCode : memberError;
    return { throttleTimeMs: 0, errorCode, members: [] };
  }
  return {
    throttleTimeMs: 0,
    errorCode: result.errorCode,
    members: result.members.map((errorCode, i) => ({
      memberId: leaving[i].memberId,
      groupInstanceId: leaving[i].groupInstanceId,
      errorCode,
    })),
  };
}
