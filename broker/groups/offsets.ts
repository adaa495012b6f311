/**
 * Committed offsets (Kafka's OffsetCommit, OffsetFetch, OffsetDelete and
 * offset expiry): a commit is validated against the group's generation and
 * members, written to the group log and flushed, and only then applied in
 * memory and acknowledged, so an acknowledged offset survives any restart
 * and a failed write changes nothing.
 *
 * @module
 */
import { IoError } from "../../ffi/port.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import type { Logger } from "../../util/log.ts";
import { CONSUMER_PROTOCOL_TYPE } from "./consumer_protocol.ts";
import type { Group } from "./group.ts";
import type { PartitionLookup } from "./lag.ts";
import { type GroupSettings, type Membership, validateCurrentMember } from "./membership.ts";
import type { GroupLogRecord, GroupLogWriter } from "./offset_store.ts";
import {
  type CommittedOffset,
  encodeGroupKey,
  encodeOffsetKey,
  encodeOffsetValue,
} from "./records.ts";

/** What offset handling needs from the coordinator. */
export interface OffsetCore {
  readonly settings: GroupSettings;
  readonly logger: Logger;
  readonly membership: Membership;
  nowMs(): number;
  group(groupId: string, create: boolean): Group | undefined;
  changed(group: Group): void;
  forget(group: Group): void;
  maybeCompact(): void;
}

/** One partition of an OffsetCommit. */
export interface CommitPartition {
  readonly partitionIndex: number;
  readonly committedOffset: number;
  readonly committedLeaderEpoch: number;
  readonly committedMetadata: string | null;
}

/** An OffsetCommit, version differences resolved. */
export interface CommitRequest {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  /** v2-v4 retention time; -1 for the broker's retention. */
  readonly retentionTimeMs: number;
  readonly topics: readonly { name: string; partitions: readonly CommitPartition[] }[];
}

/** Per-partition error codes, by topic. */
export type PartitionErrors = {
  name: string;
  partitions: { partitionIndex: number; errorCode: number }[];
}[];

/** One partition of an OffsetFetch answer. */
export interface FetchedOffset {
  readonly partitionIndex: number;
  readonly committedOffset: number;
  readonly committedLeaderEpoch: number;
  readonly metadata: string;
  readonly errorCode: number;
}

/** See the module doc. */
export class OffsetOps {
  readonly #core: OffsetCore;
  readonly #store: GroupLogWriter;
  readonly #partitions: PartitionLookup;

  constructor(core: OffsetCore, store: GroupLogWriter, partitions: PartitionLookup) {
    this.#core = core;
    this.#store = store;
    this.#partitions = partitions;
  }

  /** OffsetCommit: per-partition error codes; valid partitions are durable before this returns. */
  commit(req: CommitRequest): PartitionErrors {
    const exists = (topic: string, p: number) =>
      this.#partitions.highWatermark(topic, p) !== undefined;
    let group = this.#core.group(req.groupId, false);
    const groupError = group === undefined
      ? (req.generationId < 0 ? ErrorCode.NONE : ErrorCode.ILLEGAL_GENERATION)
      : this.#validateCommit(group, req);
    const nowMs = this.#core.nowMs();
    const metadataMaxBytes = this.#core.settings.offsetMetadataMaxBytes;
    const accepted: { topic: string; partition: number; committed: CommittedOffset }[] = [];
    const results: PartitionErrors = req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        let errorCode = groupError;
        if (!exists(t.name, p.partitionIndex)) errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        else if (errorCode !== ErrorCode.NONE) { /* the group's error */ }
        else if (utf8Length(p.committedMetadata ?? "") > metadataMaxBytes) {
          errorCode = ErrorCode.OFFSET_METADATA_TOO_LARGE;
        } else {
          accepted.push({
            topic: t.name,
            partition: p.partitionIndex,
            committed: {
              offset: p.committedOffset,
              leaderEpoch: p.committedLeaderEpoch,
              metadata: p.committedMetadata ?? "",
              commitTimestampMs: nowMs,
              expireTimestampMs: req.retentionTimeMs >= 0 ? nowMs + req.retentionTimeMs : -1,
            },
          });
        }
        return { partitionIndex: p.partitionIndex, errorCode };
      }),
    }));
    if (accepted.length === 0) return results;
    try {
      this.#store.append(accepted.map((a) => ({
        key: encodeOffsetKey(req.groupId, a.topic, a.partition),
        value: encodeOffsetValue(a.committed),
      })));
    } catch (e) {
      if (!(e instanceof IoError)) throw e;
      this.#core.logger.warn(`Cannot store offsets of group "${req.groupId}": ${e.message}`);
      for (const t of results) {
        for (const p of t.partitions) {
          if (p.errorCode === ErrorCode.NONE) p.errorCode = ErrorCode.NOT_COORDINATOR;
        }
      }
      return results;
    }
    group ??= this.#core.group(req.groupId, true)!; // a simple consumer's first commit
    for (const a of accepted) group.setOffset(a.topic, a.partition, a.committed);
    this.#core.changed(group);
    this.#core.maybeCompact();
    return results;
  }

  /** Kafka's validateOffsetCommit plus the state checks of doCommitOffsets. */
  #validateCommit(group: Group, req: CommitRequest): number {
    if (group.is("Dead")) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (req.generationId >= 0 || req.memberId !== "" || req.groupInstanceId !== null) {
      const error = validateCurrentMember(group, req.memberId, req.groupInstanceId);
      if (error !== ErrorCode.NONE) return error;
      if (req.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    } else if (!group.is("Empty")) {
      return ErrorCode.UNKNOWN_MEMBER_ID; // only members commit to a group with members
    }
    if (group.is("CompletingRebalance")) return ErrorCode.REBALANCE_IN_PROGRESS;
    const member = group.members.get(req.memberId);
    if (member !== undefined) this.#core.membership.touch(group, member);
    return ErrorCode.NONE;
  }

  /** OffsetFetch for one group: `topics` null asks for every committed offset. */
  fetch(
    groupId: string,
    topics: readonly { name: string; partitionIndexes: readonly number[] }[] | null,
  ): { name: string; partitions: FetchedOffset[] }[] {
    const group = this.#core.group(groupId, false);
    const live = group !== undefined && !group.is("Dead") ? group : undefined;
    const answer = (topic: string, partitionIndex: number): FetchedOffset => {
      const c = live?.offset(topic, partitionIndex);
      return {
        partitionIndex,
        committedOffset: c?.offset ?? -1,
        committedLeaderEpoch: c?.leaderEpoch ?? -1,
        metadata: c?.metadata ?? "",
        errorCode: ErrorCode.NONE,
      };
    };
    if (topics !== null) {
      return topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((p) => answer(t.name, p)),
      }));
    }
    return [...(live?.offsets ?? new Map()).entries()].map(([name, byPartition]) => ({
      name,
      partitions: [...byPartition.keys()].sort((a, b) => a - b).map((p) => answer(name, p)),
    }));
  }

  /** OffsetDelete: a group-level error, or per-partition ones. */
  delete(
    groupId: string,
    topics: readonly { name: string; partitions: readonly number[] }[],
  ): { errorCode: number; topics: PartitionErrors } {
    if (groupId === "") return { errorCode: ErrorCode.INVALID_GROUP_ID, topics: [] };
    const group = this.#core.group(groupId, false);
    if (group === undefined || group.is("Dead")) {
      return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, topics: [] };
    }
    const consumerGroup = group.protocolType === CONSUMER_PROTOCOL_TYPE;
    if (!group.is("Empty") && !consumerGroup) {
      return { errorCode: ErrorCode.NON_EMPTY_GROUP, topics: [] };
    }
    const removed: { topic: string; partition: number }[] = [];
    const results: PartitionErrors = topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((partitionIndex) => {
        let errorCode: number = ErrorCode.NONE;
        if (this.#partitions.highWatermark(t.name, partitionIndex) === undefined) {
          errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        } else if (!group.is("Empty") && group.isSubscribedTo(t.name)) {
          errorCode = ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC;
        } else if (group.offset(t.name, partitionIndex) !== undefined) {
          removed.push({ topic: t.name, partition: partitionIndex });
        }
        return { partitionIndex, errorCode };
      }),
    }));
    try {
      this.#removeOffsets(group, removed);
    } catch (e) {
      if (!(e instanceof IoError)) throw e;
      return { errorCode: ErrorCode.NOT_COORDINATOR, topics: [] };
    }
    return { errorCode: ErrorCode.NONE, topics: results };
  }

  /**
   * Kafka's offset retention: an Empty group's offsets expire `offsets.retention` after it
   * became Empty; a simple consumer's (no protocol type) and a Stable consumer group's offsets
   * of topics it no longer subscribes to, that long after their commit; an explicit expiry
   * (OffsetCommit v2-v4) wins. Empty groups left without offsets are removed.
   */
  expire(groups: Iterable<Group>): void {
    const nowMs = this.#core.nowMs();
    const retentionMs = this.#core.settings.offsetsRetentionMs;
    for (const group of [...groups]) {
      let base: ((c: CommittedOffset) => number) | undefined;
      let keep: (topic: string) => boolean = () => false;
      if (group.protocolType !== null && group.is("Empty")) base = () => group.stateTimestampMs;
      else if (group.protocolType === null) base = (c) => c.commitTimestampMs;
      else if (group.is("Stable") && group.subscribedTopics !== undefined) {
        const subscribed = group.subscribedTopics;
        base = (c) => c.commitTimestampMs;
        keep = (topic) => subscribed.has(topic);
      }
      const expired: { topic: string; partition: number }[] = [];
      if (base !== undefined) {
        for (const [topic, byPartition] of group.offsets) {
          if (keep(topic)) continue;
          for (const [partition, c] of byPartition) {
            const due = c.expireTimestampMs >= 0
              ? nowMs >= c.expireTimestampMs
              : nowMs - base(c) >= retentionMs;
            if (due) expired.push({ topic, partition });
          }
        }
      }
      try {
        this.#removeOffsets(group, expired);
      } catch (e) {
        if (!(e instanceof IoError)) throw e;
        this.#core.logger.warn(`Cannot expire offsets of "${group.groupId}": ${e.message}`);
      }
    }
  }

  /**
   * Drops every group's committed offsets of a deleted topic, as Kafka's
   * cleanupGroupMetadata does: tombstones are flushed before the offsets go,
   * whatever the group's state; an Empty group left bare becomes Dead. A write
   * that fails is logged and the group keeps its offsets (the start-up sweep,
   * {@linkcode OffsetOps.deleteOrphans}, retries it).
   */
  deleteTopic(topic: string, groups: Iterable<Group>): void {
    for (const group of [...groups]) {
      const byPartition = group.offsets.get(topic);
      if (byPartition === undefined) continue;
      const removed = [...byPartition.keys()].map((partition) => ({ topic, partition }));
      try {
        this.#removeOffsets(group, removed);
      } catch (e) {
        if (!(e instanceof IoError)) throw e;
        this.#core.logger.warn(
          `Cannot drop offsets of deleted topic "${topic}" in group "${group.groupId}": ${e.message}`,
        );
      }
    }
  }

  /**
   * Drops offsets of partitions that no longer exist (a topic deleted just
   * before a crash, or whose cleanup write failed); returns how many went.
   */
  deleteOrphans(groups: Iterable<Group>): number {
    let count = 0;
    for (const group of [...groups]) {
      const orphans: { topic: string; partition: number }[] = [];
      for (const [topic, byPartition] of group.offsets) {
        for (const partition of byPartition.keys()) {
          if (this.#partitions.highWatermark(topic, partition) === undefined) {
            orphans.push({ topic, partition });
          }
        }
      }
      if (orphans.length === 0) continue;
      try {
        this.#removeOffsets(group, orphans);
        count += orphans.length;
      } catch (e) {
        if (!(e instanceof IoError)) throw e;
        this.#core.logger.warn(`Cannot drop orphan offsets of "${group.groupId}": ${e.message}`);
      }
    }
    return count;
  }

  /** Writes tombstones for `removed`, then drops them; an Empty group left bare becomes Dead. */
  #removeOffsets(group: Group, candidates: readonly { topic: string; partition: number }[]): void {
    const seen = new Set<string>();
    const removed = candidates.filter((r) => {
      const key = `${r.partition}:${r.topic}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    const records: GroupLogRecord[] = removed.map((r) => ({
      key: encodeOffsetKey(group.groupId, r.topic, r.partition),
      value: null,
    }));
    const remaining = countOffsets(group) - removed.length;
    const dies = group.is("Empty") && remaining === 0;
    if (dies) records.push({ key: encodeGroupKey(group.groupId), value: null });
    if (records.length === 0) return;
    this.#store.append(records);
    for (const r of removed) group.deleteOffset(r.topic, r.partition);
    if (dies) {
      group.transitionTo("Dead", this.#core.nowMs());
      this.#core.forget(group);
    }
    this.#core.changed(group);
  }
}

function countOffsets(group: Group): number {
  let n = 0;
  for (const byPartition of group.offsets.values()) n += byPartition.size;
  return n;
}

function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}
