/**
 * Offsets committed in a transaction (Kafka's TxnOffsetCommit): written to
 * the group log as a transactional batch of the producer and flushed before
 * they are acknowledged, kept aside per producer, and made the group's
 * committed offsets only when the transaction's COMMIT marker arrives (the
 * marker is logged first); an ABORT marker drops them. While any are pending
 * for a partition, OffsetFetch with `requireStable` answers
 * UNSTABLE_OFFSET_COMMIT for it (KIP-447).
 *
 * @module
 */
import { IoError } from "../../ffi/port.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import type { PartitionLookup } from "./lag.ts";
import { validateCurrentMember } from "./membership.ts";
import type { OffsetCore, PartitionErrors } from "./offsets.ts";
import type { GroupLogWriter, PendingTxnOffset } from "./offset_store.ts";
import { encodeOffsetKey, encodeOffsetValue } from "./records.ts";

/** A TxnOffsetCommit, version differences resolved. */
export interface TxnCommitRequest {
  readonly groupId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
  /** -1 and "" before v3, or for a consumer outside the group protocol. */
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly topics: readonly {
    name: string;
    partitions: readonly {
      partitionIndex: number;
      committedOffset: number;
      committedLeaderEpoch: number;
      committedMetadata: string | null;
    }[];
  }[];
}

/** Coordinator epoch of a single node. */
const COORDINATOR_EPOCH = 0;

/** See the module doc. */
export class TxnOffsets {
  readonly #core: OffsetCore;
  readonly #store: GroupLogWriter;
  readonly #partitions: PartitionLookup;
  /** Pending offsets by producer id, then "group\0topic\0partition". */
  readonly #pending = new Map<number, Map<string, PendingTxnOffset>>();

  constructor(core: OffsetCore, store: GroupLogWriter, partitions: PartitionLookup) {
    this.#core = core;
    this.#store = store;
    this.#partitions = partitions;
  }

  /** Takes back the offsets the group log held undecided at start. */
  restore(loaded: readonly PendingTxnOffset[]): void {
    for (const p of loaded) this.#hold(p);
  }

  /** Pending offsets, all producers (compaction waits for none). */
  get pendingCount(): number {
    let n = 0;
    for (const offsets of this.#pending.values()) n += offsets.size;
    return n;
  }

  /** Whether a transaction has an undecided offset for the partition. */
  hasPending(groupId: string, topic: string, partition: number): boolean {
    const key = offsetKey(groupId, topic, partition);
    for (const offsets of this.#pending.values()) if (offsets.has(key)) return true;
    return false;
  }

  /** TxnOffsetCommit: per-partition error codes; accepted offsets are durable before this returns. */
  commit(req: TxnCommitRequest): PartitionErrors {
    const groupError = this.#validate(req);
    const nowMs = this.#core.nowMs();
    const accepted: PendingTxnOffset[] = [];
    const results: PartitionErrors = req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        let errorCode = groupError;
        if (this.#partitions.highWatermark(t.name, p.partitionIndex) === undefined) {
          errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        } else if (errorCode === ErrorCode.NONE) {
          if (utf8Length(p.committedMetadata ?? "") > this.#core.settings.offsetMetadataMaxBytes) {
            errorCode = ErrorCode.OFFSET_METADATA_TOO_LARGE;
          } else {
            accepted.push({
              producerId: req.producerId,
              groupId: req.groupId,
              topic: t.name,
              partition: p.partitionIndex,
              committed: {
                offset: p.committedOffset,
                leaderEpoch: p.committedLeaderEpoch,
                metadata: p.committedMetadata ?? "",
                commitTimestampMs: nowMs,
                expireTimestampMs: -1,
              },
            });
          }
        }
        return { partitionIndex: p.partitionIndex, errorCode };
      }),
    }));
    if (accepted.length === 0) return results;
    try {
      this.#store.append(
        accepted.map((a) => ({
          key: encodeOffsetKey(a.groupId, a.topic, a.partition),
          value: encodeOffsetValue(a.committed),
        })),
        { producerId: req.producerId, producerEpoch: req.producerEpoch },
      );
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
    for (const a of accepted) this.#hold(a);
    return results;
  }

  /**
   * The transaction of `producerId` ended: its marker is logged, then its offsets become the
   * groups' committed offsets (`committed`) or are dropped. An error code (NONE when the
   * producer had nothing pending).
   */
  complete(producerId: number, producerEpoch: number, committed: boolean): number {
    const offsets = this.#pending.get(producerId);
    if (offsets === undefined) return ErrorCode.NONE;
    try {
      this.#store.appendTxnMarker({ producerId, producerEpoch }, committed, COORDINATOR_EPOCH);
    } catch (e) {
      if (!(e instanceof IoError)) throw e;
      this.#core.logger.warn(`Cannot store a transaction marker: ${e.message}`);
      return ErrorCode.KAFKA_STORAGE_ERROR;
    }
    this.#pending.delete(producerId);
    if (!committed) return ErrorCode.NONE;
    const changed = new Set<string>();
    for (const p of offsets.values()) {
      const group = this.#core.group(p.groupId, true)!;
      group.setOffset(p.topic, p.partition, p.committed);
      changed.add(p.groupId);
    }
    for (const groupId of changed) this.#core.changed(this.#core.group(groupId, false)!);
    return ErrorCode.NONE;
  }

  #hold(p: PendingTxnOffset): void {
    let offsets = this.#pending.get(p.producerId);
    if (offsets === undefined) this.#pending.set(p.producerId, offsets = new Map());
    offsets.set(offsetKey(p.groupId, p.topic, p.partition), p);
  }

  /** Kafka's validateOffsetCommit for transactional commits (member checks from v3). */
  #validate(req: TxnCommitRequest): number {
    const group = this.#core.group(req.groupId, false);
    if (group === undefined) return ErrorCode.NONE; // a group that only commits
    if (group.is("Dead")) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (req.generationId < 0 && req.memberId === "" && req.groupInstanceId === null) {
      return ErrorCode.NONE;
    }
    const error = validateCurrentMember(group, req.memberId, req.groupInstanceId);
    if (error !== ErrorCode.NONE) return error;
    if (req.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    return ErrorCode.NONE;
  }
}

function offsetKey(groupId: string, topic: string, partition: number): string {
  return `${groupId}\0${topic}\0${partition}`;
}

function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}
