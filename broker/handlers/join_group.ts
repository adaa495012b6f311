/**
 * JoinGroup (key 11, v0-9): a member joins or rejoins a group; the answer
 * waits until the rebalance completes (see `groups/membership.ts`). v4+
 * first answers a new dynamic member MEMBER_ID_REQUIRED with its id; v5+
 * carries `group.instance.id`; v0 has no rebalance timeout (the session
 * timeout stands in, as in Kafka).
 *
 * @module
 */
import type { JoinGroupRequest, JoinGroupResponse } from "../../protocol/messages/join_group.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { withGroupCoordinator } from "./_group_route.ts";
import type { GroupCoordinator } from "../groups/coordinator.ts";
import { joinGroupApi } from "../../protocol/messages/mod.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { AclOperation } from "../security/acl.ts";
import { authorizeGroup } from "../security/authorize.ts";

/** First version where a new member must rejoin with the id it was given. */
const MEMBER_ID_REQUIRED_MIN_VERSION = 4;
/** First version where a null protocol name may be sent. */
const NULLABLE_PROTOCOL_MIN_VERSION = 7;

/** Kafka's clientHost: "/" and the peer's address without the port. */
export function clientHost(ctx: RequestContext): string {
  const address = ctx.connection.socket.remoteAddress;
  const colon = address.lastIndexOf(":");
  const host = colon < 0 ? address : address.slice(0, colon);
  return `/${host.replace(/^\[|\]$/g, "")}`;
}

export const joinGroupHandler: ApiHandler = defineHandler(joinGroupApi, {
  minVersion: 0,
  maxVersion: 9,
  async handle(ctx: RequestContext, request: JoinGroupRequest): Promise<JoinGroupResponse> {
    const version = ctx.request.apiVersion;
    const refusal = (errorCode: number): JoinGroupResponse => ({
      throttleTimeMs: 0,
      errorCode,
      generationId: -1,
      protocolType: null,
      protocolName: version >= NULLABLE_PROTOCOL_MIN_VERSION ? null : "",
      leader: "",
      skipAssignment: false,
      memberId: request.memberId,
      members: [],
    });
    if (!authorizeGroup(ctx, AclOperation.READ, request.groupId)) {
      return refusal(ErrorCode.GROUP_AUTHORIZATION_FAILED);
    }
    return await withGroupCoordinator(
      ctx,
      request.groupId,
      (groups) => join(ctx, groups, request),
      refusal,
    );
  },
});

async function join(
  ctx: RequestContext,
  groups: GroupCoordinator,
  request: JoinGroupRequest,
): Promise<JoinGroupResponse> {
  const version = ctx.request.apiVersion;
  const result = await groups.membership.join({
    groupId: request.groupId,
    memberId: request.memberId,
    groupInstanceId: request.groupInstanceId,
    requireKnownMemberId: version >= MEMBER_ID_REQUIRED_MIN_VERSION,
    clientId: ctx.request.clientId ?? "",
    clientHost: clientHost(ctx),
    rebalanceTimeoutMs: version === 0 ? request.sessionTimeoutMs : request.rebalanceTimeoutMs,
    sessionTimeoutMs: request.sessionTimeoutMs,
    protocolType: request.protocolType,
    protocols: request.protocols,
  });
  const nullable = version >= NULLABLE_PROTOCOL_MIN_VERSION;
  return {
    throttleTimeMs: 0,
    errorCode: result.errorCode,
    generationId: result.generationId,
    protocolType: result.protocolType,
    protocolName: result.protocolName ?? (nullable ? null : ""),
    leader: result.leader,
    skipAssignment: result.skipAssignment,
    memberId: result.memberId,
    members: result.members.map((m) => ({ ...m })),
  };
}
