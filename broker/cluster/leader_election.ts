/**
 * The controller's partition state transitions (Kafka's
 * PartitionStateMachine and its leader election strategies), as pure
 * functions of a partition's stored state, its replicas and the live brokers.
 *
 * - Offline election: when the leader's broker is gone, the first replica
 *   (in assignment order) that is live and in the ISR leads; dead brokers
 *   leave the ISR. With no live ISR member the partition goes offline
 *   (leader -1, the ISR kept so a member that returns can lead cleanly),
 *   unless `unclean.leader.election.enable` lets any live replica lead.
 * - Preferred election: the first replica leads when it is live and in the ISR.
 * - Every leader change bumps the leader epoch; an ISR shrink alone does not.
 *
 * @module
 */
import type { PartitionRecord } from "./cluster_layout.ts";

/** The record after dead brokers are handled, or undefined when nothing changes. */
export function offlineTransition(
  record: PartitionRecord,
  replicas: readonly number[],
  live: ReadonlySet<number>,
  uncleanAllowed: boolean,
): Omit<PartitionRecord, "controllerEpoch"> | undefined {
  const liveIsr = record.isr.filter((id) => live.has(id));
  if (record.leader >= 0 && live.has(record.leader)) {
    if (liveIsr.length === record.isr.length) return undefined;
    return { leader: record.leader, leaderEpoch: record.leaderEpoch, isr: liveIsr };
  }
  const clean = replicas.find((id) => live.has(id) && record.isr.includes(id));
  if (clean !== undefined) {
    return { leader: clean, leaderEpoch: record.leaderEpoch + 1, isr: liveIsr };
  }
  if (uncleanAllowed) {
    const any = replicas.find((id) => live.has(id));
    if (any !== undefined) return { leader: any, leaderEpoch: record.leaderEpoch + 1, isr: [any] };
  }
  if (record.leader === -1) return undefined;
  return { leader: -1, leaderEpoch: record.leaderEpoch + 1, isr: record.isr };
}

/** Why an asked-for election does not happen (KIP-460's errors). */
export type ElectionRefusal = "not_needed" | "not_available";

/** KIP-460 preferred election: the first replica leads, if live and in the ISR. */
export function preferredTransition(
  record: PartitionRecord,
  replicas: readonly number[],
  live: ReadonlySet<number>,
): Omit<PartitionRecord, "controllerEpoch"> | ElectionRefusal {
  const preferred = replicas[0];
  if (record.leader === preferred) return "not_needed";
  if (!live.has(preferred) || !record.isr.includes(preferred)) return "not_available";
  return { leader: preferred, leaderEpoch: record.leaderEpoch + 1, isr: record.isr };
}

/** KIP-460 unclean election: only for a partition whose leader is gone. */
export function uncleanTransition(
  record: PartitionRecord,
  replicas: readonly number[],
  live: ReadonlySet<number>,
): Omit<PartitionRecord, "controllerEpoch"> | ElectionRefusal {
  if (record.leader >= 0 && live.has(record.leader)) return "not_needed";
  const next = offlineTransition(record, replicas, live, true);
  if (next === undefined || next.leader === -1) return "not_available";
  return next;
}

/**
 * Kafka's auto leader rebalance check: for each broker, the share of the
 * partitions it is preferred leader of that it does not lead; the partitions
 * of brokers above `imbalancePercent` whose preferred replica can lead now.
 */
export function imbalancedPartitions<P extends { replicas: readonly number[] }>(
  partitions: readonly (P & { record: PartitionRecord })[],
  live: ReadonlySet<number>,
  imbalancePercent: number,
): P[] {
  const byPreferred = new Map<number, (P & { record: PartitionRecord })[]>();
  for (const p of partitions) {
    const preferred = p.replicas[0];
    if (preferred === undefined) continue;
    const list = byPreferred.get(preferred) ?? [];
    list.push(p);
    byPreferred.set(preferred, list);
  }
  const result: P[] = [];
  for (const [preferred, list] of byPreferred) {
    if (!live.has(preferred)) continue;
    const notLed = list.filter((p) => p.record.leader !== preferred);
    if (notLed.length / list.length <= imbalancePercent / 100) continue;
    for (const p of notLed) {
      if (typeof preferredTransition(p.record, p.replicas, live) === "object") result.push(p);
    }
  }
  return result;
}
