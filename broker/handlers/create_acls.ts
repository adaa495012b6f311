/**
 * CreateAcls (key 30, v0-3): adds ACLs, persisted in the data directory
 * (`AclStore.create`: one result per creation, an invalid one refused with
 * INVALID_REQUEST). Needs ALTER on the CLUSTER; without an authorizer Kafka
 * answers SECURITY_DISABLED.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type { CreateAclsRequest, CreateAclsResponse } from "../../protocol/messages/create_acls.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { createAclsApi } from "../../protocol/messages/mod.ts";
import { AclOperation } from "../security/acl.ts";
import { AuthorizationMessage, authorizeCluster } from "../security/authorize.ts";

/** Kafka's text when no authorizer is configured (CreateAcls, DeleteAcls). */
export const NO_AUTHORIZER_CONFIGURED = "No Authorizer is configured.";

export const createAclsHandler: ApiHandler = defineHandler(createAclsApi, {
  minVersion: 0,
  maxVersion: 3,
  handle(ctx: RequestContext, request: CreateAclsRequest): CreateAclsResponse {
    const acls = ctx.broker.acls;
    const refuse = (errorCode: number, errorMessage: string): CreateAclsResponse => ({
      throttleTimeMs: 0,
      results: request.creations.map(() => ({ errorCode, errorMessage })),
    });
    if (acls === undefined) return refuse(ErrorCode.SECURITY_DISABLED, NO_AUTHORIZER_CONFIGURED);
    if (!authorizeCluster(ctx, AclOperation.ALTER)) {
      return refuse(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, AuthorizationMessage.CLUSTER);
    }
    const results = acls.create(request.creations);
    const created = results.filter((r) => r.errorCode === ErrorCode.NONE).length;
    if (created > 0) {
      ctx.broker.logger.info(
        `${created} ACL(s) created by ${ctx.connection.principal} (client "${ctx.request.clientId}")`,
      );
    }
    return { throttleTimeMs: 0, results: results.map((r) => ({ ...r })) };
  },
});
