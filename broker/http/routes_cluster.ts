/**
 * `GET /denka/v1/cluster`: the brokers, the controller and every
 * partition's leader, replicas and ISR, as this broker's metadata cache
 * holds them (a single node answers with itself, leading everything).
 *
 * @module
 */
import type { Hono } from "hono";
import type { HttpContext } from "./context.ts";
import { reply } from "./route_util.ts";

/** Mounts the cluster route. */
export function clusterRoutes(app: Hono, ctx: HttpContext): void {
  app.get("/denka/v1/cluster", (c) => {
    const broker = ctx.broker;
    const node = broker.cluster;
    if (node === undefined) {
      const { hostname, port } = broker.advertised();
      const nodeId = broker.config.nodeId;
      return reply(c, 200, {
        mode: "single",
        node_id: nodeId,
        controller: { node_id: nodeId, epoch: 0 },
        brokers: [{ node_id: nodeId, host: hostname, port, rack: null }],
      });
    }
    const cache = node.cache;
    const controller = cache.controller;
    return reply(c, 200, {
      mode: "cluster",
      node_id: node.nodeId,
      controller: controller === undefined
        ? null
        : { node_id: controller.nodeId, epoch: controller.epoch },
      brokers: [...cache.brokers.values()].sort((a, b) => a.nodeId - b.nodeId).map((b) => ({
        node_id: b.nodeId,
        host: b.host,
        port: b.port,
        rack: b.rack ?? null,
        registration_epoch: b.registrationEpoch,
      })),
      topics: [...cache.topics.keys()].sort().map((name) => ({
        name,
        id: cache.topics.get(name)!.record.id,
        partitions: cache.topicPartitions(name).map((s) => ({
          partition: s.partition,
          leader: s.leader >= 0 && cache.brokers.has(s.leader) ? s.leader : -1,
          leader_epoch: s.leaderEpoch,
          replicas: s.replicas,
          isr: s.isr,
          offline_replicas: s.replicas.filter((id) => !cache.brokers.has(id)),
        })),
      })),
    });
  });
}
