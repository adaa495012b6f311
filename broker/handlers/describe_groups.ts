/**
 * DescribeGroups (key 15, v0-5): state, protocol and members of each group;
 * member metadata and assignments only when Stable, an unknown group as
 * "Dead" with no error, as Kafka answers; a group the principal may not
 * DESCRIBE is GROUP_AUTHORIZATION_FAILED.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type {
  DescribeGroupsRequest,
  DescribeGroupsResponse,
} from "../../protocol/messages/describe_groups.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { groupCoordinatorOf } from "./_group_route.ts";
import { describeGroupsApi } from "../../protocol/messages/mod.ts";
import { AclOperation, ResourceType } from "../security/acl.ts";
import { authorizedOperations, authorizeGroup } from "../security/authorize.ts";

/** Kafka's "not requested" authorized operations. */
const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

export const describeGroupsHandler: ApiHandler = defineHandler(describeGroupsApi, {
  minVersion: 0,
  maxVersion: 5,
  handle(ctx: RequestContext, request: DescribeGroupsRequest): DescribeGroupsResponse {
    return {
      throttleTimeMs: 0,
      groups: request.groups.map((groupId) => {
        if (!authorizeGroup(ctx, AclOperation.DESCRIBE, groupId)) {
          return {
            errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
            groupId,
            groupState: "",
            protocolType: "",
            protocolData: "",
            members: [],
            authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
          };
        }
        const groups = groupCoordinatorOf(ctx, groupId);
        if (typeof groups === "number") {
          return {
            errorCode: groups,
            groupId,
            groupState: "",
            protocolType: "",
            protocolData: "",
            members: [],
            authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
          };
        }
        const d = groups.describe(groupId);
        return {
          errorCode: ErrorCode.NONE,
          groupId,
          groupState: d.state,
          protocolType: d.protocolType,
          protocolData: d.protocolData,
          members: d.members.map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            clientId: m.clientId,
            clientHost: m.clientHost,
            memberMetadata: m.metadata,
            memberAssignment: m.assignment,
          })),
          authorizedOperations: request.includeAuthorizedOperations
            ? authorizedOperations(ctx, ResourceType.GROUP, groupId)
            : AUTHORIZED_OPERATIONS_OMITTED,
        };
      }),
    };
  },
});
