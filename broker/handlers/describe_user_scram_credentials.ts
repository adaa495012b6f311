/**
 * DescribeUserScramCredentials (key 50, v0): each user's SCRAM mechanisms
 * and iteration counts, never a key (`ScramCredentialStore.describe`: a
 * user without credentials is RESOURCE_NOT_FOUND, one named twice
 * DUPLICATE_RESOURCE). Needs DESCRIBE on the CLUSTER.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type {
  DescribeUserScramCredentialsRequest,
  DescribeUserScramCredentialsResponse,
} from "../../protocol/messages/describe_user_scram_credentials.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { describeUserScramCredentialsApi } from "../../protocol/messages/mod.ts";
import { AclOperation } from "../security/acl.ts";
import { AuthorizationMessage, authorizeCluster } from "../security/authorize.ts";

export const describeUserScramCredentialsHandler: ApiHandler = defineHandler(
  describeUserScramCredentialsApi,
  {
    minVersion: 0,
    maxVersion: 0,
    handle(
      ctx: RequestContext,
      request: DescribeUserScramCredentialsRequest,
    ): DescribeUserScramCredentialsResponse {
      if (!authorizeCluster(ctx, AclOperation.DESCRIBE)) {
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
          errorMessage: AuthorizationMessage.CLUSTER,
          results: [],
        };
      }
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        results: ctx.broker.scramCredentials.describe(request.users),
      };
    },
  },
);
