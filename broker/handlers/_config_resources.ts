/**
 * Kafka's config resource types (`ConfigResource.Type`), as DescribeConfigs,
 * AlterConfigs and IncrementalAlterConfigs number them.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import {
  type AuthorizationContext,
  AuthorizationMessage,
  authorizeCluster,
  authorizeTopic,
} from "../security/authorize.ts";

/** A topic's configs. */
export const RESOURCE_TOPIC = 2;
/** A broker's configs (`resourceName` is the node id, or "" for the cluster-wide default). */
export const RESOURCE_BROKER = 4;
/** A broker's loggers and their levels (`kafka-configs.sh --entity-type broker-loggers`). */
export const RESOURCE_BROKER_LOGGER = 8;

/**
 * Why a config resource may not be described or altered (`operation`
 * DESCRIBE_CONFIGS or ALTER_CONFIGS): on the topic for a TOPIC resource, on
 * the CLUSTER for BROKER and BROKER_LOGGER ones, as Kafka checks; `undefined`
 * when allowed (or another resource type, which its handler refuses).
 */
export function configResourceRefusal(
  ctx: AuthorizationContext,
  operation: number,
  resource: { readonly resourceType: number; readonly resourceName: string },
): { errorCode: number; errorMessage: string } | undefined {
  const type = resource.resourceType;
  if (type === RESOURCE_TOPIC) {
    if (authorizeTopic(ctx, operation, resource.resourceName)) return undefined;
    return {
      errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
      errorMessage: AuthorizationMessage.TOPIC,
    };
  }
  if (type !== RESOURCE_BROKER && type !== RESOURCE_BROKER_LOGGER) return undefined;
  if (authorizeCluster(ctx, operation)) return undefined;
  return {
    errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    errorMessage: AuthorizationMessage.CLUSTER,
  };
}
