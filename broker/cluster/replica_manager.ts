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
import type { InterBrokerSasl } from "./inter_broker_login.ts";
import type { Runtime, TlsClientOptions } from "../../ffi/port.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import type { Logger } from "../../util/log.ts";
import type { BrokerCore } from "../context.ts";
import type { Partition } from "../topics.ts";
import { topicConfigNumber } from "../topic_config.ts";
import { IoError } from "../../ffi/port.ts";
import {
  formatHighWatermarks,
  HIGH_WATERMARK_CHECKPOINT_INTERVAL_MS,
  readHighWatermarks,
  writeHighWatermarks,
} from "./high_watermark_checkpoint.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import { registerReplicationMetrics } from "./replication_metrics.ts";
import { CommitWaiters } from "./commit_waiters.ts";
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

/** This broker started or stopped leading a partition (see `onLeadershipChange`). */
export interface LeadershipChange {
  readonly topic: string;
  readonly partition: number;
  readonly leading: boolean;
  readonly leaderEpoch: number;
}

interface LocalReplica {
  state: PartitionState;
  leader?: LeaderState;
  /** The fetcher's leader id and the leader epoch it fetches at, while following. */
  followingLeaderId?: number;
  followingEpoch?: number;
  isrChangeInFlight: boolean;
  readonly waiters: CommitWaiters;
}

/** Options of {@linkcode ReplicaManager} beyond {@linkcode ReplicationOptions}. */
export interface ReplicaManagerDeps {
  readonly runtime: Pick<Runtime, "connect">;
  /** Kafka's `replica.fetch.backoff.ms`. */
  readonly fetchBackoffMs?: number;
  /** Kafka's `replica.socket.timeout.ms`. */
  readonly socketTimeoutMs?: number;
  /** The broker's SASL login on the inter-broker listener, when it asks for one. */
  readonly sasl?: InterBrokerSasl;
  /** TLS to the inter-broker listener (SSL, SASL_SSL). */
  readonly tls?: TlsClientOptions;
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
  readonly #checkpointTimer: ReturnType<typeof setInterval>;
  /** The checkpoint as last written, so an unchanged one is not written again. */
  #checkpointText: string | undefined;
  /** High watermarks from the checkpoint, taken by each partition when first seen. */
  readonly #checkpointed = new Map<string, number>();
  #brokers: ReadonlyMap<number, BrokerEndpoint> = new Map();
  readonly #leadershipListeners: ((change: LeadershipChange) => void)[] = [];
  #stopped = false;
  #isrShrinkCount = 0;
  #isrExpandCount = 0;

  constructor(broker: BrokerCore, options: ReplicationOptions, deps: ReplicaManagerDeps) {
    this.nodeId = options.nodeId;
    this.#broker = broker;
    this.#isrWriter = options.isrWriter;
    this.#lagMaxMs = options.replicaLagTimeMaxMs ?? REPLICA_LAG_TIME_MAX_MS;
    this.#deps = deps;
    this.#logger = broker.logger.child("replication");
    // Kafka checks every half of replica.lag.time.max.ms.
    this.#isrTimer = setInterval(() => this.#shrinkIsrs(), Math.max(1, this.#lagMaxMs / 2));
    try {
      for (const e of readHighWatermarks(broker.libc, broker.config.dataDir)) {
        this.#checkpointed.set(partitionKey(e.topic, e.partition), e.offset);
      }
    } catch (error) {
      // Unreadable: every replica starts from its log start, as with no checkpoint.
      this.#logger.warn(`High watermark checkpoint unreadable: ${(error as Error).message}`);
    }
    this.#checkpointTimer = setInterval(
      () => this.#checkpointHighWatermarks(),
      HIGH_WATERMARK_CHECKPOINT_INTERVAL_MS,
    );
    // A deleted topic has no state left to say "stop": its replicas stop here (StopReplica).
    broker.topics.onDeleted((topic) => this.#forgetTopic(topic.name));
  }

  /** Fetchers running now, one per leader followed (tests, metrics). */
  get fetcherCount(): number {
    return this.#fetchers.size;
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

  /**
   * Calls `listener` whenever this broker becomes leader of a partition (a new leader epoch)
   * or stops leading one (Kafka's onLeadershipChange hook of the group coordinator).
   */
  onLeadershipChange(listener: (change: LeadershipChange) => void): void {
    this.#leadershipListeners.push(listener);
  }

  /** ISR changes this broker made as a leader (Kafka's IsrShrinksPerSec / IsrExpandsPerSec). */
  get isrShrinkCount(): number {
    return this.#isrShrinkCount;
  }
  get isrExpandCount(): number {
    return this.#isrExpandCount;
  }

  /**
   * For every partition this broker leads and each of its followers: how many offsets the
   * follower's last fetch was behind the leader's log end (-1 before its first fetch).
   */
  followerLags(): { topic: string; partition: number; replicaId: number; lagOffsets: number }[] {
    const lags = [];
    for (const r of this.#replicas.values()) {
      const leader = r.leader;
      if (leader === undefined) continue;
      for (const replicaId of r.state.replicas) {
        const f = leader.follower(replicaId);
        if (f === undefined) continue;
        const lagOffsets = f.logEndOffset < 0
          ? -1
          : Math.max(0, leader.log.logEndOffset - f.logEndOffset);
        lags.push({ topic: r.state.topic, partition: r.state.partition, replicaId, lagOffsets });
      }
    }
    return lags;
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
    return r.waiters.wait(offset, timeoutMs);
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
    clearInterval(this.#checkpointTimer);
    for (const r of this.#replicas.values()) this.#failWaiters(r);
    await Promise.all([...this.#fetchers.values()].map((f) => f.stop()));
    this.#fetchers.clear();
    this.#checkpointHighWatermarks();
  }

  /** Writes every local replica's high watermark (a failure is logged; the next one retries). */
  #checkpointHighWatermarks(): void {
    const entries = [];
    for (const r of this.#replicas.values()) {
      const log = this.#broker.topics.partition(r.state.topic, r.state.partition)?.log;
      if (log === undefined || log.isClosed) continue;
      entries.push({
        topic: r.state.topic,
        partition: r.state.partition,
        offset: log.highWatermark,
      });
    }
    const text = formatHighWatermarks(entries);
    if (text === this.#checkpointText) return;
    try {
      this.#checkpointText = undefined; // unknown until the atomic write succeeds
      writeHighWatermarks(this.#broker.libc, this.#broker.config.dataDir, entries);
      this.#checkpointText = text;
    } catch (error) {
      if (!(error instanceof IoError)) throw error;
      this.#logger.warn(`High watermark checkpoint failed: ${error.message}`);
    }
  }

  #apply(state: PartitionState): void {
    const key = partitionKey(state.topic, state.partition);
    const partition = this.#broker.topics.partition(state.topic, state.partition);
    const existing = this.#replicas.get(key);
    if (partition === undefined || !state.replicas.includes(this.nodeId)) {
      if (existing !== undefined) this.#leave(existing);
      this.#replicas.delete(key);
      // Reassigned away (Kafka's StopReplica with delete): the replica's data goes.
      if (existing !== undefined && partition !== undefined) this.#dropData(partition);
      return;
    }
    if (existing !== undefined && existing.state.partitionEpoch > state.partitionEpoch) return;
    if (existing === undefined) {
      // Records past the checkpointed high watermark are not known to be committed.
      partition.log.updateHighWatermark(
        this.#checkpointed.get(key) ?? partition.log.logStartOffset,
      );
      this.#checkpointed.delete(key);
    }
    const r: LocalReplica = existing ?? {
      state,
      isrChangeInFlight: false,
      waiters: new CommitWaiters(),
    };
    const sameEpoch = existing !== undefined && existing.state.leaderEpoch === state.leaderEpoch;
    r.state = state;
    this.#replicas.set(key, r);
    const nowMs = this.#broker.nowMs();
    if (state.leader === this.nodeId) {
      this.#stopFollowing(r);
      if (r.leader !== undefined && sameEpoch) r.leader.update(state, nowMs);
      else {
        partition.log.assignLeaderEpoch(state.leaderEpoch);
        r.leader = new LeaderState(state, partition.log, { nodeId: this.nodeId, nowMs });
        this.#logger.info(`Leading ${key} at epoch ${state.leaderEpoch}.`);
        this.#leadershipChanged(state, true);
      }
      if (r.leader.maybeIncrementHighWatermark()) this.#highWatermarkMoved(r, partition);
      else this.#completeWaiters(r, partition);
      return;
    }
    if (r.leader !== undefined) {
      r.leader = undefined;
      this.#failWaiters(r);
      this.#leadershipChanged(state, false);
      // A former leader keeps reading as a follower from its high watermark on.
    }
    this.#follow(r, partition);
  }

  #follow(r: LocalReplica, partition: Partition): void {
    const leaderId = r.state.leader;
    const current = this.#fetchers.get(leaderId);
    const endpointNow = this.#brokers.get(leaderId);
    if (
      r.followingLeaderId === leaderId && r.followingEpoch === r.state.leaderEpoch &&
      current !== undefined && endpointNow !== undefined &&
      sameEndpoint(current.leader, endpointNow)
    ) {
      return; // the same leader at the same epoch: the fetch under way stays valid
    }
    // Out of the fetcher it was in before anything else: followingLeaderId is cleared next, and
    // a fetcher left holding the partition (its leader's endpoint gone meanwhile) would go on
    // appending from a deposed leader after this broker leads it.
    if (r.followingLeaderId !== undefined) {
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
        warnRepeated: (kind, message) => this.#broker.logLimiter.warn(kind, message),
        nowMs: () => this.#broker.nowMs(),
        flushSync: this.#broker.config.flushMode === "sync",
        backoffMs: this.#deps.fetchBackoffMs ?? REPLICA_FETCH_BACKOFF_MS,
        // Kafka requires replica.fetch.wait.max.ms < replica.lag.time.max.ms.
        maxWaitMs: Math.min(REPLICA_FETCH_WAIT_MAX_MS, Math.floor(this.#lagMaxMs / 3)),
        socketTimeoutMs: this.#deps.socketTimeoutMs,
        sasl: this.#deps.sasl,
        tls: this.#deps.tls,
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
    r.followingEpoch = r.state.leaderEpoch;
  }

  #stopFollowing(r: LocalReplica): void {
    if (r.followingLeaderId === undefined) return;
    this.#fetchers.get(r.followingLeaderId)?.remove(r.state.topic, r.state.partition);
    r.followingLeaderId = undefined;
    r.followingEpoch = undefined;
  }

  #leave(r: LocalReplica): void {
    this.#stopFollowing(r);
    if (r.leader !== undefined) this.#leadershipChanged(r.state, false);
    r.leader = undefined;
    this.#failWaiters(r);
  }

  #dropData(partition: Partition): void {
    try {
      partition.log.truncateTo(partition.log.logStartOffset);
      this.#broker.waiters.notify(partition.topic.name, partition.index);
    } catch (error) {
      if (!(error instanceof IoError)) throw error;
      this.#logger.warn(`Could not empty ${partition.log.dir}: ${error.message}`);
    }
  }

  #forgetTopic(name: string): void {
    for (const [key, r] of this.#replicas) {
      if (r.state.topic !== name) continue;
      this.#leave(r);
      this.#replicas.delete(key);
      this.#checkpointed.delete(key);
    }
    this.#stopIdleFetchers();
  }

  #leadershipChanged(state: PartitionState, leading: boolean): void {
    const { topic, partition, leaderEpoch } = state;
    for (const listener of this.#leadershipListeners) {
      listener({ topic, partition, leading, leaderEpoch });
    }
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
    r.waiters.complete(partition.log.highWatermark, () => this.#committed(r, partition));
  }

  #failWaiters(r: LocalReplica): void {
    r.waiters.failAll(ErrorCode.NOT_LEADER_OR_FOLLOWER);
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
    // A replica being added may be elected as soon as the change is written: until the change
    // settles it holds the high watermark back like a member (Kafka's maximal ISR), or an
    // acknowledged write could be missing from the next leader.
    const joining = newIsr.filter((id) => !asked.isr.includes(id));
    if (joining.length > 0) r.leader?.setJoining(joining);
    const settled = () => {
      if (r.state === asked) r.leader?.setJoining([]);
    };
    this.#isrWriter.alterIsr(asked, newIsr).then((next) => {
      r.isrChangeInFlight = false;
      if (next === undefined) settled();
      if (next !== undefined) {
        if (newIsr.length < asked.isr.length) this.#isrShrinkCount++;
        else this.#isrExpandCount++;
      }
      if (next !== undefined && r.state === asked) this.#apply(next);
    }, (error) => {
      // The store may have applied the change before the error (etcd unreachable after the
      // write): the joiners keep counting until the next state settles it either way.
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
  broker: BrokerCore & {
    replication: ReplicaManager | undefined;
    runtime: Runtime;
    metrics: { registry: MetricsRegistry };
  },
  options: ReplicationOptions,
): ReplicaManager {
  const manager = new ReplicaManager(broker, options, {
    runtime: broker.runtime,
    fetchBackoffMs: options.replicaFetchBackoffMs,
    socketTimeoutMs: options.replicaSocketTimeoutMs,
    sasl: options.interBrokerSasl,
    tls: options.interBrokerTls,
  });
  broker.replication = manager;
  registerReplicationMetrics(broker.metrics.registry, () => broker.replication);
  return manager;
}
