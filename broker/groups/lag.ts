/**
 * Consumer lag: for every partition a group has committed, the partition's
 * high watermark minus the committed offset (never below 0). Computed on
 * demand from the live logs, for metrics and admin endpoints.
 *
 * @module
 */
import type { Group } from "./group.ts";

/** How the coordinator sees the broker's partitions. */
export interface PartitionLookup {
  /** The partition's high watermark, or undefined when the topic or partition does not exist. */
  highWatermark(topic: string, partition: number): number | undefined;
}

/**
 * The lag of one partition behind the offset a group committed for it (partitions without a
 * commit have none; compare `PartitionLagWithOwner` of the HTTP views, which also counts them).
 */
export interface CommittedOffsetLag {
  readonly topic: string;
  readonly partition: number;
  readonly committedOffset: number;
  readonly highWatermark: number;
  /** `max(0, highWatermark − committedOffset)`. */
  readonly lag: number;
}

/** Lag of every committed partition of `group` whose topic still exists, in topic/partition order. */
export function groupLag(group: Group, partitions: PartitionLookup): CommittedOffsetLag[] {
  const lags: CommittedOffsetLag[] = [];
  const topics = [...group.offsets.keys()].sort();
  for (const topic of topics) {
    const byPartition = group.offsets.get(topic)!;
    for (const partition of [...byPartition.keys()].sort((a, b) => a - b)) {
      const highWatermark = partitions.highWatermark(topic, partition);
      if (highWatermark === undefined) continue;
      const committedOffset = byPartition.get(partition)!.offset;
      const lag = Math.max(0, highWatermark - committedOffset);
      lags.push({ topic, partition, committedOffset, highWatermark, lag });
    }
  }
  return lags;
}

/** The group's total lag over its committed partitions. */
export function totalLag(lags: readonly CommittedOffsetLag[]): number {
  return lags.reduce((sum, l) => sum + l.lag, 0);
}
