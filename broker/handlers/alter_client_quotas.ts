/**
 * AlterClientQuotas (key 49, v0-1): sets or removes `producer_byte_rate` and
 * `consumer_byte_rate` of a client id or of the `<default>` client id
 * (`kafka-configs.sh --alter --entity-type clients`). Each entry is
 * validated as Kafka validates it and applied whole or refused with
 * INVALID_REQUEST; `validateOnly` changes nothing. Applied quotas are saved
 * in the data directory and govern the next request of every client. Needs
 * ALTER_CONFIGS on the CLUSTER: refused, every entry is CLUSTER_AUTHORIZATION_FAILED.
 *
 * @module
 */
import type {
  AlterClientQuotasRequest,
  AlterClientQuotasResponse,
} from "../../protocol/messages/alter_client_quotas.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { alterClientQuotasApi } from "../../protocol/messages/mod.ts";
import { AclOperation } from "../security/acl.ts";
import { AuthorizationMessage, authorizeCluster } from "../security/authorize.ts";

export const alterClientQuotasHandler: ApiHandler = defineHandler(alterClientQuotasApi, {
  minVersion: 0,
  maxVersion: 1,
  handle(ctx: RequestContext, request: AlterClientQuotasRequest): AlterClientQuotasResponse {
    if (!authorizeCluster(ctx, AclOperation.ALTER_CONFIGS)) {
      return {
        throttleTimeMs: 0,
        entries: request.entries.map((entry) => ({
          errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
          errorMessage: AuthorizationMessage.CLUSTER,
          entity: entry.entity.map((e) => ({ entityType: e.entityType, entityName: e.entityName })),
        })),
      };
    }
    const outcomes = ctx.broker.quotas.alter(request.entries, request.validateOnly);
    const entries = request.entries.map((entry, i) => ({
      errorCode: outcomes[i].errorCode,
      errorMessage: outcomes[i].errorMessage,
      entity: entry.entity.map((e) => ({ entityType: e.entityType, entityName: e.entityName })),
    }));
    if (!request.validateOnly) {
      for (const [i, entry] of request.entries.entries()) {
        if (outcomes[i].errorCode !== ErrorCode.NONE) continue;
        const ops = entry.ops.map((op) => op.remove ? `-${op.key}` : `${op.key}=${op.value}`);
        ctx.broker.logger.info(
          `Client quotas of ${
            JSON.stringify(entry.entity)
          } changed by client "${ctx.request.clientId}": ${ops.join(", ")}`,
        );
      }
    }
    return { throttleTimeMs: 0, entries };
  },
});
