/**
 * The replication metrics on a broker's `/metrics` (registered by
 * `startReplication`): ISR shrinks and expands made as a leader (Kafka's
 * IsrShrinksPerSec / IsrExpandsPerSec) and each follower's lag behind the
 * leader's log end, read at scrape time from the replica manager.
 *
 * @module
 */
import type { MetricsRegistry } from "../metrics/registry.ts";
import type { ReplicaManager } from "./replica_manager.ts";

/**
 * The replication metrics on the broker's `/metrics`: ISR shrinks and expands, and each
 * follower's lag behind the leader's log end (read at scrape time from the current manager).
 */
export function registerReplicationMetrics(
  registry: MetricsRegistry,
  manager: () => ReplicaManager | undefined,
): void {
  const one = (read: (m: ReplicaManager) => number) => () => {
    const m = manager();
    return m === undefined ? [] : [{ labels: {}, value: read(m) }];
  };
  registry.gauge(
    "denka_isr_shrinks_total",
    "ISR shrinks made by this broker as a leader.",
    one((m) => m.isrShrinkCount),
    "counter",
  );
  registry.gauge(
    "denka_isr_expands_total",
    "ISR expansions made by this broker as a leader.",
    one((m) => m.isrExpandCount),
    "counter",
  );
  registry.gauge(
    "denka_follower_lag_offsets",
    "Offsets a follower's last fetch was behind the leader's log end (-1: none yet), by partition and replica.",
    () =>
      manager()?.followerLags().map((l) => ({
        labels: { topic: l.topic, partition: String(l.partition), replica: String(l.replicaId) },
        value: l.lagOffsets,
      })) ?? [],
  );
}
