/**
 * Consumer lag: for each partition a group committed an offset for, or has
 * assigned to a member, the high watermark minus the committed offset (a
 * partition with no commit counts from the log start offset).
 *
 * @module
 */
import type { TopicRegistry } from "../topics.ts";
import type { GroupView } from "../groups/group_source.ts";

/**
 * The lag of one partition a group committed or a member is assigned, with the member that owns
 * it: without a commit it counts from the log start offset (compare `CommittedOffsetLag` of the
 * coordinator, which covers committed partitions only).
 */
export interface PartitionLagWithOwner {
  readonly topic: string;
  readonly partition: number;
  /** -1 when nothing was committed. */
  readonly committedOffset: number;
  readonly logEndOffset: number;
  readonly lag: number;
  /** The member the partition is assigned to, "" when none. */
  readonly memberId: string;
  readonly clientId: string;
}

/** Lag per partition of `group`, sorted by topic then partition; unknown partitions are left out. */
export function groupLags(group: GroupView, topics: TopicRegistry): PartitionLagWithOwner[] {
  const owner = new Map<string, { memberId: string; clientId: string }>();
  for (const m of group.members) {
    for (const a of m.assignments) {
      owner.set(`${a.topic}\u0000${a.partition}`, { memberId: m.memberId, clientId: m.clientId });
    }
  }
  const committed = new Map<string, number>();
  for (const o of group.offsets) committed.set(`${o.topic}\u0000${o.partition}`, o.committedOffset);
  const keys = new Set([...owner.keys(), ...committed.keys()]);
  const lags: PartitionLagWithOwner[] = [];
  for (const key of keys) {
    const [topic, partitionText] = key.split("\u0000");
    const partition = Number(partitionText);
    const log = topics.partition(topic, partition)?.log;
    if (log === undefined) continue;
    const committedOffset = committed.get(key) ?? -1;
    const from = committedOffset < 0 ? log.logStartOffset : committedOffset;
    lags.push({
      topic,
      partition,
      committedOffset,
      logEndOffset: log.highWatermark,
      lag: Math.max(0, log.highWatermark - from),
      memberId: owner.get(key)?.memberId ?? "",
      clientId: owner.get(key)?.clientId ?? "",
    });
  }
  return lags.sort((a, b) =>
    a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition
  );
}
