/**
 * Consumer groups (Confluent REST Proxy v3 shapes), read from the
 * {@linkcode GroupSource}:
 *
 * - `GET .../consumer-groups`, `GET .../consumer-groups/{consumer_group_id}`
 * - `GET .../consumer-groups/{id}/consumers`
 * - `GET .../consumer-groups/{id}/lag-summary`, `GET .../consumer-groups/{id}/lags`
 *
 * @module
 */
import type { Context, Hono } from "hono";
import { AclOperation, ResourceType } from "../security/acl.ts";
import { mayAccess, requireAccess } from "./access.ts";
import { HttpError, HttpErrorCode } from "./codec.ts";
import type { HttpContext } from "./context.ts";
import { groupLags } from "../metrics/group_lag.ts";
import type { GroupView } from "../groups/group_source.ts";
import { checkCluster, CLUSTER_PATH, clusterUrl, reply } from "./route_util.ts";

const GROUP_PATH = `${CLUSTER_PATH}/consumer-groups/:consumer_group_id`;

/** The path's group (DESCRIBE GROUP, checked before the look-up), or 404. */
function groupOf(c: Context, ctx: HttpContext): GroupView {
  checkCluster(c, ctx);
  const id = c.req.param("consumer_group_id") ?? "";
  requireAccess(c, AclOperation.DESCRIBE, ResourceType.GROUP, id);
  const group = ctx.groups.listGroups().find((g) => g.groupId === id);
  if (group === undefined) {
    throw new HttpError(404, HttpErrorCode.UNKNOWN_GROUP, `Consumer group "${id}" does not exist.`);
  }
  return group;
}

/** The group's lags on the topics the caller may describe (OffsetFetch filters them so). */
function visibleLags(c: Context, ctx: HttpContext, g: GroupView): ReturnType<typeof groupLags> {
  return groupLags(g, ctx.broker.topics)
    .filter((l) => mayAccess(c, AclOperation.DESCRIBE, ResourceType.TOPIC, l.topic));
}

function groupBody(c: Context, ctx: HttpContext, g: GroupView): Record<string, unknown> {
  const clusterId = ctx.broker.config.clusterId;
  const self = `${clusterUrl(c, clusterId)}/consumer-groups/${encodeURIComponent(g.groupId)}`;
  const lags = visibleLags(c, ctx, g);
  return {
    kind: "KafkaConsumerGroup",
    metadata: { self, resource_name: `crn:///kafka=${clusterId}/consumer-group=${g.groupId}` },
    cluster_id: clusterId,
    consumer_group_id: g.groupId,
    is_simple: g.protocolType === "" && g.members.length === 0,
    partition_assignor: g.protocol,
    state: g.state.toUpperCase(),
    coordinator: { related: `${clusterUrl(c, clusterId)}/brokers/${ctx.broker.config.nodeId}` },
    consumers: { related: `${self}/consumers` },
    lag_summary: { related: `${self}/lag-summary` },
    // Denka's additions, so a list is enough for an overview.
    member_count: g.members.length,
    total_lag: lags.reduce((n, l) => n + l.lag, 0),
  };
}

/** Mounts the consumer-group routes. */
export function groupRoutes(app: Hono, ctx: HttpContext): void {
  app.get(`${CLUSTER_PATH}/consumer-groups`, (c) => {
    checkCluster(c, ctx);
    const data = ctx.groups.listGroups()
      .filter((g) => mayAccess(c, AclOperation.DESCRIBE, ResourceType.GROUP, g.groupId))
      .sort((a, b) => (a.groupId < b.groupId ? -1 : 1))
      .map((g) => groupBody(c, ctx, g));
    return reply(c, 200, {
      kind: "KafkaConsumerGroupList",
      metadata: { self: c.req.url, next: null },
      data,
    });
  });
  app.get(GROUP_PATH, (c) => reply(c, 200, groupBody(c, ctx, groupOf(c, ctx))));
  app.get(`${GROUP_PATH}/consumers`, (c) => {
    const g = groupOf(c, ctx);
    const clusterId = ctx.broker.config.clusterId;
    const data = g.members.map((m) => ({
      kind: "KafkaConsumer",
      cluster_id: clusterId,
      consumer_group_id: g.groupId,
      consumer_id: m.memberId,
      instance_id: m.instanceId,
      client_id: m.clientId,
      client_host: m.clientHost,
      assignments: m.assignments.map((a) => ({ topic_name: a.topic, partition_id: a.partition })),
    }));
    return reply(c, 200, {
      kind: "KafkaConsumerList",
      metadata: { self: c.req.url, next: null },
      data,
    });
  });
  app.get(`${GROUP_PATH}/lags`, (c) => {
    const g = groupOf(c, ctx);
    const clusterId = ctx.broker.config.clusterId;
    const data = visibleLags(c, ctx, g).map((l) => ({
      kind: "KafkaConsumerLag",
      cluster_id: clusterId,
      consumer_group_id: g.groupId,
      topic_name: l.topic,
      partition_id: l.partition,
      current_offset: l.committedOffset,
      log_end_offset: l.logEndOffset,
      lag: l.lag,
      consumer_id: l.memberId,
      client_id: l.clientId,
    }));
    return reply(c, 200, {
      kind: "KafkaConsumerLagList",
      metadata: { self: c.req.url, next: null },
      data,
    });
  });
  app.get(`${GROUP_PATH}/lag-summary`, (c) => {
    const g = groupOf(c, ctx);
    const lags = visibleLags(c, ctx, g);
    const max = lags.reduce<(typeof lags)[number] | undefined>(
      (best, l) => (best === undefined || l.lag > best.lag ? l : best),
      undefined,
    );
    return reply(c, 200, {
      kind: "KafkaConsumerGroupLagSummary",
      cluster_id: ctx.broker.config.clusterId,
      consumer_group_id: g.groupId,
      max_lag_consumer_id: max?.memberId ?? "",
      max_lag_client_id: max?.clientId ?? "",
      max_lag_topic_name: max?.topic ?? "",
      max_lag_partition_id: max?.partition ?? 0,
      max_lag: max?.lag ?? 0,
      total_lag: lags.reduce((n, l) => n + l.lag, 0),
    });
  });
}
