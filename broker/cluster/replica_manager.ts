/**
 * Data replication of one broker (Kafka's `ReplicaManager`): from the
 * partition states the metadata cache hands it, it leads, follows or leaves
 * each local partition.
 *
 * - **Leader:** {@linkcode LeaderState} per partition; follower fetches
 *   (`recordFollowerFetch`) move the high watermark, which completes acks=all
 *   produces (`awaitCommit`); a timer shrinks the ISR of followers not caught
 *   up within `replica.lag.time.max.ms`, and follower fetches expand it again,
 *   both through the {@linkcode IsrWriter} (one change in flight per
 *   partition; a lost compare-and-swap waits for the next state).
 * - **Follower:** one {@linkcode ReplicaFetcher} per leader broker.
 * - **Neither:** fetchers stop; produce and fetch answer NOT_LEADER_OR_FOLLOWER.
 *
 * Without a replica manager (one node) the broker leads everything at epoch 0
 * and the high watermark is the log end.
 *
 * @module
 */
import type { Runtime } from "../../ffi/port.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import type { Logger } from "../../util/log.ts";
import type { BrokerCore } from "../context.ts";
import type { Partition } from "../topics.ts";
import { topicConfigNumber } from "../topic_config.ts";
import { LeaderState } from "./leader_state.ts";
import {
  type BrokerEndpoint,
  type IsrWriter,
  partitionKey,
  type PartitionState,
  type PartitionStateSink,
  type ReplicationOptions,
} from "./partition_state.ts";
import {
  type FollowedPartition,
  REPLICA_FETCH_WAIT_MAX_MS,
  ReplicaFetcher,
} from "./replica_fetcher.ts";

/** Kafka's `replica.lag.time.max.ms` default. */
export const REPLICA_LAG_TIME_MAX_MS = 30_000;
/** Kafka's `replica.fetch.backoff.ms` default. */
export const REPLICA_FETCH_BACKOFF_MS = 1_000;

/** The answer to "may this broker serve `topic-partition` as its leader?". */
export interface LeaderCheck {
  /** NONE, NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH or UNKNOWN_LEADER_EPOCH. */
  readonly errorCode: number;
  /** The current leader and epoch as this broker knows them (-1 when unknown). */
  readonly leaderId: number;
  readonly leaderEpoch: number;
}

interface CommitWaiter {
  readonly offset: number;
  readonly resolve: (errorCode: number) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

interface LocalReplica {
  state: PartitionState;
  leader?: LeaderState;
  /** The fetcher's leader id while following. */
  followingLeaderId?: number;
  isrChangeInFlight: boolean;
  readonly waiters: CommitWaiter[];
}

/** Options of {@linkcode ReplicaManager} beyond {@linkcode ReplicationOptions}. */
export interface ReplicaManagerDeps {
  readonly runtime: Pick<Runtime, "connect">;
  /** Kafka's `replica.fetch.backoff.ms`. */
  readonly fetchBackoffMs?: number;
}

/** See the module doc. */
export class ReplicaManager implements PartitionStateSink {
  readonly nodeId: number;
  readonly #broker: BrokerCore;
  readonly #isrWriter: IsrWriter;
  readonly #lagMaxMs: number;
  readonly #deps: ReplicaManagerDeps;
  readonly #logger: Logger;
  readonly #replicas = new Map<string, LocalReplica>();
  readonly #fetchers = new Map<number, ReplicaFetcher>();
  readonly #isrTimer: ReturnType<typeof setInterval>;
  #brokers: ReadonlyMap<number, BrokerEndpoint> = new Map();
  #stopped = false;

  constructor(broker: BrokerCore, options: ReplicationOptions, deps: ReplicaManagerDeps) {
    this.nodeId = options.nodeId;
    this.#broker = broker;
    this.#isrWriter = options.isrWriter;
    this.#lagMaxMs = options.replicaLagTimeMaxMs ?? REPLICA_LAG_TIME_MAX_MS;
    this.#deps = deps;
    this.#logger = broker.logger.child("replication");
    // Kafka checks every half of replica.lag.time.max.ms.
    this.#isrTimer = setInterval(() => this.#shrinkIsrs(), Math.max(1, this.#lagMaxMs / 2));
  }

  /** See {@linkcode PartitionStateSink.applyPartitionStates}. */
  applyPartitionStates(
    states: readonly PartitionState[],
    brokers: ReadonlyMap<number, BrokerEndpoint>,
  ): void {
    if (this.#stopped) return;
    this.#brokers = brokers;
    for (const state of states) this.#apply(state);
    this.#stopIdleFetchers();
  }

  /** The partition's state as this broker last learned it. */
  stateOf(topic: string, partition: number): PartitionState | undefined {
    return this.#replicas.get(partitionKey(topic, partition))?.state;
  }

  /**
   * Whether this broker leads the partition, checked against a client's
   * `currentLeaderEpoch` (-1: not checked).
   */
  checkLeader(topic: string, partition: number, currentLeaderEpoch = -1): LeaderCheck {
    const r = this.#replicas.get(partitionKey(topic, partition));
    if (r === undefined) {
      return { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, leaderId: -1, leaderEpoch: -1 };
    }
    const { leader: leaderId, leaderEpoch } = r.state;
    if (currentLeaderEpoch >= 0 && currentLeaderEpoch < leaderEpoch) {
      return { errorCode: ErrorCode.FENCED_LEADER_EPOCH, leaderId, leaderEpoch };
    }
    if (currentLeaderEpoch > leaderEpoch) {
      return { errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH, leaderId, leaderEpoch };
    }
    const errorCode = r.leader !== undefined ? ErrorCode.NONE : ErrorCode.NOT_LEADER_OR_FOLLOWER;
    return { errorCode, leaderId, leaderEpoch };
  }

  /** The endpoint of a live broker (for `currentLeader` / `nodeEndpoints` answers). */
  endpoint(nodeId: number): BrokerEndpoint | undefined {
    return this.#brokers.get(nodeId);
  }

  /**
   * Before a leader's append with acks=all: NOT_ENOUGH_REPLICAS when the ISR is smaller than
   * the topic's `min.insync.replicas`, else NONE.
   */
  checkMinIsr(partition: Partition): number {
    const r = this.#replicas.get(partitionKey(partition.topic.name, partition.index));
    if (r?.leader === undefined) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    return r.state.isr.length < this.#minIsr(partition)
      ? ErrorCode.NOT_ENOUGH_REPLICAS
      : ErrorCode.NONE;
  }

  /** A leader appended: with an ISR of one, the high watermark moves at once. */
  onLeaderAppend(partition: Partition): void {
    const r = this.#replicas.get(partitionKey(partition.topic.name, partition.index));
    if (r?.leader?.maybeIncrementHighWatermark()) this.#highWatermarkMoved(r, partition);
  }

  /**
   * Resolves with an error code once the high watermark reaches `offset` (NONE, or
   * NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR is below `min.insync.replicas` by then),
   * NOT_LEADER_OR_FOLLOWER when leadership is lost, REQUEST_TIMED_OUT after `timeoutMs`.
   */
  awaitCommit(partition: Partition, offset: number, timeoutMs: number): Promise<number> {
    const r = this.#replicas.get(partitionKey(partition.topic.name, partition.index));
    if (r?.leader === undefined) return Promise.resolve(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    if (partition.log.highWatermark >= offset) {
      return Promise.resolve(this.#committed(r, partition));
    }
    return new Promise((resolve) => {
      const waiter: CommitWaiter = {
        offset,
        resolve,
        timer: setTimeout(() => {
          const i = r.waiters.indexOf(waiter);
          if (i >= 0) r.waiters.splice(i, 1);
          resolve(ErrorCode.REQUEST_TIMED_OUT);
        }, Math.max(0, timeoutMs)),
      };
      r.waiters.push(waiter);
    });
  }

  /**
   * A follower's fetch of a partition this broker leads: records where `replicaId` is, moves
   * the high watermark, maybe expands the ISR. Returns the diverging epoch when the follower's
   * `lastFetchedEpoch` does not match this log at `fetchOffset` (then nothing is recorded).
   */
  recordFollowerFetch(
    partition: Partition,
    fetch: { replicaId: number; fetchOffset: number; lastFetchedEpoch: number },
  ): { epoch: number; endOffset: number } | undefined {
    const r = this.#replicas.get(partitionKey(partition.topic.name, partition.index));
    if (r?.leader === undefined) return undefined;
    if (fetch.lastFetchedEpoch >= 0) {
      const end = partition.log.endOffsetForEpoch(fetch.lastFetchedEpoch);
      if (end.epoch < fetch.lastFetchedEpoch || end.endOffset < fetch.fetchOffset) return end;
    }
    if (fetch.fetchOffset > partition.log.logEndOffset) return undefined;
    if (r.leader.recordFetch(fetch.replicaId, fetch.fetchOffset, this.#broker.nowMs())) {
      this.#highWatermarkMoved(r, partition);
    }
    const joining = r.leader.catchingUpReplicas();
    if (joining.length > 0) this.#alterIsr(r, [...r.state.isr, ...joining]);
    return undefined;
  }

  /** Stops every fetcher and timer; waiting produces get NOT_LEADER_OR_FOLLOWER. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#isrTimer);
    for (const r of this.#replicas.values()) this.#failWaiters(r);
    await Promise.all([...this.#fetchers.values()].map((f) => f.stop()));
    this.#fetchers.clear();
  }

  #apply(state: PartitionState): void {
    const key = partitionKey(state.topic, state.partition);
    const partition = this.#broker.topics.partition(state.topic, state.partition);
    const existing = this.#replicas.get(key);
    if (partition === undefined || !state.replicas.includes(this.nodeId)) {
      if (existing !== undefined) this.#leave(existing, partition);
      this.#replicas.delete(key);
      return;
    }
    if (existing !== undefined && existing.state.partitionEpoch > state.partitionEpoch) return;
    const r: LocalReplica = existing ?? { state, isrChangeInFlight: false, waiters: [] };
    const sameEpoch = existing !== undefined && existing.state.leaderEpoch === state.leaderEpoch;
    r.state = state;
    this.#replicas.set(key, r);
    const nowMs = this.#broker.nowMs();
    if (state.leader === this.nodeId) {
      this.#stopFollowing(r, partition);
      if (r.leader !== undefined && sameEpoch) r.leader.update(state, nowMs);
      else {
        r.leader = new LeaderState(this.nodeId, state, partition.log, nowMs);
        this.#logger.info(`Leading ${key} at epoch ${state.leaderEpoch}.`);
      }
      if (r.leader.maybeIncrementHighWatermark()) this.#highWatermarkMoved(r, partition);
      else this.#completeWaiters(r, partition);
      return;
    }
    if (r.leader !== undefined) {
      r.leader = undefined;
      this.#failWaiters(r);
      // A former leader keeps reading as a follower from its high watermark on.
    }
    this.#follow(r, partition);
  }

  #follow(r: LocalReplica, partition: Partition): void {
    const leaderId = r.state.leader;
    if (r.followingLeaderId !== undefined && r.followingLeaderId !== leaderId) {
      this.#fetchers.get(r.followingLeaderId)?.remove(r.state.topic, r.state.partition);
    }
    r.followingLeaderId = undefined;
    const endpoint = this.#brokers.get(leaderId);
    if (leaderId < 0 || endpoint === undefined) return; // no leader: wait for the next state
    let fetcher = this.#fetchers.get(leaderId);
    if (fetcher !== undefined && !sameEndpoint(fetcher.leader, endpoint)) {
      fetcher.stop().catch(() => {});
      this.#fetchers.delete(leaderId);
      fetcher = undefined;
    }
    if (fetcher === undefined) {
      fetcher = new ReplicaFetcher({
        nodeId: this.nodeId,
        leader: endpoint,
        runtime: this.#deps.runtime,
        logger: this.#logger,
        nowMs: () => this.#broker.nowMs(),
        flushSync: this.#broker.config.flushMode === "sync",
        backoffMs: this.#deps.fetchBackoffMs ?? REPLICA_FETCH_BACKOFF_MS,
        // Kafka requires replica.fetch.wait.max.ms < replica.lag.time.max.ms.
        maxWaitMs: Math.min(REPLICA_FETCH_WAIT_MAX_MS, Math.floor(this.#lagMaxMs / 3)),
        onAppend: (p: FollowedPartition) => this.#broker.waiters.notify(p.topic, p.partition),
      });
      this.#fetchers.set(leaderId, fetcher);
    }
    fetcher.add({
      topic: r.state.topic,
      partition: r.state.partition,
      log: partition.log,
      leaderEpoch: r.state.leaderEpoch,
    });
    r.followingLeaderId = leaderId;
  }

  #stopFollowing(r: LocalReplica, _partition: Partition): void {
    if (r.followingLeaderId === undefined) return;
    this.#fetchers.get(r.followingLeaderId)?.remove(r.state.topic, r.state.partition);
    r.followingLeaderId = undefined;
  }

  #leave(r: LocalReplica, partition: Partition | undefined): void {
    if (partition !== undefined) this.#stopFollowing(r, partition);
    else if (r.followingLeaderId !== undefined) {
      this.#fetchers.get(r.followingLeaderId)?.remove(r.state.topic, r.state.partition);
    }
    r.leader = undefined;
    this.#failWaiters(r);
  }

  #stopIdleFetchers(): void {
    for (const [id, fetcher] of this.#fetchers) {
      if (fetcher.partitionCount > 0) continue;
      this.#fetchers.delete(id);
      fetcher.stop().catch(() => {});
    }
  }

  #minIsr(partition: Partition): number {
    const configs = this.#broker.topics.configs(partition.topic);
    return topicConfigNumber(configs, "min.insync.replicas");
  }

  #committed(r: LocalReplica, partition: Partition): number {
    return r.state.isr.length < this.#minIsr(partition)
      ? ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND
      : ErrorCode.NONE;
  }

  #highWatermarkMoved(r: LocalReplica, partition: Partition): void {
    this.#completeWaiters(r, partition);
    this.#broker.waiters.notify(partition.topic.name, partition.index); // consumers may read on
  }

  #completeWaiters(r: LocalReplica, partition: Partition): void {
    const hw = partition.log.highWatermark;
    for (let i = 0; i < r.waiters.length;) {
      const w = r.waiters[i];
      if (w.offset > hw) {
        i++;
        continue;
      }
      r.waiters.splice(i, 1);
      clearTimeout(w.timer);
      w.resolve(this.#committed(r, partition));
    }
  }

  #failWaiters(r: LocalReplica): void {
    for (const w of r.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.resolve(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    }
  }

  #shrinkIsrs(): void {
    const nowMs = this.#broker.nowMs();
    for (const r of this.#replicas.values()) {
      if (r.leader === undefined) continue;
      const out = r.leader.outOfSyncReplicas(nowMs, this.#lagMaxMs);
      if (out.length === 0) continue;
      this.#logger.info(
        `Shrinking the ISR of ${r.state.topic}-${r.state.partition}: ${
          out.join(",")
        } not caught up within ${this.#lagMaxMs} ms.`,
      );
      this.#alterIsr(r, r.state.isr.filter((id) => !out.includes(id)));
    }
  }

  /** One ISR change in flight per partition; the result is applied as a new state. */
  #alterIsr(r: LocalReplica, newIsr: number[]): void {
    if (r.isrChangeInFlight || this.#stopped) return;
    r.isrChangeInFlight = true;
    const asked = r.state;
    this.#isrWriter.alterIsr(asked, newIsr).then((next) => {
      r.isrChangeInFlight = false;
      if (next !== undefined && r.state === asked) this.#apply(next);
    }, (error) => {
      r.isrChangeInFlight = false;
      this.#logger.warn(`ISR change of ${asked.topic}-${asked.partition} failed: ${error}`);
    });
  }
}

function sameEndpoint(a: BrokerEndpoint, b: BrokerEndpoint): boolean {
  return a.host === b.host && a.port === b.port;
}

/**
 * Turns replication on for `broker` (see `ReplicationOptions` in `partition_state.ts`):
 * returns the replica manager the metadata cache feeds, and keeps it as `broker.replication`.
 */
export function startReplication(
  broker: BrokerCore & { replication: ReplicaManager | undefined; runtime: Runtime },
  options: ReplicationOptions,
): ReplicaManager {
  const manager = new ReplicaManager(broker, options, { runtime: broker.runtime });
  broker.replication = manager;
  return manager;
}
