/**
 * DescribeClientQuotas (key 48, v0-1): the dynamic client-id quotas a filter
 * matches (`kafka-configs.sh --describe --entity-type clients`), filtered as
 * Kafka filters them. A refused filter is answered with its error code
 * (INVALID_REQUEST, or UNSUPPORTED_VERSION for an unknown entity type or
 * match type) and null entries. The broker-option defaults are not entities
 * and are not listed, as Kafka does not list its static defaults. Needs
 * DESCRIBE_CONFIGS on the CLUSTER.
 *
 * @module
 */
import type {
  DescribeClientQuotasRequest,
  DescribeClientQuotasResponse,
} from "../../protocol/messages/describe_client_quotas.ts";
import { CLIENT_ID_ENTITY_TYPE } from "../client_quota_store.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { describeClientQuotasApi } from "../../protocol/messages/mod.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { AclOperation } from "../security/acl.ts";
import { AuthorizationMessage, authorizeCluster } from "../security/authorize.ts";

export const describeClientQuotasHandler: ApiHandler = defineHandler(describeClientQuotasApi, {
  minVersion: 0,
  maxVersion: 1,
  handle(ctx: RequestContext, request: DescribeClientQuotasRequest): DescribeClientQuotasResponse {
    if (!authorizeCluster(ctx, AclOperation.DESCRIBE_CONFIGS)) {
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        errorMessage: AuthorizationMessage.CLUSTER,
        entries: null,
      };
    }
    const found = ctx.broker.quotas.describe(request.components, request.strict);
    return {
      throttleTimeMs: 0,
      errorCode: found.errorCode,
      errorMessage: found.errorMessage,
      entries: found.entities?.map((e) => ({
        entity: [{ entityType: CLIENT_ID_ENTITY_TYPE, entityName: e.clientId }],
        values: Object.entries(e.values).map(([key, value]) => ({ key, value })),
      })) ?? null,
    };
  },
});
