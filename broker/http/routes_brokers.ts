/**
 * Brokers and partition replicas (Confluent REST Proxy v3 shapes):
 *
 * - `GET /v3/clusters/{cluster_id}/brokers`, `GET .../brokers/{broker_id}`
 * - `GET .../brokers/{broker_id}/partition-replicas`: every replica the broker holds
 * - `GET .../topics/{topic_name}/partitions/{partition_id}/replicas`, `.../replicas/{broker_id}`
 * - `GET .../topics/-/partitions/-/reassignment` (every reassignment under way),
 *   `.../topics/{topic_name}/partitions/-/reassignment`, `.../partitions/{partition_id}/reassignment`
 *
 * In a cluster the answers come from this broker's metadata cache (the
 * brokers registered in etcd, each partition's replicas and ISR), so any
 * broker answers for every topic, including ones it holds no replica of; a
 * single node is the one broker, leading every partition. The same view
 * ({@linkcode replicaView}) gives the partitions route its leader link and
 * Denka's `leader_id`, `replica_ids` and `isr_ids`.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import { AclOperation, ResourceType } from "../security/acl.ts";
import { mayAccess, requireAccess } from "./access.ts";
import { HttpError, HttpErrorCode } from "./codec.ts";
import type { HttpContext } from "./context.ts";
import { checkCluster, CLUSTER_PATH, clusterUrl, reply } from "./route_util.ts";
import {
  ongoingReassignments,
  type ReassignmentView,
} from "../cluster/controller_reassignments.ts";

/** A partition's leader, replicas and in-sync replicas. */
export interface ReplicaView {
  /** The leader's node id; -1 when it has none (its broker is not registered). */
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
}

/** A broker as the API shows it. */
interface BrokerView {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
}

/** The partition's replica view, or undefined when the topic or partition is unknown. */
export function replicaView(
  ctx: HttpContext,
  topic: string,
  partition: number,
): ReplicaView | undefined {
  const node = ctx.broker.cluster;
  if (node === undefined) {
    const local = ctx.broker.topics.get(topic);
    if (local === undefined || local.partitions[partition] === undefined) return undefined;
    const nodeId = ctx.broker.config.nodeId;
    return { leader: nodeId, leaderEpoch: 0, replicas: [nodeId], isr: [nodeId] };
  }
  const state = node.cache.partitionState(topic, partition);
  if (state === undefined) return undefined;
  const leader = state.leader >= 0 && node.cache.brokers.has(state.leader) ? state.leader : -1;
  return { leader, leaderEpoch: state.leaderEpoch, replicas: state.replicas, isr: state.isr };
}

/** The partition count of `topic`: the cluster's, else the local one; undefined if unknown. */
function partitionCount(ctx: HttpContext, topic: string): number | undefined {
  const node = ctx.broker.cluster;
  if (node === undefined) return ctx.broker.topics.get(topic)?.partitions.length;
  return node.cache.topics.get(topic)?.record.assignment.length;
}

/** Every topic name: the cluster's, else the local ones. */
function topicNames(ctx: HttpContext): string[] {
  const node = ctx.broker.cluster;
  if (node === undefined) return ctx.broker.topics.list().map((t) => t.name).sort();
  return [...node.cache.topics.keys()].sort();
}

function brokers(ctx: HttpContext): BrokerView[] {
  const node = ctx.broker.cluster;
  if (node === undefined) {
    const { hostname, port } = ctx.broker.advertised();
    return [{ nodeId: ctx.broker.config.nodeId, host: hostname, port, rack: null }];
  }
  return [...node.cache.brokers.values()].sort((a, b) => a.nodeId - b.nodeId).map((b) => ({
    nodeId: b.nodeId,
    host: b.host,
    port: b.port,
    rack: b.rack ?? null,
  }));
}

function brokerBody(c: Context, clusterId: string, b: BrokerView): Record<string, unknown> {
  const self = `${clusterUrl(c, clusterId)}/brokers/${b.nodeId}`;
  return {
    kind: "KafkaBroker",
    metadata: { self, resource_name: `crn:///kafka=${clusterId}/broker=${b.nodeId}` },
    cluster_id: clusterId,
    broker_id: b.nodeId,
    host: b.host,
    port: b.port,
    rack: b.rack,
    partition_replicas: { related: `${self}/partition-replicas` },
  };
}

function replicaBody(
  c: Context,
  clusterId: string,
  at: { topic: string; partition: number; brokerId: number; view: ReplicaView },
): Record<string, unknown> {
  const { topic, partition, brokerId, view } = at;
  const base = clusterUrl(c, clusterId);
  return {
    kind: "KafkaReplica",
    metadata: {
      self: `${base}/topics/${topic}/partitions/${partition}/replicas/${brokerId}`,
      resource_name:
        `crn:///kafka=${clusterId}/topic=${topic}/partition=${partition}/replica=${brokerId}`,
    },
    cluster_id: clusterId,
    topic_name: topic,
    partition_id: partition,
    broker_id: brokerId,
    is_leader: view.leader === brokerId,
    is_in_sync: view.isr.includes(brokerId),
    broker: { related: `${base}/brokers/${brokerId}` },
  };
}

function list(kind: string, self: string, data: unknown[]): Record<string, unknown> {
  return { kind, metadata: { self, next: null }, data };
}

function intParam(c: Context, name: string, code: number, what: string): number {
  const text = c.req.param(name) ?? "";
  if (!/^\d{1,9}$/.test(text)) throw new HttpError(404, code, `${what} "${text}" does not exist.`);
  return Number(text);
}

function brokerOf(c: Context, ctx: HttpContext): BrokerView {
  const id = intParam(c, "broker_id", HttpErrorCode.NOT_FOUND, "Broker");
  const broker = brokers(ctx).find((b) => b.nodeId === id);
  if (broker === undefined) {
    throw new HttpError(404, HttpErrorCode.NOT_FOUND, `Broker "${id}" does not exist.`);
  }
  return broker;
}

/** The path's topic and partition with its view; 403 before 404 as in `topicOf`. */
function partitionViewOf(
  c: Context,
  ctx: HttpContext,
): { topic: string; partition: number; view: ReplicaView } {
  checkCluster(c, ctx);
  const topic = c.req.param("topic_name") ?? "";
  requireAccess(c, AclOperation.DESCRIBE, ResourceType.TOPIC, topic);
  if (partitionCount(ctx, topic) === undefined) {
    throw new HttpError(404, HttpErrorCode.UNKNOWN_TOPIC, `Topic "${topic}" does not exist.`);
  }
  const text = c.req.param("partition_id") ?? "";
  const partition = /^\d{1,9}$/.test(text) ? Number(text) : -1;
  const view = partition < 0 ? undefined : replicaView(ctx, topic, partition);
  if (view === undefined) {
    throw new HttpError(
      404,
      HttpErrorCode.UNKNOWN_PARTITION,
      `Topic "${topic}" has no partition "${text}".`,
    );
  }
  return { topic, partition, view };
}

function reassignmentBody(
  c: Context,
  clusterId: string,
  r: ReassignmentView,
): Record<string, unknown> {
  const self = `${clusterUrl(c, clusterId)}/topics/${r.topic}/partitions/${r.partition}`;
  return {
    kind: "KafkaReassignment",
    metadata: {
      self: `${self}/reassignment`,
      resource_name: `crn:///kafka=${clusterId}/topic=${r.topic}/partition=${r.partition}`,
    },
    cluster_id: clusterId,
    topic_name: r.topic,
    partition_id: r.partition,
    adding_replicas: r.addingReplicas,
    removing_replicas: r.removingReplicas,
    replicas: { related: `${self}/replicas` },
  };
}

/** Reassignments under way the caller may see, of one topic or (undefined) all. */
function reassignments(c: Context, ctx: HttpContext, topic?: string): ReassignmentView[] {
  const node = ctx.broker.cluster;
  if (node === undefined) return [];
  return ongoingReassignments(node.cache).filter((r) =>
    (topic === undefined || r.topic === topic) &&
    mayAccess(c, AclOperation.DESCRIBE, ResourceType.TOPIC, r.topic)
  );
}

/** Mounts the reassignment routes (Confluent's shapes; Denka has no "alter" route). */
function reassignmentRoutes(app: Hono, ctx: HttpContext): void {
  const clusterId = () => ctx.broker.config.clusterId;
  const answerList = (c: Context, topic?: string) =>
    reply(
      c,
      200,
      list(
        "KafkaReassignmentList",
        c.req.url,
        reassignments(c, ctx, topic).map((r) => reassignmentBody(c, clusterId(), r)),
      ),
    );
  app.get(`${CLUSTER_PATH}/topics/-/partitions/-/reassignment`, (c) => {
    checkCluster(c, ctx);
    return answerList(c);
  });
  app.get(`${CLUSTER_PATH}/topics/:topic_name/partitions/-/reassignment`, (c) => {
    checkCluster(c, ctx);
    const topic = c.req.param("topic_name") ?? "";
    requireAccess(c, AclOperation.DESCRIBE, ResourceType.TOPIC, topic);
    if (partitionCount(ctx, topic) === undefined) {
      throw new HttpError(404, HttpErrorCode.UNKNOWN_TOPIC, `Topic "${topic}" does not exist.`);
    }
    return answerList(c, topic);
  });
  app.get(`${CLUSTER_PATH}/topics/:topic_name/partitions/:partition_id/reassignment`, (c) => {
    const { topic, partition } = partitionViewOf(c, ctx);
    const found = reassignments(c, ctx, topic).find((r) => r.partition === partition);
    if (found === undefined) {
      throw new HttpError(
        404,
        HttpErrorCode.NOT_FOUND,
        `Partition "${partition}" of topic "${topic}" is not being reassigned.`,
      );
    }
    return reply(c, 200, reassignmentBody(c, clusterId(), found));
  });
}

/** Mounts the broker and replica routes. */
export function brokerRoutes(app: Hono, ctx: HttpContext): void {
  const clusterId = () => ctx.broker.config.clusterId;
  reassignmentRoutes(app, ctx);
  app.get(`${CLUSTER_PATH}/brokers`, (c) => {
    checkCluster(c, ctx);
    const data = brokers(ctx).map((b) => brokerBody(c, clusterId(), b));
    return reply(c, 200, list("KafkaBrokerList", c.req.url, data));
  });
  app.get(`${CLUSTER_PATH}/brokers/:broker_id`, (c) => {
    checkCluster(c, ctx);
    return reply(c, 200, brokerBody(c, clusterId(), brokerOf(c, ctx)));
  });
  app.get(`${CLUSTER_PATH}/brokers/:broker_id/partition-replicas`, (c) => {
    checkCluster(c, ctx);
    const brokerId = brokerOf(c, ctx).nodeId;
    const data: unknown[] = [];
    for (const topic of topicNames(ctx)) {
      if (!mayAccess(c, AclOperation.DESCRIBE, ResourceType.TOPIC, topic)) continue;
      for (let partition = 0; partition < (partitionCount(ctx, topic) ?? 0); partition++) {
        const view = replicaView(ctx, topic, partition);
        if (view === undefined || !view.replicas.includes(brokerId)) continue;
        data.push(replicaBody(c, clusterId(), { topic, partition, brokerId, view }));
      }
    }
    return reply(c, 200, list("KafkaReplicaList", c.req.url, data));
  });
  const replicasPath = `${CLUSTER_PATH}/topics/:topic_name/partitions/:partition_id/replicas`;
  app.get(replicasPath, (c) => {
    const { topic, partition, view } = partitionViewOf(c, ctx);
    const data = view.replicas.map((brokerId) =>
      replicaBody(c, clusterId(), { topic, partition, brokerId, view })
    );
    return reply(c, 200, list("KafkaReplicaList", c.req.url, data));
  });
  app.get(`${replicasPath}/:broker_id`, (c) => {
    const { topic, partition, view } = partitionViewOf(c, ctx);
    const brokerId = intParam(c, "broker_id", HttpErrorCode.NOT_FOUND, "Replica");
    if (!view.replicas.includes(brokerId)) {
      throw new HttpError(
        404,
        HttpErrorCode.NOT_FOUND,
        `Partition "${partition}" of topic "${topic}" has no replica on broker "${brokerId}".`,
      );
    }
    return reply(c, 200, replicaBody(c, clusterId(), { topic, partition, brokerId, view }));
  });
}
