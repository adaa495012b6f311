/**
 * What the leader of a partition knows of its followers (Kafka's `Partition`
 * and `Replica` on the leader): each follower's log end offset (the offset of
 * its last fetch) and when it last caught up; from them the high watermark
 * (the lowest log end offset over the ISR, never moving back), which
 * followers fell out of sync (not caught up within `replica.lag.time.max.ms`)
 * and which may rejoin (at the high watermark and past the start of the
 * leader's current epoch).
 *
 * Pure bookkeeping with the clock passed in: `leader_state_test.ts` drives it
 * with fake times. The ISR changes themselves go through the replica
 * manager's {@linkcode IsrWriter}.
 *
 * @module
 */
import type { PartitionState } from "./partition_state.ts";

/** The part of a partition log the leader reads and moves. */
export interface LeaderLog {
  readonly logEndOffset: number;
  readonly highWatermark: number;
  updateHighWatermark(offset: number | undefined): void;
}

/** One follower as its fetches tell it (Kafka's `ReplicaState`). */
export interface FollowerState {
  /** The offset of its last fetch: everything below is on it. -1 until it fetched. */
  logEndOffset: number;
  /** When it last was at the leader's log end (Kafka's `lastCaughtUpTimeMs`). */
  lastCaughtUpTimeMs: number;
  lastFetchTimeMs: number;
  /** The leader's log end at its last fetch. */
  lastFetchLeaderLogEndOffset: number;
}

/** See the module doc. */
export class LeaderState {
  readonly nodeId: number;
  readonly log: LeaderLog;
  #state: PartitionState;
  /** The log end when this epoch began: a follower rejoins only past it. */
  readonly epochStartOffset: number;
  readonly #followers = new Map<number, FollowerState>();
  /**
   * Replicas an ISR expansion in flight adds (Kafka's "maximal ISR"): once the change is
   * written, the controller may elect them, so they count toward the high watermark from the
   * moment it is asked until the next state settles it.
   */
  #joining: readonly number[] = [];

  /** Leads `state` (whose leader is `options.nodeId`) over `log` from `options.nowMs` on. */
  constructor(
    state: PartitionState,
    log: LeaderLog,
    options: { readonly nodeId: number; readonly nowMs: number },
  ) {
    const { nodeId, nowMs } = options;
    this.nodeId = nodeId;
    this.log = log;
    this.#state = state;
    this.epochStartOffset = log.logEndOffset;
    // The high watermark never moves back from what followers and consumers may have seen.
    log.updateHighWatermark(log.highWatermark);
    this.#syncFollowers(nowMs);
  }

  get state(): PartitionState {
    return this.#state;
  }

  /** A newer state of the same leader epoch (an ISR change, a new replica list). */
  update(state: PartitionState, nowMs: number): void {
    this.#state = state;
    this.#joining = [];
    this.#syncFollowers(nowMs);
    this.maybeIncrementHighWatermark();
  }

  /** What the leader knows of `replicaId`; undefined when it is not a replica. */
  follower(replicaId: number): Readonly<FollowerState> | undefined {
    return this.#followers.get(replicaId);
  }

  /**
   * Records a fetch of `replicaId` at `fetchOffset` (Kafka's `updateFetchState`); returns
   * whether the high watermark moved. A non-replica's fetch is ignored.
   */
  recordFetch(replicaId: number, fetchOffset: number, nowMs: number): boolean {
    const f = this.#followers.get(replicaId);
    if (f === undefined) return false;
    const leaderEnd = this.log.logEndOffset;
    if (fetchOffset >= leaderEnd) f.lastCaughtUpTimeMs = Math.max(f.lastCaughtUpTimeMs, nowMs);
    else if (fetchOffset >= f.lastFetchLeaderLogEndOffset) {
      f.lastCaughtUpTimeMs = Math.max(f.lastCaughtUpTimeMs, f.lastFetchTimeMs);
    }
    f.logEndOffset = fetchOffset;
    f.lastFetchTimeMs = nowMs;
    f.lastFetchLeaderLogEndOffset = leaderEnd;
    return this.maybeIncrementHighWatermark();
  }

  /**
   * Marks `replicaIds` as joining the ISR (an expansion asked, not yet settled), or none; they
   * hold the high watermark back as if they were members.
   */
  setJoining(replicaIds: readonly number[]): void {
    this.#joining = replicaIds;
  }

  /**
   * Moves the high watermark up to the lowest log end over the ISR and the replicas joining
   * it; returns whether it moved.
   */
  maybeIncrementHighWatermark(): boolean {
    let low = this.log.logEndOffset;
    for (const id of [...this.#state.isr, ...this.#joining]) {
      if (id === this.nodeId) continue;
      const f = this.#followers.get(id);
      low = Math.min(low, f === undefined ? -1 : f.logEndOffset);
    }
    if (low <= this.log.highWatermark) return false;
    this.log.updateHighWatermark(low);
    return true;
  }

  /** ISR members other than the leader not caught up within `lagMaxMs` at `nowMs`. */
  outOfSyncReplicas(nowMs: number, lagMaxMs: number): number[] {
    return this.#state.isr.filter((id) => {
      if (id === this.nodeId) return false;
      const f = this.#followers.get(id);
      return f === undefined || nowMs - f.lastCaughtUpTimeMs > lagMaxMs;
    });
  }

  /** Replicas outside the ISR at the high watermark and past this epoch's start. */
  catchingUpReplicas(): number[] {
    const hw = this.log.highWatermark;
    return this.#state.replicas.filter((id) => {
      if (id === this.nodeId || this.#state.isr.includes(id)) return false;
      const f = this.#followers.get(id);
      return f !== undefined && f.logEndOffset >= hw && f.logEndOffset >= this.epochStartOffset;
    });
  }

  /** Keeps one entry per replica; new ones start caught up now (Kafka resets them so). */
  #syncFollowers(nowMs: number): void {
    for (const id of [...this.#followers.keys()]) {
      if (!this.#state.replicas.includes(id)) this.#followers.delete(id);
    }
    for (const id of this.#state.replicas) {
      if (id === this.nodeId || this.#followers.has(id)) continue;
      this.#followers.set(id, {
        logEndOffset: -1,
        lastCaughtUpTimeMs: nowMs,
        lastFetchTimeMs: nowMs,
        lastFetchLeaderLogEndOffset: -1,
      });
    }
  }
}
