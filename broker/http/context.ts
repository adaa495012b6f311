/**
 * What every route of the HTTP API sees: the broker's core state, the
 * metrics, the group source, readiness, limits, and a signal that aborts when
 * the HTTP server stops (live tails end on it).
 *
 * @module
 */
import type { BrokerCore } from "../context.ts";
import type { BrokerMetrics } from "../metrics/broker_metrics.ts";
import type { GroupSource } from "../groups/group_source.ts";

/** Shared by the routes of one HTTP server. */
export interface HttpContext {
  readonly broker: BrokerCore;
  readonly metrics: BrokerMetrics;
  readonly groups: GroupSource;
  /** Open Kafka connections. */
  connectionCount(): number;
  /** True once recovery finished and the Kafka listener is bound, until shutdown begins. */
  isReady(): boolean;
  /** Largest request body accepted. */
  readonly bodySizeBytesMax: number;
  /** Aborted when the HTTP server stops. */
  readonly signal: AbortSignal;
}
