/**
 * DescribeCluster (key 60, KIP-700): the cluster id, this node as the only
 * broker and as the controller. Asking a broker for controllers (v1
 * `endpointType` 2) is MISMATCHED_ENDPOINT_TYPE, as in Kafka. A broker
 * answers anyone; the cluster's authorized operations, when asked, are those
 * the principal has, none without DESCRIBE on the CLUSTER (Kafka's rule).
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type {
  DescribeClusterRequest,
  DescribeClusterResponse,
} from "../../protocol/messages/describe_cluster.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { describeClusterApi } from "../../protocol/messages/mod.ts";
import { controllerId, liveBrokers } from "./_cluster.ts";
import { AclOperation, CLUSTER_RESOURCE_NAME, ResourceType } from "../security/acl.ts";
import { authorizedOperations, authorizeQuietly } from "../security/authorize.ts";

/** KIP-919 endpoint types. */
const ENDPOINT_BROKER = 1;
const ENDPOINT_CONTROLLER = 2;
/** Kafka's "authorized operations not requested". */
const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;
export const describeClusterHandler: ApiHandler = defineHandler(describeClusterApi, {
  minVersion: 0,
  maxVersion: 1,
  handle(ctx: RequestContext, request: DescribeClusterRequest): DescribeClusterResponse {
    const { nodeId, clusterId } = ctx.broker.config;
    const { hostname, port } = ctx.broker.advertised(ctx.connection.listenerName);
    const endpointType = request.endpointType;
    const response: DescribeClusterResponse = {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      endpointType: ENDPOINT_BROKER,
      clusterId,
      controllerId: nodeId,
      brokers: [{ brokerId: nodeId, host: hostname, port, rack: null }],
      clusterAuthorizedOperations: request.includeClusterAuthorizedOperations
        ? clusterOperations(ctx)
        : AUTHORIZED_OPERATIONS_OMITTED,
    };
    if (ctx.broker.cluster !== undefined) {
      response.controllerId = controllerId(ctx);
      response.brokers = liveBrokers(ctx).map((b) => ({
        brokerId: b.nodeId,
        host: b.host,
        port: b.port,
        rack: b.rack,
      }));
    }
    if (endpointType !== ENDPOINT_BROKER) {
      response.errorCode = endpointType === ENDPOINT_CONTROLLER
        ? ErrorCode.MISMATCHED_ENDPOINT_TYPE
        : ErrorCode.UNSUPPORTED_ENDPOINT_TYPE;
      response.errorMessage = endpointType === ENDPOINT_CONTROLLER
        ? "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER."
        : `Unsupported endpoint type ${endpointType}.`;
      response.brokers = [];
    }
    return response;
  },
});

function clusterOperations(ctx: RequestContext): number {
  const cluster = CLUSTER_RESOURCE_NAME;
  if (!authorizeQuietly(ctx, AclOperation.DESCRIBE, ResourceType.CLUSTER, cluster)) return 0;
  return authorizedOperations(ctx, ResourceType.CLUSTER, CLUSTER_RESOURCE_NAME);
}
