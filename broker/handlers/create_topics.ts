/**
 * CreateTopics (key 19): validate names, partition counts, replication
 * (one node: factor 1 or -1) and configs by Kafka name; `validateOnly`
 * checks without creating. Needs CREATE on the CLUSTER or the topic; the
 * configs are answered only with DESCRIBE_CONFIGS on the topic, as in Kafka.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type {
  CreateTopicsRequest,
  CreateTopicsResponse,
} from "../../protocol/messages/create_topics.ts";
import { ZERO_UUID } from "../../protocol/primitives.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { createTopicsApi } from "../../protocol/messages/mod.ts";
import { KafkaError } from "../kafka_error.ts";
import type { TopicConfigs } from "../topic_config.ts";
import { describeTopicConfigs } from "./describe_configs.ts";
import { clusterCreateTopic } from "./_cluster.ts";
import { AclOperation } from "../security/acl.ts";
import {
  AuthorizationMessage,
  authorizeTopic,
  authorizeTopicCreation,
} from "../security/authorize.ts";

type TopicResult = CreateTopicsResponse["topics"][number];
type Creatable = CreateTopicsRequest["topics"][number];

export const createTopicsHandler: ApiHandler = defineHandler(createTopicsApi, {
  minVersion: 0,
  maxVersion: 7,
  handle(
    ctx: RequestContext,
    request: CreateTopicsRequest,
  ): CreateTopicsResponse | Promise<CreateTopicsResponse> {
    if (ctx.broker.cluster !== undefined) return createInCluster(ctx, request);
    const counts = new Map<string, number>();
    for (const t of request.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((t): TopicResult => {
        if (counts.get(t.name)! > 1) {
          return failed(t.name, ErrorCode.INVALID_REQUEST, `Topic "${t.name}" appears twice.`);
        }
        if (!authorizeTopicCreation(ctx, t.name)) {
          return failed(
            t.name,
            ErrorCode.TOPIC_AUTHORIZATION_FAILED,
            AuthorizationMessage.TOPIC,
          );
        }
        try {
          const created = createOne(ctx, t, request.validateOnly);
          if (authorizeTopic(ctx, AclOperation.DESCRIBE_CONFIGS, t.name)) return created;
          return {
            ...created,
            topicConfigErrorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
            numPartitions: -1,
            replicationFactor: -1,
            configs: [],
          };
        } catch (e) {
          if (e instanceof KafkaError) return failed(t.name, e.code, e.message);
          throw e;
        }
      }),
    };
  },
});

/** CreateTopics in a cluster: each topic checked here and created by the controller. */
async function createInCluster(
  ctx: RequestContext,
  request: CreateTopicsRequest,
): Promise<CreateTopicsResponse> {
  const counts = new Map<string, number>();
  for (const t of request.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
  const topics = await Promise.all(request.topics.map(async (t): Promise<TopicResult> => {
    if (counts.get(t.name)! > 1) {
      return failed(t.name, ErrorCode.INVALID_REQUEST, `Topic "${t.name}" appears twice.`);
    }
    if (!authorizeTopicCreation(ctx, t.name)) {
      return failed(t.name, ErrorCode.TOPIC_AUTHORIZATION_FAILED, AuthorizationMessage.TOPIC);
    }
    try {
      const overrides: TopicConfigs = {};
      for (const c of t.configs) {
        if (c.value === null) {
          throw new KafkaError(ErrorCode.INVALID_CONFIG, `Config "${c.name}" has a null value.`);
        }
        overrides[c.name] = c.value;
      }
      const created = await clusterCreateTopic(ctx, t, overrides, request);
      if (!authorizeTopic(ctx, AclOperation.DESCRIBE_CONFIGS, t.name)) {
        return {
          ...failed(t.name, ErrorCode.NONE, ""),
          topicId: created.id,
          errorMessage: null,
          topicConfigErrorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
          configs: [],
        };
      }
      const effective = { ...ctx.broker.topics.defaults, ...overrides };
      return {
        name: t.name,
        topicId: created.id,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        topicConfigErrorCode: ErrorCode.NONE,
        numPartitions: created.partitions,
        replicationFactor: created.replicationFactor,
        configs: describeTopicConfigs(
          effective,
          overrides,
          (brokerKey) => ctx.broker.dynamicConfigs.synonyms(brokerKey),
        ).map((c) => ({
          name: c.name,
          value: c.value,
          readOnly: c.readOnly,
          configSource: c.configSource,
          isSensitive: false,
        })),
      };
    } catch (e) {
      if (e instanceof KafkaError) return failed(t.name, e.code, e.message);
      throw e;
    }
  }));
  return { throttleTimeMs: 0, topics };
}

function createOne(ctx: RequestContext, t: Creatable, validateOnly: boolean): TopicResult {
  const registry = ctx.broker.topics;
  const nodeId = ctx.broker.config.nodeId;
  let partitionCount = t.numPartitions === -1
    ? ctx.broker.config.defaultPartitions
    : t.numPartitions;
  if (t.assignments.length > 0) {
    if (t.numPartitions !== -1 || t.replicationFactor !== -1) {
      throw new KafkaError(
        ErrorCode.INVALID_REQUEST,
        "Both numPartitions or replicationFactor and replicasAssignments were set.",
      );
    }
    for (const a of t.assignments) {
      if (a.brokerIds.length !== 1 || a.brokerIds[0] !== nodeId) {
        throw new KafkaError(
          ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          `Partition ${a.partitionIndex} may only be assigned to node ${nodeId}.`,
        );
      }
    }
    partitionCount = t.assignments.length;
  } else if (t.replicationFactor !== -1 && t.replicationFactor !== 1) {
    throw new KafkaError(
      ErrorCode.INVALID_REPLICATION_FACTOR,
      `Replication factor: ${t.replicationFactor} larger than available brokers: 1.`,
    );
  }
  const overrides: TopicConfigs = {};
  for (const c of t.configs) {
    if (c.value === null) {
      throw new KafkaError(ErrorCode.INVALID_CONFIG, `Config "${c.name}" has a null value.`);
    }
    overrides[c.name] = c.value;
  }
  const checked = registry.validateCreate(t.name, partitionCount, overrides);
  const topicId = validateOnly ? ZERO_UUID : registry.create(t.name, partitionCount, checked).id;
  const effective = { ...registry.defaults, ...checked };
  return {
    name: t.name,
    topicId,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    topicConfigErrorCode: ErrorCode.NONE,
    numPartitions: partitionCount,
    replicationFactor: 1,
    configs: describeTopicConfigs(
      effective,
      checked,
      (brokerKey) => ctx.broker.dynamicConfigs.synonyms(brokerKey),
    ).map((c) => ({
      name: c.name,
      value: c.value,
      readOnly: c.readOnly,
      configSource: c.configSource,
      isSensitive: false,
    })),
  };
}

function failed(name: string, errorCode: number, errorMessage: string): TopicResult {
  return {
    name,
    topicId: ZERO_UUID,
    errorCode,
    errorMessage,
    topicConfigErrorCode: ErrorCode.NONE,
    numPartitions: -1,
    replicationFactor: -1,
    configs: null,
  };
}
