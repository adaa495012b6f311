/**
 * The cluster side of the admin and metadata handlers (with `--etcd`): what
 * Metadata, CreateTopics, CreatePartitions, DeleteTopics, DescribeCluster,
 * ElectLeaders and FindCoordinator answer from the metadata cache, and the
 * requests they hand to the controller through etcd. Each handler calls in
 * here when `ctx.broker.cluster` is set and keeps its single-node path
 * otherwise.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type { MetadataResponse } from "../../protocol/messages/metadata.ts";
import { ZERO_UUID } from "../../protocol/primitives.ts";
import type { RequestContext } from "../context.ts";
import { KafkaError } from "../kafka_error.ts";
import { validateTopicName } from "../topics.ts";
import { AclOperation, ResourceType } from "../security/acl.ts";
import { authorizeQuietly, authorizeTopic, authorizeTopicCreation } from "../security/authorize.ts";
import type { ClusterNode } from "../cluster/cluster_node.ts";
import type { CachedBroker } from "../cluster/metadata_cache.ts";
import type { ClusterConfig } from "../config.ts";
import type { Topic } from "../topics.ts";
import { TopicConfigError, validateTopicConfig } from "../topic_config.ts";

type TopicResponse = MetadataResponse["topics"][number];

/** Kafka's internal topic of group offsets. */
export const OFFSETS_TOPIC = "__consumer_offsets";
/** Kafka's "authorized operations were not asked for". */
const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

/** The broker's cluster membership and settings (only called when both are set). */
export function clusterOf(ctx: RequestContext): { node: ClusterNode; config: ClusterConfig } {
  return { node: ctx.broker.cluster!, config: ctx.broker.config.cluster! };
}

/**
 * Where a broker takes connections on the listener the client came through (Kafka answers
 * each listener with the same listener's addresses); its main address when it has no such one.
 */
export function endpointFor(
  ctx: RequestContext,
  broker: CachedBroker,
): { host: string; port: number } {
  const name = ctx.connection.listenerName;
  const listener = broker.registration.listeners.find((l) => l.name === name);
  return listener === undefined
    ? { host: broker.host, port: broker.port }
    : { host: listener.host, port: listener.port };
}

/** Every live broker, by node id, at the client's listener. */
export function liveBrokers(ctx: RequestContext) {
  return [...clusterOf(ctx).node.cache.brokers.values()]
    .sort((a, b) => a.nodeId - b.nodeId)
    .map((b) => ({ nodeId: b.nodeId, ...endpointFor(ctx, b), rack: b.rack ?? null }));
}

/** The active controller's id, or -1 while there is none. */
export function controllerId(ctx: RequestContext): number {
  return clusterOf(ctx).node.cache.controller?.nodeId ?? -1;
}

/** One topic as Metadata describes it from the cluster's view. */
export function describeClusterTopic(ctx: RequestContext, name: string): TopicResponse | undefined {
  const { node } = clusterOf(ctx);
  const cached = node.cache.topics.get(name);
  if (cached === undefined) return undefined;
  const live = node.cache.brokers;
  const states = node.cache.topicPartitions(name);
  const whole = states.length === cached.record.assignment.length;
  return {
    errorCode: whole ? ErrorCode.NONE : ErrorCode.LEADER_NOT_AVAILABLE,
    name,
    topicId: cached.record.id,
    isInternal: name === OFFSETS_TOPIC || name === "__transaction_state",
    partitions: states.map((s) => {
      const led = s.leader >= 0 && live.has(s.leader);
      return {
        errorCode: led ? ErrorCode.NONE : ErrorCode.LEADER_NOT_AVAILABLE,
        partitionIndex: s.partition,
        leaderId: led ? s.leader : -1,
        leaderEpoch: s.leaderEpoch,
        replicaNodes: [...s.replicas],
        isrNodes: [...s.isr],
        offlineReplicas: s.replicas.filter((id) => !live.has(id)),
      };
    }),
    topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
  };
}

/** Metadata's topics in a cluster: all of them, or the ones asked for (auto-created if allowed). */
export async function clusterMetadataTopics(
  ctx: RequestContext,
  requested: readonly { name: string | null; topicId: string }[] | null,
  allowAutoCreate: boolean,
): Promise<TopicResponse[]> {
  const { node } = clusterOf(ctx);
  if (requested === null) {
    return [...node.cache.topics.keys()].sort()
      .filter((n) => authorizeQuietly(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, n))
      .flatMap((n) => describeClusterTopic(ctx, n) ?? []);
  }
  const result: TopicResponse[] = [];
  for (const t of requested) {
    const error = (errorCode: number): TopicResponse => ({
      errorCode,
      name: t.name ?? "",
      topicId: t.topicId,
      isInternal: false,
      partitions: [],
      topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
    });
    if (t.name === null) {
      const byId = [...node.cache.topics.values()].find((c) => c.record.id === t.topicId);
      if (byId === undefined) result.push(error(ErrorCode.UNKNOWN_TOPIC_ID));
      else if (!authorizeTopic(ctx, AclOperation.DESCRIBE, byId.name)) {
        result.push(error(ErrorCode.TOPIC_AUTHORIZATION_FAILED));
      } else result.push(describeClusterTopic(ctx, byId.name)!);
      continue;
    }
    // Kafka does not say whether a topic the principal may not describe exists.
    if (!authorizeTopic(ctx, AclOperation.DESCRIBE, t.name)) {
      result.push(error(ErrorCode.TOPIC_AUTHORIZATION_FAILED));
      continue;
    }
    const known = describeClusterTopic(ctx, t.name);
    if (known !== undefined) {
      result.push(known);
      continue;
    }
    result.push(error(await autoCreate(ctx, t.name, allowAutoCreate)));
  }
  return result;
}

/** Asks the controller for a topic Metadata named; LEADER_NOT_AVAILABLE while it is created. */
async function autoCreate(ctx: RequestContext, name: string, allowed: boolean): Promise<number> {
  try {
    validateTopicName(name);
  } catch (e) {
    if (e instanceof KafkaError) return e.code;
    throw e;
  }
  if (!allowed || !ctx.broker.config.autoCreateTopics) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  if (!authorizeTopicCreation(ctx, name)) return ErrorCode.TOPIC_AUTHORIZATION_FAILED;
  const { node, config } = clusterOf(ctx);
  const failure = await node.admin.requestTopic(name, {
    partitions: ctx.broker.config.defaultPartitions,
    replicationFactor: config.defaultReplicationFactor,
    assignment: null,
    configs: {},
  });
  return failure?.code ?? ErrorCode.LEADER_NOT_AVAILABLE;
}

/** A CreateTopics entry in a cluster: checked here, created by the controller. */
export async function clusterCreateTopic(
  ctx: RequestContext,
  t: {
    name: string;
    numPartitions: number;
    replicationFactor: number;
    assignments: readonly { partitionIndex: number; brokerIds: readonly number[] }[];
  },
  overrides: Record<string, string>,
  options: { validateOnly: boolean; timeoutMs: number },
): Promise<{ id: string; partitions: number; replicationFactor: number }> {
  const { node, config } = clusterOf(ctx);
  validateTopicName(t.name);
  if (node.cache.topics.has(t.name)) {
    throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic "${t.name}" already exists.`);
  }
  let assignment: number[][] | null = null;
  let partitions = t.numPartitions === -1 ? ctx.broker.config.defaultPartitions : t.numPartitions;
  let replicationFactor = t.replicationFactor === -1
    ? config.defaultReplicationFactor
    : t.replicationFactor;
  if (t.assignments.length > 0) {
    if (t.numPartitions !== -1 || t.replicationFactor !== -1) {
      throw new KafkaError(
        ErrorCode.INVALID_REQUEST,
        "Both numPartitions or replicationFactor and replicasAssignments were set.",
      );
    }
    assignment = [...t.assignments].sort((a, b) => a.partitionIndex - b.partitionIndex)
      .map((a, i) => {
        if (a.partitionIndex !== i) {
          throw new KafkaError(
            ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            "Partitions should be a consecutive 0-based integer sequence.",
          );
        }
        return [...a.brokerIds];
      });
    partitions = assignment.length;
    replicationFactor = assignment[0].length;
  } else if (replicationFactor > node.cache.brokers.size || replicationFactor < 1) {
    throw new KafkaError(
      ErrorCode.INVALID_REPLICATION_FACTOR,
      replicationFactor < 1
        ? "Replication factor must be larger than 0, or -1 to use the default value."
        : `Replication factor: ${replicationFactor} larger than available brokers: ${node.cache.brokers.size}.`,
    );
  }
  // The local registry checks the name, count and configs (not existence: the cluster decides).
  const checked = ctx.broker.topics.get(t.name) === undefined
    ? ctx.broker.topics.validateCreate(t.name, partitions, overrides)
    : overrides;
  if (!options.validateOnly) {
    const outcome = await node.admin.createTopic(t.name, {
      partitions,
      replicationFactor,
      assignment,
      configs: checked,
    }, Math.max(0, options.timeoutMs));
    if (outcome !== undefined) throw new KafkaError(outcome.code, outcome.message);
  }
  const id = node.cache.topics.get(t.name)?.record.id ?? ZERO_UUID;
  return { id, partitions, replicationFactor };
}

/** A CreatePartitions entry in a cluster. */
export async function clusterCreatePartitions(
  ctx: RequestContext,
  t: {
    name: string;
    count: number;
    assignments: readonly { brokerIds: readonly number[] }[] | null;
  },
  options: { validateOnly: boolean; timeoutMs: number },
): Promise<void> {
  const { node } = clusterOf(ctx);
  const cached = node.cache.topics.get(t.name);
  if (cached === undefined) {
    throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic "${t.name}" does not exist.`);
  }
  const current = cached.record.assignment.length;
  if (t.count <= current) {
    throw new KafkaError(
      ErrorCode.INVALID_PARTITIONS,
      `Topic currently has ${current} partitions, which is higher than the requested ${t.count}.`,
    );
  }
  if (t.assignments !== null && t.assignments.length !== t.count - current) {
    throw new KafkaError(
      ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      `Attempted to add ${
        t.count - current
      } additional partition(s), but only ${t.assignments.length} assignment(s) were specified.`,
    );
  }
  if (options.validateOnly) return;
  const outcome = await node.admin.createPartitions(t.name, {
    count: t.count,
    assignment: t.assignments?.map((a) => [...a.brokerIds]) ?? null,
  }, Math.max(0, options.timeoutMs));
  if (outcome !== undefined) throw new KafkaError(outcome.code, outcome.message);
}

/** A DeleteTopics entry in a cluster, by name or id. */
export async function clusterDeleteTopic(
  ctx: RequestContext,
  name: string | null,
  topicId: string,
  timeoutMs: number,
): Promise<
  { name: string | null; topicId: string; errorCode: number; errorMessage: string | null }
> {
  const { node } = clusterOf(ctx);
  const cached = name !== null
    ? node.cache.topics.get(name)
    : [...node.cache.topics.values()].find((c) => c.record.id === topicId);
  if (cached === undefined || (topicId !== ZERO_UUID && cached.record.id !== topicId)) {
    const byId = name === null;
    return {
      name,
      topicId,
      errorCode: byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      errorMessage: byId
        ? `Topic id ${topicId} does not exist.`
        : `Topic "${name}" does not exist.`,
    };
  }
  const outcome = await node.admin.deleteTopic(cached.name, Math.max(0, timeoutMs));
  return {
    name: cached.name,
    topicId: cached.record.id,
    errorCode: outcome?.code ?? ErrorCode.NONE,
    errorMessage: outcome?.message ?? null,
  };
}

/**
 * AlterConfigs / IncrementalAlterConfigs of a topic in a cluster: the new overrides are
 * computed from the cluster's (through `overrides`, which reads `topic.overrides`), checked
 * here (by the local logs too when this broker hosts the topic), stored by the controller,
 * and applied by every broker hosting it when it sees them; throws KafkaError.
 */
export async function clusterAlterTopicConfigs(
  ctx: RequestContext,
  name: string,
  validateOnly: boolean,
  overrides: (topic: Topic) => Record<string, string>,
): Promise<void> {
  const { node } = clusterOf(ctx);
  const cached = node.cache.topics.get(name);
  if (cached === undefined) {
    throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic "${name}" does not exist.`);
  }
  const local = ctx.broker.topics.get(name);
  const current = { ...cached.record.configs };
  // The cluster's overrides are the truth (a hosting broker's are a copy of them).
  const next = overrides({ name, overrides: current } as unknown as Topic);
  const checked: Record<string, string> = {};
  for (const [key, value] of Object.entries(next)) {
    try {
      checked[key] = validateTopicConfig(key, value);
    } catch (e) {
      if (e instanceof TopicConfigError) throw new KafkaError(ErrorCode.INVALID_CONFIG, e.message);
      throw e;
    }
  }
  if (local !== undefined) ctx.broker.topics.alterConfigs(local, checked, true);
  if (validateOnly) return;
  const outcome = await node.admin.alterTopicConfigs(name, checked, ALTER_CONFIGS_TIMEOUT_MS);
  if (outcome !== undefined) throw new KafkaError(outcome.code, outcome.message);
}

/** How long AlterConfigs waits for the controller (the request has no timeout of its own). */
const ALTER_CONFIGS_TIMEOUT_MS = 30_000;
