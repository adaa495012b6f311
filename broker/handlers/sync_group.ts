/**
 * SyncGroup (key 14, v0-5): the leader hands in the assignment, every member
 * gets its own share back untouched (see `groups/membership.ts`).
 *
 * @module
 */
import type { SyncGroupRequest, SyncGroupResponse } from "../../protocol/messages/sync_group.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { withGroupCoordinator } from "./_group_route.ts";
import type { GroupCoordinator } from "../groups/coordinator.ts";
import { syncGroupApi } from "../../protocol/messages/mod.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { AclOperation } from "../security/acl.ts";
import { authorizeGroup } from "../security/authorize.ts";

export const syncGroupHandler: ApiHandler = defineHandler(syncGroupApi, {
  minVersion: 0,
  maxVersion: 5,
  async handle(ctx: RequestContext, request: SyncGroupRequest): Promise<SyncGroupResponse> {
    const refusal = (errorCode: number): SyncGroupResponse => ({
      throttleTimeMs: 0,
      errorCode,
      protocolType: null,
      protocolName: null,
      assignment: new Uint8Array(0),
    });
    if (!authorizeGroup(ctx, AclOperation.READ, request.groupId)) {
      return refusal(ErrorCode.GROUP_AUTHORIZATION_FAILED);
    }
    return await withGroupCoordinator(
      ctx,
      request.groupId,
      (groups) => sync(groups, request),
      refusal,
    );
  },
});

async function sync(
  groups: GroupCoordinator,
  request: SyncGroupRequest,
): Promise<SyncGroupResponse> {
  const assignments = new Map<string, Uint8Array>();
  for (const a of request.assignments) assignments.set(a.memberId, a.assignment);
  const result = await groups.membership.sync({
    groupId: request.groupId,
    generationId: request.generationId,
    memberId: request.memberId,
    groupInstanceId: request.groupInstanceId,
    protocolType: request.protocolType,
    protocolName: request.protocolName,
    assignments,
  });
  return {
    throttleTimeMs: 0,
    errorCode: result.errorCode,
    protocolType: result.protocolType,
    protocolName: result.protocolName,
    assignment: result.assignment,
  };
}
