/**
 * DescribeCluster (key 60, KIP-700): the cluster id, this node as the only
 * broker and as the controller. Asking a broker for controllers (v1
 * `endpointType` 2) is MISMATCHED_ENDPOINT_TYPE, as in Kafka.
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

/** KIP-919 endpoint types. */
const ENDPOINT_BROKER = 1;
const ENDPOINT_CONTROLLER = 2;
/** Kafka's "authorized operations not requested". */
const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;
/**
 * The cluster operations a node without an authorizer allows (Kafka's AclOperation codes:
 * CREATE 5, ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11,
 * IDEMPOTENT_WRITE 12, CREATE_TOKENS 13, DESCRIBE_TOKENS 14), as a bit field.
 */
export const CLUSTER_OPERATIONS = [5, 7, 8, 9, 10, 11, 12, 13, 14].reduce(
  (m, op) => m | (1 << op),
  0,
);

export const describeClusterHandler: ApiHandler = defineHandler(describeClusterApi, {
  minVersion: 0,
  maxVersion: 1,
  handle(ctx: RequestContext, request: DescribeClusterRequest): DescribeClusterResponse {
    const { nodeId, clusterId } = ctx.broker.config;
    const { hostname, port } = ctx.broker.advertised();
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
        ? CLUSTER_OPERATIONS
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
