/**
 * Fetch in a cluster (Kafka's `ReplicaManager.fetchMessages` leader checks):
 * a partition this broker does not lead answers NOT_LEADER_OR_FOLLOWER with
 * the leader it knows (`currentLeader`, v12+); a stale `currentLeaderEpoch`
 * FENCED_LEADER_EPOCH, a newer one UNKNOWN_LEADER_EPOCH. A follower's fetch
 * (a replica id: v12-14 `replicaId`, v15+ `replicaState.replicaId`) reads up
 * to the log end through the same file slices, records the follower's offset
 * (its log end) with the replica manager, and answers `divergingEpoch` when
 * its `lastFetchedEpoch` does not match this log. Consumers read up to the
 * high watermark.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type { FetchRequest } from "../../protocol/messages/fetch.ts";
import { NO_SLICES } from "../../storage/fetch_pipeline.ts";
import type { ReadResult } from "../../storage/log_reads.ts";
import type { ReplicaManager } from "../cluster/replica_manager.ts";
import type { RequestContext } from "../context.ts";
import type { FetchTarget } from "../fetch_sessions.ts";
import type { Partition } from "../topics.ts";

/** First Fetch version with `replicaState` instead of `replicaId` (KIP-903). */
const FETCH_REPLICA_STATE_MIN_VERSION = 15;

/** A read with what a cluster adds to a partition's answer. */
export interface ReplicaRead extends ReadResult {
  readonly divergingEpoch?: { epoch: number; endOffset: number };
  readonly currentLeader?: { leaderId: number; leaderEpoch: number };
}

/** A follower's fetch: its node id and `lastFetchedEpoch` per `topic\0partition`. */
export interface FollowerFetch {
  readonly replicaId: number;
  readonly lastFetchedEpochs: ReadonlyMap<string, number>;
}

/** The follower behind `request`, or undefined for a consumer's fetch (or on one node). */
export function followerFetchOf(
  ctx: RequestContext,
  request: FetchRequest,
): FollowerFetch | undefined {
  if (ctx.broker.replication === undefined) return undefined;
  const replicaId = ctx.request.apiVersion >= FETCH_REPLICA_STATE_MIN_VERSION
    ? request.replicaState.replicaId
    : request.replicaId;
  if (replicaId < 0) return undefined;
  const lastFetchedEpochs = new Map<string, number>();
  for (const t of request.topics) {
    for (const p of t.partitions) {
      lastFetchedEpochs.set(`${t.topic}\0${p.partition}`, p.lastFetchedEpoch);
    }
  }
  return { replicaId, lastFetchedEpochs };
}

/** Reads `partition` for a consumer or a follower, after the leader checks. */
export function replicaRead(
  replication: ReplicaManager,
  partition: Partition,
  target: FetchTarget,
  how: { limitBytes: number; follower: FollowerFetch | undefined; committed: boolean },
): ReplicaRead {
  const topic = partition.topic.name;
  const check = replication.checkLeader(topic, partition.index, target.currentLeaderEpoch);
  if (check.errorCode !== ErrorCode.NONE) {
    return {
      errorCode: check.errorCode,
      ...NO_SLICES,
      highWatermark: -1,
      logStartOffset: -1,
      currentLeader: { leaderId: check.leaderId, leaderEpoch: check.leaderEpoch },
    };
  }
  const log = partition.log;
  const follower = how.follower;
  if (follower === undefined) {
    return log.read(target.fetchOffset, Math.max(0, how.limitBytes), how.committed);
  }
  const lastFetchedEpoch = follower.lastFetchedEpochs.get(`${topic}\0${partition.index}`) ?? -1;
  const diverging = replication.recordFollowerFetch(partition, {
    replicaId: follower.replicaId,
    fetchOffset: target.fetchOffset,
    lastFetchedEpoch,
  });
  if (diverging !== undefined) {
    return {
      errorCode: ErrorCode.NONE,
      ...NO_SLICES,
      highWatermark: log.highWatermark,
      logStartOffset: log.logStartOffset,
      divergingEpoch: diverging,
    };
  }
  return log.readToLogEnd(target.fetchOffset, Math.max(0, how.limitBytes));
}

/**
 * The endpoints of the leaders named in `currentLeader` answers (Produce v10+ and Fetch v16+
 * `nodeEndpoints`, KIP-951), so a client can go to the new leader without a Metadata round.
 */
export function leaderEndpoints(
  replication: ReplicaManager | undefined,
  leaders: Iterable<{ leaderId: number }>,
): { nodeId: number; host: string; port: number; rack: string | null }[] {
  if (replication === undefined) return [];
  const ids = new Set<number>();
  for (const l of leaders) if (l.leaderId >= 0) ids.add(l.leaderId);
  return [...ids].flatMap((id) => {
    const e = replication.endpoint(id);
    return e === undefined
      ? []
      : [{ nodeId: id, host: e.host, port: e.port, rack: e.rack ?? null }];
  });
}
