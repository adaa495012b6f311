/**
 * Metadata (key 3): one broker (node 0), which leads every partition.
 * Unknown topics are created when the client allows it (v4+) and the broker
 * auto-creates topics. With an authorizer, the topic list holds only topics
 * the principal may DESCRIBE; a named topic it may not is answered
 * TOPIC_AUTHORIZATION_FAILED whether or not it exists, and auto-creation
 * needs CREATE on the CLUSTER or the topic, as in Kafka.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type { MetadataRequest, MetadataResponse } from "../../protocol/messages/metadata.ts";
import { ZERO_UUID } from "../../protocol/primitives.ts";
import { KafkaError } from "../kafka_error.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { metadataApi } from "../../protocol/messages/mod.ts";
import { type Topic, validateTopicName } from "../topics.ts";
import { LEADER_EPOCH } from "./fetch.ts";
import { clusterMetadataTopics, controllerId, liveBrokers } from "./_cluster.ts";
import { AclOperation, CLUSTER_RESOURCE_NAME, ResourceType } from "../security/acl.ts";
import {
  authorizedOperations,
  authorizeQuietly,
  authorizeTopic,
  authorizeTopicCreation,
} from "../security/authorize.ts";

type TopicResponse = MetadataResponse["topics"][number];

/** Kafka's "authorized operations were not asked for". */
const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

export const metadataHandler: ApiHandler = defineHandler(metadataApi, {
  minVersion: 0,
  maxVersion: 12,
  handle(
    ctx: RequestContext,
    request: MetadataRequest,
  ): MetadataResponse | Promise<MetadataResponse> {
    if (ctx.broker.cluster !== undefined) return clusterMetadata(ctx, request);
    const version = ctx.request.apiVersion;
    const { hostname, port } = ctx.broker.advertised(ctx.connection.listenerName);
    const nodeId = ctx.broker.config.nodeId;
    // v0: an empty list means every topic; v1+: null means every topic.
    const all = request.topics === null || (version === 0 && request.topics.length === 0);
    const topics: TopicResponse[] = all
      ? ctx.broker.topics.list()
        .filter((t) => authorizeQuietly(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, t.name))
        .map((t) => describeTopic(ctx, t))
      : request.topics!.map((t) =>
        lookupTopic(ctx, t.name, t.topicId, request.allowAutoTopicCreation)
      );
    return {
      throttleTimeMs: 0,
      brokers: [{ nodeId, host: hostname, port, rack: null }],
      clusterId: ctx.broker.config.clusterId,
      controllerId: nodeId,
      topics: request.includeTopicAuthorizedOperations ? withOperations(ctx, topics) : topics,
      clusterAuthorizedOperations: request.includeClusterAuthorizedOperations
        ? clusterOperations(ctx)
        : AUTHORIZED_OPERATIONS_OMITTED,
    };
  },
});

/** Metadata in a cluster: every live broker, the controller, partitions from the cache. */
async function clusterMetadata(
  ctx: RequestContext,
  request: MetadataRequest,
): Promise<MetadataResponse> {
  const all = request.topics === null ||
    (ctx.request.apiVersion === 0 && request.topics.length === 0);
  const topics = await clusterMetadataTopics(
    ctx,
    all ? null : request.topics!,
    request.allowAutoTopicCreation,
  );
  return {
    throttleTimeMs: 0,
    brokers: liveBrokers(ctx),
    clusterId: ctx.broker.config.clusterId,
    controllerId: controllerId(ctx),
    topics: request.includeTopicAuthorizedOperations ? withOperations(ctx, topics) : topics,
    clusterAuthorizedOperations: request.includeClusterAuthorizedOperations
      ? clusterOperations(ctx)
      : AUTHORIZED_OPERATIONS_OMITTED,
  };
}

function lookupTopic(
  ctx: RequestContext,
  name: string | null,
  topicId: string,
  allowAutoCreate: boolean,
): TopicResponse {
  const error = (errorCode: number): TopicResponse => ({
    errorCode,
    name: name ?? "",
    topicId,
    isInternal: false,
    partitions: [],
    topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
  });
  if (name === null) {
    const byId = ctx.broker.topics.getById(topicId);
    if (byId === undefined) return error(ErrorCode.UNKNOWN_TOPIC_ID);
    if (!authorizeTopic(ctx, AclOperation.DESCRIBE, byId.name)) {
      return error(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    }
    return describeTopic(ctx, byId);
  }
  // Kafka does not say whether a topic the principal may not describe exists.
  if (!authorizeTopic(ctx, AclOperation.DESCRIBE, name)) {
    return error(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  }
  const existing = ctx.broker.topics.get(name);
  if (existing !== undefined) return describeTopic(ctx, existing);
  try {
    validateTopicName(name);
  } catch (e) {
    if (e instanceof KafkaError) return error(e.code);
    throw e;
  }
  if (!allowAutoCreate || !ctx.broker.config.autoCreateTopics) {
    return error(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  }
  if (!authorizeTopicCreation(ctx, name)) return error(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  const created = ctx.broker.topicForUse(name);
  return created === undefined
    ? error(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    : describeTopic(ctx, created);
}

function describeTopic(ctx: RequestContext, topic: Topic): TopicResponse {
  const nodeId = ctx.broker.config.nodeId;
  return {
    errorCode: ErrorCode.NONE,
    name: topic.name,
    topicId: topic.id ?? ZERO_UUID,
    isInternal: topic.internal,
    partitions: topic.partitions.map((p) => ({
      errorCode: ErrorCode.NONE,
      partitionIndex: p.index,
      leaderId: nodeId,
      leaderEpoch: LEADER_EPOCH,
      replicaNodes: [nodeId],
      isrNodes: [nodeId],
      offlineReplicas: [],
    })),
    topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
  };
}

/** Each topic's authorized operations (v8+, when asked), as Kafka sets them on every topic answered. */
function withOperations(ctx: RequestContext, topics: TopicResponse[]): TopicResponse[] {
  for (const t of topics) {
    t.topicAuthorizedOperations = authorizedOperations(ctx, ResourceType.TOPIC, t.name ?? "");
  }
  return topics;
}

/** v8-10 cluster authorized operations: none without DESCRIBE on the CLUSTER, as in Kafka. */
function clusterOperations(ctx: RequestContext): number {
  const cluster = CLUSTER_RESOURCE_NAME;
  if (!authorizeQuietly(ctx, AclOperation.DESCRIBE, ResourceType.CLUSTER, cluster)) return 0;
  return authorizedOperations(ctx, ResourceType.CLUSTER, CLUSTER_RESOURCE_NAME);
}
