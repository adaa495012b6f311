/**
 * Operations: `GET /health/live` (the process answers), `GET /health/ready`
 * (200 once recovery finished and the Kafka listener is bound, 503 before
 * and while stopping), `GET /metrics` (Prometheus text format), and
 * `GET /denka/v1/throughput` (the console chart's history).
 *
 * @module
 */
import type { Hono } from "hono";
import { AclOperation, CLUSTER_RESOURCE_NAME, ResourceType } from "../security/acl.ts";
import { mayAccess, requireAccess } from "./access.ts";
import type { HttpContext } from "./context.ts";
import { reply } from "./route_util.ts";
import { THROUGHPUT_SAMPLE_MS, type ThroughputHistory } from "./throughput.ts";

/** Prometheus' text exposition content type. */
export const PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Mounts the operations routes. */
export function opsRoutes(
  app: Hono,
  ctx: HttpContext,
  history: ThroughputHistory,
  opsOpen: boolean,
): void {
  app.get("/health/live", (c) => reply(c, 200, { status: "live" }));
  app.get("/health/ready", (c) => {
    const ready = ctx.isReady();
    return reply(c, ready ? 200 : 503, { status: ready ? "ready" : "not ready" });
  });
  app.get("/metrics", (c) => {
    // Every topic and group by name: DESCRIBE CLUSTER, unless the route is open (--http-ops-auth none).
    if (!opsOpen) {
      requireAccess(c, AclOperation.DESCRIBE, ResourceType.CLUSTER, CLUSTER_RESOURCE_NAME);
    }
    return new Response(ctx.metrics.render(), { headers: { "content-type": PROMETHEUS_TYPE } });
  });
  app.get("/denka/v1/throughput", (c) =>
    reply(c, 200, {
      interval_ms: THROUGHPUT_SAMPLE_MS,
      samples: history.snapshot().map((s) => ({
        time_ms: s.timeMs,
        topics: Object.fromEntries(
          Object.entries(s.topics).filter(([name]) =>
            mayAccess(c, AclOperation.DESCRIBE, ResourceType.TOPIC, name)
          ).map(([name, v]) => [name, {
            end_offset: v.endOffset,
            bytes_in: v.bytesIn,
            bytes_out: v.bytesOut,
          }]),
        ),
      })),
    }));
}
