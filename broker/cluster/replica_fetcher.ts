/**
 * A follower's fetcher of one leader broker (Kafka's `ReplicaFetcherThread`):
 * one connection, one Fetch v12 at a time for every partition this broker
 * follows on that leader, with replica id = own node id, the follower's log
 * end as fetch offset and its latest epoch as `lastFetchedEpoch`. Batches are
 * appended as received (offsets and epochs already assigned,
 * `PartitionLog.appendAsFollower`); the high watermark follows the leader's,
 * capped at the own log end. A `divergingEpoch` in the response truncates the
 * log by epoch (Kafka's `getOffsetTruncationState`), never to the high
 * watermark alone. Under `--flush sync` the next fetch (whose offset tells
 * the leader what this follower holds) waits for the fdatasync of what was
 * appended. A failed connection backs off and reconnects; a partition the
 * leader refuses (not the leader yet, an epoch it does not know yet) or that
 * cannot be appended is left out of fetches for `replica.fetch.backoff.ms`
 * while the others go on (Kafka's delayed partitions).
 *
 * @module
 */
import type { Runtime, TlsClientOptions } from "../../ffi/port.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import {
  defaultFetchRequest,
  defaultFetchRequestPartition,
  type FetchResponse,
} from "../../protocol/messages/fetch.ts";
import { fetchApi } from "../../protocol/messages/mod.ts";
import type { DecodedRecords } from "../../protocol/primitives.ts";
import type { PartitionLog } from "../../storage/partition_log.ts";
import type { Logger } from "../../util/log.ts";
import { BrokerClient } from "./broker_client.ts";
import type { InterBrokerSasl } from "./inter_broker_login.ts";
import { type BrokerEndpoint, partitionKey } from "./partition_state.ts";

/** The Fetch version followers speak (topics by name; LastFetchedEpoch and DivergingEpoch). */
export const REPLICA_FETCH_VERSION = 12;
/** Kafka's `replica.fetch.wait.max.ms`. */
export const REPLICA_FETCH_WAIT_MAX_MS = 500;
/** Kafka's `replica.socket.timeout.ms`: a fetch unanswered this long past its wait closes the link. */
export const REPLICA_SOCKET_TIMEOUT_MS = 30_000;
/** Kafka's `replica.fetch.max.bytes` (per partition). */
export const REPLICA_FETCH_MAX_BYTES = 1024 * 1024;
/** Kafka's `replica.fetch.response.max.bytes`. */
export const REPLICA_FETCH_RESPONSE_MAX_BYTES = 10 * 1024 * 1024;

/** One partition this broker follows. */
export interface FollowedPartition {
  readonly topic: string;
  readonly partition: number;
  readonly log: PartitionLog;
  readonly leaderEpoch: number;
  /** Left out of fetches until then (by the fetcher's clock), after an error. */
  delayedUntilMs?: number;
}

/** Options of {@linkcode ReplicaFetcher}. */
export interface ReplicaFetcherOptions {
  readonly nodeId: number;
  readonly leader: BrokerEndpoint;
  readonly runtime: Pick<Runtime, "connect">;
  readonly logger: Logger;
  /** Warnings that repeat while a leader is unreachable (rate-limited by kind). */
  readonly warnRepeated?: (kind: string, message: string) => void;
  readonly nowMs: () => number;
  /** `--flush sync`: fetch again only after the appended data is on disk. */
  readonly flushSync: boolean;
  /** Kafka's `replica.fetch.backoff.ms`. */
  readonly backoffMs: number;
  /**
   * Kafka's `replica.fetch.wait.max.ms` (default {@linkcode REPLICA_FETCH_WAIT_MAX_MS}); must stay
   * below `replica.lag.time.max.ms`, or a follower parked at the log end looks out of sync.
   */
  readonly maxWaitMs?: number;
  /** Kafka's `replica.socket.timeout.ms` (default {@linkcode REPLICA_SOCKET_TIMEOUT_MS}). */
  readonly socketTimeoutMs?: number;
  /** The broker's SASL login on the leader's inter-broker listener, when it asks for one. */
  readonly sasl?: InterBrokerSasl;
  /** TLS to the leader's inter-broker listener (SSL, SASL_SSL). */
  readonly tls?: TlsClientOptions;
  /** Called after records were appended to a followed partition. */
  readonly onAppend?: (p: FollowedPartition) => void;
}

/** See the module doc. */
export class ReplicaFetcher {
  readonly #options: ReplicaFetcherOptions;
  readonly #partitions = new Map<string, FollowedPartition>();
  #client: BrokerClient | undefined;
  #running = true;
  #wake: (() => void) | undefined;
  readonly #done: Promise<void>;

  constructor(options: ReplicaFetcherOptions) {
    this.#options = options;
    this.#done = this.#loop();
  }

  get leader(): BrokerEndpoint {
    return this.#options.leader;
  }
  get partitionCount(): number {
    return this.#partitions.size;
  }

  /** Follows `p` (replacing an older entry of the same partition). */
  add(p: FollowedPartition): void {
    this.#partitions.set(partitionKey(p.topic, p.partition), p);
    this.#wakeUp();
  }

  /** Stops following a partition. */
  remove(topic: string, partition: number): void {
    this.#partitions.delete(partitionKey(topic, partition));
  }

  /** Stops the loop and closes the connection; resolves when the loop ended. */
  stop(): Promise<void> {
    this.#running = false;
    this.#client?.close();
    this.#wakeUp();
    return this.#done;
  }

  async #loop(): Promise<void> {
    while (this.#running) {
      const nowMs = this.#options.nowMs();
      const all = [...this.#partitions.values()];
      const active = all.filter((p) => !((p.delayedUntilMs ?? 0) > nowMs));
      if (active.length === 0) {
        const nextMs = Math.min(...all.map((p) => p.delayedUntilMs ?? Infinity));
        await this.#idle(nextMs - nowMs);
        continue;
      }
      try {
        this.#client ??= await BrokerClient.connect(
          this.#options.runtime,
          this.#options.leader,
          `denka-replica-${this.#options.nodeId}`,
          {
            sasl: this.#options.sasl,
            tls: this.#options.tls,
            loginTimeoutMs: this.#options.socketTimeoutMs ?? REPLICA_SOCKET_TIMEOUT_MS,
          },
        );
        const response = await this.#withTimeout(
          this.#client,
          this.#client.request(fetchApi, REPLICA_FETCH_VERSION, this.#request(active)),
        );
        // Decoded, the records are bytes (the shared type also admits the send plan).
        await this.#handle(response as unknown as FetchResponse<DecodedRecords>, active);
      } catch (error) {
        if (!this.#running) break;
        const message = `Fetch from broker ${this.#options.leader.nodeId} failed: ${
          (error as Error).message
        }`;
        if (this.#options.warnRepeated !== undefined) {
          this.#options.warnRepeated("replica-fetch-failed", message);
        } else this.#options.logger.warn(message);
        this.#client?.close();
        this.#client = undefined;
        await this.#idle(this.#options.backoffMs);
      }
    }
    this.#client?.close();
  }

  #request(active: FollowedPartition[]) {
    const byTopic = new Map<string, FollowedPartition[]>();
    for (const p of active) {
      const list = byTopic.get(p.topic) ?? [];
      list.push(p);
      byTopic.set(p.topic, list);
    }
    return {
      ...defaultFetchRequest(),
      replicaId: this.#options.nodeId,
      maxWaitMs: this.#options.maxWaitMs ?? REPLICA_FETCH_WAIT_MAX_MS,
      minBytes: 1,
      maxBytes: REPLICA_FETCH_RESPONSE_MAX_BYTES,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [...byTopic].map(([topic, list]) => ({
        topic,
        topicId: "00000000-0000-0000-0000-000000000000",
        partitions: list.map((p) => ({
          ...defaultFetchRequestPartition(),
          partition: p.partition,
          currentLeaderEpoch: p.leaderEpoch,
          fetchOffset: p.log.logEndOffset,
          lastFetchedEpoch: p.log.leaderEpochCache.latestEpoch,
          logStartOffset: p.log.logStartOffset,
          partitionMaxBytes: REPLICA_FETCH_MAX_BYTES,
        })),
      })),
    };
  }

  /**
   * Applies a response to the partitions it was asked for (one replaced or removed meanwhile is
   * skipped); a partition with an error is delayed.
   */
  async #handle(
    response: FetchResponse<DecodedRecords>,
    asked: readonly FollowedPartition[],
  ): Promise<void> {
    const delayedUntilMs = this.#options.nowMs() + this.#options.backoffMs;
    if (response.errorCode !== ErrorCode.NONE) {
      for (const p of asked) p.delayedUntilMs = delayedUntilMs;
      return;
    }
    const flushes: Promise<void>[] = [];
    const askedSet = new Set(asked);
    for (const t of response.responses) {
      for (const r of t.partitions) {
        const p = this.#partitions.get(partitionKey(t.topic, r.partitionIndex));
        if (p === undefined || !askedSet.has(p) || p.log.isClosed) continue;
        const leaderLogStartOffset = Number(r.logStartOffset);
        if (
          r.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE &&
          p.log.logEndOffset < leaderLogStartOffset
        ) {
          // Far behind: what the follower misses is gone from the leader (Kafka's
          // handleOutOfRangeError); start over at the leader's log start.
          p.log.truncateFullyAndStartAt(leaderLogStartOffset);
          this.#options.logger.info(
            `${t.topic}-${r.partitionIndex} starts over at the leader's log start ${leaderLogStartOffset}.`,
          );
          continue;
        }
        if (r.errorCode !== ErrorCode.NONE) {
          p.delayedUntilMs = delayedUntilMs;
          this.#options.logger.debug(
            `Leader ${this.#options.leader.nodeId} refused ${t.topic}-${r.partitionIndex}: error ${r.errorCode}`,
          );
          continue;
        }
        if (r.divergingEpoch.endOffset >= 0) {
          this.#truncate(p, r.divergingEpoch);
          continue;
        }
        const records = r.records;
        if (records !== null && records.length > 0) {
          const appended = p.log.appendAsFollower(records, this.#options.nowMs());
          if (!appended.ok) {
            this.#options.logger.warn(
              `Append of replicated ${t.topic}-${r.partitionIndex} failed: ${appended.message}`,
            );
            p.delayedUntilMs = delayedUntilMs;
            continue;
          }
          if (this.#options.flushSync) flushes.push(p.log.flushAsync());
          this.#options.onAppend?.(p);
        }
        p.log.updateHighWatermark(Math.min(r.highWatermark, p.log.logEndOffset));
        // The leader's log start moved (retention, DeleteRecords): follow it up to what is
        // committed here (Kafka's maybeIncrementLogStartOffset on followers).
        const logStartOffset = Math.min(leaderLogStartOffset, p.log.highWatermark);
        if (logStartOffset > p.log.logStartOffset) p.log.deleteRecordsBefore(logStartOffset);
      }
    }
    await Promise.all(flushes);
  }

  /** Kafka's `getOffsetTruncationState` on a diverging epoch from the leader. */
  #truncate(p: FollowedPartition, diverging: { epoch: number; endOffset: number }): void {
    const log = p.log;
    let target: number;
    if (diverging.epoch < 0) target = Math.min(diverging.endOffset, log.logEndOffset);
    else {
      const mine = log.endOffsetForEpoch(diverging.epoch);
      if (mine.epoch < 0) target = Math.min(diverging.endOffset, log.logEndOffset);
      else if (mine.epoch !== diverging.epoch) target = Math.min(mine.endOffset, log.logEndOffset);
      else target = Math.min(diverging.endOffset, mine.endOffset, log.logEndOffset);
    }
    target = Math.max(target, log.logStartOffset);
    const end = log.truncateTo(target);
    log.updateHighWatermark(Math.min(log.highWatermark, end));
    this.#options.logger.info(
      `Truncated ${p.topic}-${p.partition} to offset ${end}: it diverged from leader ${this.#options.leader.nodeId} (epoch ${diverging.epoch} ends at ${diverging.endOffset}).`,
    );
  }

  /**
   * `request`, unless no answer comes within the fetch's wait plus the socket timeout: a link
   * that died silently (no reset) is then closed, which fails the request, and the loop
   * reconnects.
   */
  async #withTimeout<T>(client: BrokerClient, request: Promise<T>): Promise<T> {
    const limitMs = (this.#options.maxWaitMs ?? REPLICA_FETCH_WAIT_MAX_MS) +
      (this.#options.socketTimeoutMs ?? REPLICA_SOCKET_TIMEOUT_MS);
    const timer = setTimeout(() => {
      client.close(`No answer from broker ${this.#options.leader.nodeId} within ${limitMs} ms`);
    }, limitMs);
    try {
      return await request;
    } finally {
      clearTimeout(timer);
    }
  }

  #idle(ms: number): Promise<void> {
    if (!this.#running) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(() => this.#wakeUp(), ms) : undefined;
      this.#wake = () => {
        if (timer !== undefined) clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
    });
  }

  #wakeUp(): void {
    this.#wake?.();
  }
}
