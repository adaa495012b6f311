/**
 * ListGroups (key 16, v0-5): every group with its protocol type, filtered
 * by state (v4+) and type (v5+, every group here is "classic").
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type { ListGroupsRequest, ListGroupsResponse } from "../../protocol/messages/list_groups.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { listGroups } from "./_group_route.ts";
import { listGroupsApi } from "../../protocol/messages/mod.ts";
import { AclOperation, CLUSTER_RESOURCE_NAME, ResourceType } from "../security/acl.ts";
import { authorizeQuietly } from "../security/authorize.ts";

const DESCRIBE = AclOperation.DESCRIBE;

export const listGroupsHandler: ApiHandler = defineHandler(listGroupsApi, {
  minVersion: 0,
  maxVersion: 5,
  handle(ctx: RequestContext, request: ListGroupsRequest): ListGroupsResponse {
    const listed = listGroups(ctx, request.statesFilter, request.typesFilter);
    // DESCRIBE on the CLUSTER lists every group; else only the groups the principal may describe.
    const groups = authorizeQuietly(ctx, DESCRIBE, ResourceType.CLUSTER, CLUSTER_RESOURCE_NAME)
      ? listed
      : listed.filter((g) => authorizeQuietly(ctx, DESCRIBE, ResourceType.GROUP, g.groupId));
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      groups: groups.map((g) => ({
        groupId: g.groupId,
        protocolType: g.protocolType,
        groupState: g.state,
        groupType: g.groupType,
      })),
    };
  },
});
