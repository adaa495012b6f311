/**
 * FindCoordinator (key 10): on one node, this node coordinates every group
 * (key type GROUP) and every transactional id (key type TRANSACTION; in a
 * cluster the leader of the id's `__transaction_state` partition,
 * `_cluster_txn_coordinator.ts`), after Kafka's check (DESCRIBE on the
 * group or transactional id). Other key types are refused with INVALID_REQUEST.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type {
  FindCoordinatorRequest,
  FindCoordinatorResponse,
} from "../../protocol/messages/find_coordinator.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { findCoordinatorApi } from "../../protocol/messages/mod.ts";
import { clusterGroupCoordinator } from "./_cluster_group_coordinator.ts";
import { clusterTxnCoordinator } from "./_cluster_txn_coordinator.ts";
import { AclOperation, ResourceType } from "../security/acl.ts";
import { AuthorizationMessage, authorize } from "../security/authorize.ts";

/** FindCoordinator key types. */
const KEY_TYPE_GROUP = 0;
const KEY_TYPE_TRANSACTION = 1;
/** First version that batches keys. */
const BATCHED_MIN_VERSION = 4;

export const findCoordinatorHandler: ApiHandler = defineHandler(findCoordinatorApi, {
  minVersion: 0,
  maxVersion: 6,
  handle(
    ctx: RequestContext,
    request: FindCoordinatorRequest,
  ): FindCoordinatorResponse | Promise<FindCoordinatorResponse> {
    const clustered = request.keyType === KEY_TYPE_GROUP ||
      request.keyType === KEY_TYPE_TRANSACTION;
    if (ctx.broker.cluster !== undefined && clustered) {
      return findInCluster(ctx, request);
    }
    const { hostname, port } = ctx.broker.advertised(ctx.connection.listenerName);
    const nodeId = ctx.broker.config.nodeId;
    const answer = (key: string) => {
      const isGroup = request.keyType === KEY_TYPE_GROUP;
      const ok = isGroup || request.keyType === KEY_TYPE_TRANSACTION;
      // DESCRIBE on the group or transactional id, as Kafka checks before answering.
      const resourceType = isGroup ? ResourceType.GROUP : ResourceType.TRANSACTIONAL_ID;
      if (ok && !authorize(ctx, AclOperation.DESCRIBE, resourceType, key)) {
        return {
          key,
          nodeId: -1,
          host: "",
          port: -1,
          errorCode: isGroup
            ? ErrorCode.GROUP_AUTHORIZATION_FAILED
            : ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
          errorMessage: isGroup
            ? AuthorizationMessage.GROUP
            : AuthorizationMessage.TRANSACTIONAL_ID,
        };
      }
      return {
        key,
        nodeId: ok ? nodeId : -1,
        host: ok ? hostname : "",
        port: ok ? port : -1,
        errorCode: ok ? ErrorCode.NONE : ErrorCode.INVALID_REQUEST,
        errorMessage: ok ? null : `Unknown coordinator key type ${request.keyType}.`,
      };
    };
    if (ctx.request.apiVersion >= BATCHED_MIN_VERSION) {
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        nodeId: -1,
        host: "",
        port: -1,
        coordinators: request.coordinatorKeys.map(answer),
      };
    }
    const one = answer(request.key);
    return {
      throttleTimeMs: 0,
      errorCode: one.errorCode,
      errorMessage: one.errorMessage,
      nodeId: one.nodeId,
      host: one.host,
      port: one.port,
      coordinators: [],
    };
  },
});

/**
 * In a cluster: the leader of the group's `__consumer_offsets` partition, or of the
 * transactional id's `__transaction_state` partition.
 */
async function findInCluster(
  ctx: RequestContext,
  request: FindCoordinatorRequest,
): Promise<FindCoordinatorResponse> {
  const isGroup = request.keyType === KEY_TYPE_GROUP;
  const answer = async (key: string) => {
    // DESCRIBE on the group or transactional id, as Kafka checks before answering.
    const resourceType = isGroup ? ResourceType.GROUP : ResourceType.TRANSACTIONAL_ID;
    if (!authorize(ctx, AclOperation.DESCRIBE, resourceType, key)) {
      return {
        key,
        nodeId: -1,
        host: "",
        port: -1,
        errorCode: isGroup
          ? ErrorCode.GROUP_AUTHORIZATION_FAILED
          : ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
        errorMessage: isGroup ? AuthorizationMessage.GROUP : AuthorizationMessage.TRANSACTIONAL_ID,
      };
    }
    const found = isGroup
      ? await clusterGroupCoordinator(ctx, key)
      : await clusterTxnCoordinator(ctx, key);
    if ("errorCode" in found) {
      return {
        key,
        nodeId: -1,
        host: "",
        port: -1,
        errorCode: found.errorCode,
        errorMessage: "The coordinator is not available.",
      };
    }
    return { key, ...found, errorCode: ErrorCode.NONE, errorMessage: null };
  };
  if (ctx.request.apiVersion >= BATCHED_MIN_VERSION) {
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      nodeId: -1,
      host: "",
      port: -1,
      coordinators: await Promise.all(request.coordinatorKeys.map(answer)),
    };
  }
  const one = await answer(request.key);
  return {
    throttleTimeMs: 0,
    errorCode: one.errorCode,
    errorMessage: one.errorMessage,
    nodeId: one.nodeId,
    host: one.host,
    port: one.port,
    coordinators: [],
  };
}
