/**
 * DeleteAcls (key 31, v0-3): removes the ACLs each filter matches, and
 * lists them per filter (`AclStore.delete`). Needs ALTER on the CLUSTER;
 * without an authorizer Kafka answers SECURITY_DISABLED. v0 cannot carry a
 * pattern type: its answers list LITERAL patterns only.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type { DeleteAclsRequest, DeleteAclsResponse } from "../../protocol/messages/delete_acls.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { deleteAclsApi } from "../../protocol/messages/mod.ts";
import { AclOperation, PatternType } from "../security/acl.ts";
import { AuthorizationMessage, authorizeCluster } from "../security/authorize.ts";
import { NO_AUTHORIZER_CONFIGURED } from "./create_acls.ts";
import { LITERAL_ONLY_MAX_VERSION } from "./describe_acls.ts";

export const deleteAclsHandler: ApiHandler = defineHandler(deleteAclsApi, {
  minVersion: 0,
  maxVersion: 3,
  handle(ctx: RequestContext, request: DeleteAclsRequest): DeleteAclsResponse {
    const acls = ctx.broker.acls;
    const refuse = (errorCode: number, errorMessage: string): DeleteAclsResponse => ({
      throttleTimeMs: 0,
      filterResults: request.filters.map(() => ({ errorCode, errorMessage, matchingAcls: [] })),
    });
    if (acls === undefined) return refuse(ErrorCode.SECURITY_DISABLED, NO_AUTHORIZER_CONFIGURED);
    if (!authorizeCluster(ctx, AclOperation.ALTER)) {
      return refuse(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, AuthorizationMessage.CLUSTER);
    }
    const results = acls.delete(request.filters);
    const deleted = results.reduce((n, r) => n + r.matchingAcls.length, 0);
    if (deleted > 0) {
      ctx.broker.logger.info(
        `ACLs deleted by ${ctx.connection.principal} (client "${ctx.request.clientId}"): ${deleted} match(es)`,
      );
    }
    const literalOnly = ctx.request.apiVersion <= LITERAL_ONLY_MAX_VERSION;
    return {
      throttleTimeMs: 0,
      filterResults: results.map((r) => ({
        errorCode: r.errorCode,
        errorMessage: r.errorMessage,
        matchingAcls: r.matchingAcls
          .filter((a) => !literalOnly || a.patternType === PatternType.LITERAL)
          .map((a) => ({ ...a })),
      })),
    };
  },
});
