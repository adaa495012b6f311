/**
 * DeleteGroups (key 42, v0-2): removes Empty groups and their committed
 * offsets (GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP otherwise); needs DELETE on
 * each group.
 *
 * @module
 */
import type {
  DeleteGroupsRequest,
  DeleteGroupsResponse,
} from "../../protocol/messages/delete_groups.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { withGroupCoordinator } from "./_group_route.ts";
import { deleteGroupsApi } from "../../protocol/messages/mod.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { AclOperation } from "../security/acl.ts";
import { authorizeGroup } from "../security/authorize.ts";

export const deleteGroupsHandler: ApiHandler = defineHandler(deleteGroupsApi, {
  minVersion: 0,
  maxVersion: 2,
  async handle(ctx: RequestContext, request: DeleteGroupsRequest): Promise<DeleteGroupsResponse> {
    return {
      throttleTimeMs: 0,
      results: await Promise.all(request.groupsNames.map(async (groupId) => ({
        groupId,
        errorCode: authorizeGroup(ctx, AclOperation.DELETE, groupId)
          ? await withGroupCoordinator(
            ctx,
            groupId,
            (groups) => groups.deleteGroup(groupId),
            (errorCode) => errorCode,
          )
          : ErrorCode.GROUP_AUTHORIZATION_FAILED,
      }))),
    };
  },
});
