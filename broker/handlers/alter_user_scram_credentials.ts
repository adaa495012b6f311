/**
 * AlterUserScramCredentials (key 51, v0): deletes and upserts SCRAM
 * credentials (`ScramCredentialStore.alter`: Kafka's checks, results and
 * messages; the client's salted password becomes StoredKey and ServerKey and
 * is dropped). Needs ALTER on the CLUSTER; refused, every user named gets
 * CLUSTER_AUTHORIZATION_FAILED, as in Kafka.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type {
  AlterUserScramCredentialsRequest,
  AlterUserScramCredentialsResponse,
} from "../../protocol/messages/alter_user_scram_credentials.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { alterUserScramCredentialsApi } from "../../protocol/messages/mod.ts";
import { AclOperation } from "../security/acl.ts";
import { AuthorizationMessage, authorizeCluster } from "../security/authorize.ts";

export const alterUserScramCredentialsHandler: ApiHandler = defineHandler(
  alterUserScramCredentialsApi,
  {
    minVersion: 0,
    maxVersion: 0,
    handle(
      ctx: RequestContext,
      request: AlterUserScramCredentialsRequest,
    ): AlterUserScramCredentialsResponse {
      if (!authorizeCluster(ctx, AclOperation.ALTER)) {
        const users = new Set([...request.deletions, ...request.upsertions].map((u) => u.name));
        return {
          throttleTimeMs: 0,
          results: [...users].map((user) => ({
            user,
            errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
            errorMessage: AuthorizationMessage.CLUSTER,
          })),
        };
      }
      const upsertions = request.upsertions.map((u) => ({
        ...u,
        salt: u.salt.slice(),
        saltedPassword: u.saltedPassword.slice(),
      }));
      const results = ctx.broker.scramCredentials.alter(request.deletions, upsertions);
      const changed = results.filter((r) => r.errorCode === ErrorCode.NONE).map((r) => r.user);
      if (changed.length > 0) {
        ctx.broker.logger.info(
          `SCRAM credentials of ${
            changed.map((u) => `"${u}"`).join(", ")
          } changed by ${ctx.connection.principal}`,
        );
      }
      return { throttleTimeMs: 0, results };
    },
  },
);
