/**
 * DescribeAcls (key 29, v0-3): the ACLs a filter matches, grouped by
 * resource pattern (`AclStore.describe`). Needs DESCRIBE on the CLUSTER;
 * without an authorizer Kafka answers SECURITY_DISABLED. v0 cannot carry a
 * pattern type: it sees LITERAL patterns only, as Kafka's downgrade does.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type {
  DescribeAclsRequest,
  DescribeAclsResponse,
} from "../../protocol/messages/describe_acls.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { describeAclsApi } from "../../protocol/messages/mod.ts";
import { AclOperation, PatternType } from "../security/acl.ts";
import { AuthorizationMessage, authorizeCluster } from "../security/authorize.ts";

/** Kafka's text when no authorizer is configured. */
export const NO_AUTHORIZER_MESSAGE = "No Authorizer is configured on the broker";
/** The last version without pattern types (KIP-290). */
export const LITERAL_ONLY_MAX_VERSION = 0;

export const describeAclsHandler: ApiHandler = defineHandler(describeAclsApi, {
  minVersion: 0,
  maxVersion: 3,
  handle(ctx: RequestContext, request: DescribeAclsRequest): DescribeAclsResponse {
    const refused = (errorCode: number, errorMessage: string): DescribeAclsResponse => ({
      throttleTimeMs: 0,
      errorCode,
      errorMessage,
      resources: [],
    });
    const acls = ctx.broker.acls;
    if (acls === undefined) return refused(ErrorCode.SECURITY_DISABLED, NO_AUTHORIZER_MESSAGE);
    if (!authorizeCluster(ctx, AclOperation.DESCRIBE)) {
      return refused(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, AuthorizationMessage.CLUSTER);
    }
    const found = acls.describe(request);
    const literalOnly = ctx.request.apiVersion <= LITERAL_ONLY_MAX_VERSION;
    return {
      throttleTimeMs: 0,
      errorCode: found.errorCode,
      errorMessage: found.errorMessage,
      resources: found.resources
        .filter((r) => !literalOnly || r.patternType === PatternType.LITERAL)
        .map((r) => ({ ...r, acls: [...r.acls] })),
    };
  },
});
