/**
 * Clusters, topics and partitions (Confluent REST Proxy v3 shapes):
 *
 * - `GET /v3/clusters`, `GET /v3/clusters/{cluster_id}`
 * - `GET|POST /v3/clusters/{cluster_id}/topics`, `GET|DELETE .../topics/{topic_name}`
 * - `PATCH .../topics/{topic_name}` with `{"partitions_count": N}`: raises the partition count
 *   (Confluent's "Update Partition Count"; the same step as CreatePartitions)
 * - `GET .../topics/{topic_name}/partitions`, `GET .../partitions/{partition_id}`
 *
 * Partitions carry Denka's additions: `log_start_offset`, `high_watermark`,
 * `size_bytes`, `segment_count`, and (see `routes_brokers.ts`) `leader_id`,
 * `leader_epoch`, `replica_ids`, `isr_ids`.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { AclOperation, ResourceType } from "../security/acl.ts";
import { mayAccess, requireTopicCreate } from "./access.ts";
import { KafkaError } from "../kafka_error.ts";
import type { Partition, Topic } from "../topics.ts";
import { HttpError, HttpErrorCode } from "./codec.ts";
import type { HttpContext } from "./context.ts";
import { replicaView } from "./routes_brokers.ts";
import {
  checkCluster,
  CLUSTER_PATH,
  clusterUrl,
  partitionOf,
  readObject,
  reply,
  topicOf,
} from "./route_util.ts";

/** The v3 view of a topic. */
export function topicBody(c: Context, ctx: HttpContext, topic: Topic): Record<string, unknown> {
  const clusterId = ctx.broker.config.clusterId;
  const self = `${clusterUrl(c, clusterId)}/topics/${topic.name}`;
  let sizeBytes = 0;
  for (const p of topic.partitions) sizeBytes += p.log.sizeBytes;
  return {
    kind: "KafkaTopic",
    metadata: { self, resource_name: `crn:///kafka=${clusterId}/topic=${topic.name}` },
    cluster_id: clusterId,
    topic_name: topic.name,
    topic_id: topic.id,
    is_internal: topic.internal,
    replication_factor: replicaView(ctx, topic.name, 0)?.replicas.length ?? 1,
    partitions_count: topic.partitions.length,
    partitions: { related: `${self}/partitions` },
    configs: { related: `${self}/configs` },
    partition_reassignments: { related: `${self}/partitions/-/reassignment` },
    size_bytes: sizeBytes,
  };
}

/** The v3 view of a partition, with offsets and sizes. */
export function partitionBody(c: Context, ctx: HttpContext, p: Partition): Record<string, unknown> {
  const clusterId = ctx.broker.config.clusterId;
  const self = `${clusterUrl(c, clusterId)}/topics/${p.topic.name}/partitions/${p.index}`;
  const view = replicaView(ctx, p.topic.name, p.index);
  const leaderId = view?.leader ?? -1;
  return {
    kind: "KafkaPartition",
    metadata: {
      self,
      resource_name: `crn:///kafka=${clusterId}/topic=${p.topic.name}/partition=${p.index}`,
    },
    cluster_id: clusterId,
    topic_name: p.topic.name,
    partition_id: p.index,
    leader: leaderId < 0 ? null : { related: `${self}/replicas/${leaderId}` },
    replicas: { related: `${self}/replicas` },
    leader_id: leaderId,
    leader_epoch: view?.leaderEpoch ?? 0,
    replica_ids: view?.replicas ?? [],
    isr_ids: view?.isr ?? [],
    reassignment: { related: `${self}/reassignment` },
    log_start_offset: p.log.logStartOffset,
    high_watermark: p.log.highWatermark,
    last_stable_offset: p.log.lastStableOffset,
    size_bytes: p.log.sizeBytes,
    segment_count: p.log.segmentCount,
  };
}

function clusterBody(c: Context, ctx: HttpContext): Record<string, unknown> {
  const { clusterId, nodeId } = ctx.broker.config;
  const self = clusterUrl(c, clusterId);
  return {
    kind: "KafkaCluster",
    metadata: { self, resource_name: `crn:///kafka=${clusterId}` },
    cluster_id: clusterId,
    controller: { related: `${self}/brokers/${nodeId}` },
    brokers: { related: `${self}/brokers` },
    topics: { related: `${self}/topics` },
    consumer_groups: { related: `${self}/consumer-groups` },
  };
}

function list(kind: string, self: string, data: unknown[]): Record<string, unknown> {
  return { kind, metadata: { self, next: null }, data };
}

/** Mounts the cluster, topic and partition routes. */
export function topicRoutes(app: Hono, ctx: HttpContext): void {
  app.get(
    "/v3/clusters",
    (c) => reply(c, 200, list("KafkaClusterList", c.req.url, [clusterBody(c, ctx)])),
  );
  app.get(CLUSTER_PATH, (c) => {
    checkCluster(c, ctx);
    return reply(c, 200, clusterBody(c, ctx));
  });
  app.get(`${CLUSTER_PATH}/topics`, (c) => {
    checkCluster(c, ctx);
    const data = ctx.broker.topics.list()
      .filter((t) => mayAccess(c, AclOperation.DESCRIBE, ResourceType.TOPIC, t.name))
      .map((t) => topicBody(c, ctx, t));
    return reply(c, 200, list("KafkaTopicList", c.req.url, data));
  });
  app.post(`${CLUSTER_PATH}/topics`, async (c) => {
    checkCluster(c, ctx);
    const body = await readObject(c, ctx);
    if (typeof body.topic_name === "string") requireTopicCreate(c, body.topic_name);
    const topic = createTopic(ctx, body);
    return reply(c, 201, topicBody(c, ctx, topic));
  });
  app.get(
    `${CLUSTER_PATH}/topics/:topic_name`,
    (c) => reply(c, 200, topicBody(c, ctx, topicOf(c, ctx, AclOperation.DESCRIBE))),
  );
  app.delete(`${CLUSTER_PATH}/topics/:topic_name`, (c) => {
    const topic = topicOf(c, ctx, AclOperation.DELETE);
    ctx.broker.topics.delete(topic.name);
    ctx.metrics.forgetTopic(topic.name);
    return reply(c, 204, null);
  });
  app.patch(`${CLUSTER_PATH}/topics/:topic_name`, async (c) => {
    const topic = topicOf(c, ctx, AclOperation.ALTER);
    const body = await readObject(c, ctx);
    raisePartitions(ctx, topic, body);
    return reply(c, 200, topicBody(c, ctx, topic));
  });
  app.get(`${CLUSTER_PATH}/topics/:topic_name/partitions`, (c) => {
    const topic = topicOf(c, ctx, AclOperation.DESCRIBE);
    const data = topic.partitions.map((p) => partitionBody(c, ctx, p));
    return reply(c, 200, list("KafkaPartitionList", c.req.url, data));
  });
  app.get(
    `${CLUSTER_PATH}/topics/:topic_name/partitions/:partition_id`,
    (c) => reply(c, 200, partitionBody(c, ctx, partitionOf(c, ctx, AclOperation.DESCRIBE))),
  );
}

function createTopic(ctx: HttpContext, body: Record<string, unknown>): Topic {
  const wrong = (message: string) => new HttpError(400, HttpErrorCode.WRONG_TYPE, message);
  const name = body.topic_name;
  if (typeof name !== "string") throw wrong(`Field "topic_name" must be a string.`);
  const count = body.partitions_count ?? ctx.broker.config.defaultPartitions;
  if (!Number.isInteger(count)) throw wrong(`Field "partitions_count" must be an integer.`);
  const rf = body.replication_factor;
  if (rf !== undefined && rf !== null && rf !== 1 && rf !== -1) {
    throw new HttpError(
      400,
      HttpErrorCode.INVALID_TOPIC,
      `Replication factor ${JSON.stringify(rf)} is larger than the 1 broker available.`,
    );
  }
  const configs = body.configs ?? [];
  if (!Array.isArray(configs)) throw wrong(`Field "configs" must be an array.`);
  const overrides: Record<string, string> = {};
  configs.forEach((entry, i) => {
    const ok = typeof entry === "object" && entry !== null && typeof entry.name === "string" &&
      (typeof entry.value === "string" || typeof entry.value === "number");
    if (!ok) throw wrong(`Field "configs[${i}]" must be {name: string, value: string}.`);
    overrides[entry.name] = String(entry.value);
  });
  try {
    return ctx.broker.topics.create(name, count as number, overrides);
  } catch (e) {
    if (!(e instanceof KafkaError)) throw e;
    if (e.code === ErrorCode.TOPIC_ALREADY_EXISTS) {
      throw new HttpError(409, HttpErrorCode.TOPIC_EXISTS, e.message);
    }
    throw new HttpError(400, HttpErrorCode.INVALID_TOPIC, e.message);
  }
}

function raisePartitions(ctx: HttpContext, topic: Topic, body: Record<string, unknown>): void {
  const count = body.partitions_count;
  if (!Number.isInteger(count)) {
    throw new HttpError(
      400,
      HttpErrorCode.WRONG_TYPE,
      `Field "partitions_count" must be an integer.`,
    );
  }
  try {
    ctx.broker.topics.addPartitions(topic, count as number);
  } catch (e) {
    if (!(e instanceof KafkaError)) throw e;
    throw new HttpError(400, HttpErrorCode.INVALID_TOPIC, e.message);
  }
}
