/**
 * DescribeGroups (key 15, v0-5): state, protocol and members of each group;
 * member metadata and assignments only when Stable, an unknown group as
 * "Dead" with no error, as Kafka answers.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type {
  DescribeGroupsRequest,
  DescribeGroupsResponse,
} from "../../protocol/messages/describe_groups.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { describeGroupsApi } from "../../protocol/messages/mod.ts";

/** Kafka's "not requested" authorized operations. */
const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;
/** READ (3), DELETE (6) and DESCRIBE (8): every group operation, as there is no ACL. */
const GROUP_OPERATIONS = (1 << 3) | (1 << 6) | (1 << 8);

export const describeGroupsHandler: ApiHandler = defineHandler(describeGroupsApi, {
  minVersion: 0,
  maxVersion: 5,
  handle(ctx: RequestContext, request: DescribeGroupsRequest): DescribeGroupsResponse {
    return {
      throttleTimeMs: 0,
      groups: request.groups.map((groupId) => {
        const d = ctx.broker.groups.describe(groupId);
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
            ? GROUP_OPERATIONS
            : AUTHORIZED_OPERATIONS_OMITTED,
        };
      }),
    };
  },
});
