/**
 * Metadata (key 3): one broker (node 0), which leads every partition.
 * Unknown topics are created when the client allows it (v4+) and the broker
 * auto-creates topics.
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
    const { hostname, port } = ctx.broker.advertised();
    const nodeId = ctx.broker.config.nodeId;
    // v0: an empty list means every topic; v1+: null means every topic.
    const all = request.topics === null || (version === 0 && request.topics.length === 0);
    const topics: TopicResponse[] = all
      ? ctx.broker.topics.list().map((t) => describeTopic(ctx, t))
      : request.topics!.map((t) =>
        lookupTopic(ctx, t.name, t.topicId, request.allowAutoTopicCreation)
      );
    return {
      throttleTimeMs: 0,
      brokers: [{ nodeId, host: hostname, port, rack: null }],
      clusterId: ctx.broker.config.clusterId,
      controllerId: nodeId,
      topics,
      clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
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
    topics,
    clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
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
    return byId === undefined ? error(ErrorCode.UNKNOWN_TOPIC_ID) : describeTopic(ctx, byId);
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
