/**
 * Fetch sessions (KIP-227, incremental fetch, Fetch v7+). A consumer that asks
 * for a session (`sessionId` 0, `sessionEpoch` 0) gets an id; the broker then
 * remembers its partitions with their fetch parameters and what it last told
 * the client about each. Later requests carry the id and the next epoch, list
 * only partitions whose parameters changed (and, in `forgottenTopicsData`,
 * those to drop), and get back only partitions with something to say: new
 * records, a changed high watermark or log start offset, or an error.
 *
 * Request metadata, as in KIP-227:
 *
 * | sessionId | sessionEpoch | meaning                                                 |
 * | --------- | ------------ | ------------------------------------------------------- |
 * | 0         | -1           | full fetch, no session                                  |
 * | 0         | 0            | full fetch; creates a session when the cache has room   |
 * | id        | 0            | closes session `id`, then as (0, 0)                     |
 * | id        | -1           | closes session `id`; full fetch without a session       |
 * | id        | n > 0        | incremental fetch; `n` must be the session's next epoch |
 *
 * Sessions belong to no connection (as in Kafka): a client may carry one to a
 * new connection. The cache is bounded by a number of slots; when it is full a
 * new session takes the slot of the least recently used session if that one
 * has been idle for {@linkcode SESSION_EVICTION_MS_DEFAULT}, else of the
 * session with the fewest partitions among those older than that, if it has
 * fewer partitions than the new one (KIP-227's rule, so that sessions do not
 * evict each other in turn); otherwise the fetch is answered without a
 * session and the client goes on with full fetches.
 *
 * @module
 */
import { ErrorCode } from "../protocol/error_codes.ts";
import type { FetchRequest } from "../protocol/messages/fetch.ts";
import { assert } from "../util/assert.ts";
import { type WaitInterest, waitInterest } from "./append_waiters.ts";

/** The epoch of a full fetch that creates (or re-creates) a session. */
export const INITIAL_EPOCH = 0;
/** The epoch of a full fetch that uses no session (and closes the one named). */
export const FINAL_EPOCH = -1;
/** The session id of a fetch without a session. */
export const SESSIONLESS_ID = 0;
/** Kafka's `min.incremental.fetch.session.eviction.ms`: sessions younger or busier are kept. */
export const SESSION_EVICTION_MS_DEFAULT = 120_000;
/** The largest epoch; the one after it is 1. */
const EPOCH_MAX = 2147483647;

/** The epoch that follows `epoch` in a session (wraps from INT32_MAX to 1). */
export function nextEpoch(epoch: number): number {
  assert(epoch >= 0, `Epoch ${epoch} has no successor`);
  return epoch >= EPOCH_MAX ? 1 : epoch + 1;
}

/** One partition a fetch reads: the client's parameters and, in a session, what was last sent. */
export interface FetchTarget {
  /** The partition's key in its session: topic id (v13+) or name, and index. */
  readonly key: string;
  /** The topic's name as the request gave it (empty from v13, where topics go by id). */
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  fetchOffset: number;
  partitionMaxBytes: number;
  currentLeaderEpoch: number;
  /** The high watermark in the last response carrying this partition; -1 before, or after an error. */
  sentHighWatermark: number;
  /** The log start offset in the last response carrying this partition; -1 before. */
  sentLogStartOffset: number;
}

/** What a read found in one partition. */
export interface PartitionOutcome {
  readonly errorCode: number;
  readonly highWatermark: number;
  readonly logStartOffset: number;
  /** Record bytes the response carries for the partition. */
  readonly sizeBytes: number;
}

/** What a response said about one partition. */
export interface SentPartition extends PartitionOutcome {
  readonly target: FetchTarget;
}

/**
 * Whether an incremental response must carry the partition (Kafka's rule):
 * records, an error, or a high watermark or log start offset the client has
 * not been told yet.
 */
export function mustRespond(target: FetchTarget, outcome: PartitionOutcome): boolean {
  return outcome.sizeBytes > 0 || outcome.errorCode !== ErrorCode.NONE ||
    outcome.highWatermark !== target.sentHighWatermark ||
    outcome.logStartOffset !== target.sentLogStartOffset;
}

type RequestTopic = FetchRequest["topics"][number];
type RequestPartition = RequestTopic["partitions"][number];

function targetKey(usesTopicIds: boolean, topic: string, topicId: string, partition: number) {
  return `${usesTopicIds ? topicId : topic}\u0000${partition}`;
}

function newTarget(usesTopicIds: boolean, t: RequestTopic, p: RequestPartition): FetchTarget {
  return {
    key: targetKey(usesTopicIds, t.topic, t.topicId, p.partition),
    topic: t.topic,
    topicId: t.topicId,
    partition: p.partition,
    fetchOffset: p.fetchOffset,
    partitionMaxBytes: p.partitionMaxBytes,
    currentLeaderEpoch: p.currentLeaderEpoch,
    sentHighWatermark: -1,
    sentLogStartOffset: -1,
  };
}

/** One incremental fetch session: its partitions in response order. */
export class FetchSession {
  readonly id: number;
  /** Created at Fetch v13+ (topics by id); it then serves only v13+ requests, and v12- the reverse. */
  readonly usesTopicIds: boolean;
  readonly createdMs: number;
  lastUsedMs: number;
  /** The epoch the next incremental request must carry. */
  epoch = nextEpoch(INITIAL_EPOCH);
  readonly #partitions = new Map<string, FetchTarget>();
  #interest: WaitInterest | undefined;

  constructor(id: number, usesTopicIds: boolean, nowMs: number) {
    this.id = id;
    this.usesTopicIds = usesTopicIds;
    this.createdMs = nowMs;
    this.lastUsedMs = nowMs;
  }

  /** Partitions in the session. */
  get size(): number {
    return this.#partitions.size;
  }

  /** The partitions, in the order a response reads them. */
  targets(): FetchTarget[] {
    return [...this.#partitions.values()];
  }

  /** Adds `target`, or replaces the one with its key (keeping its place). */
  add(target: FetchTarget): void {
    if (!this.#partitions.has(target.key)) this.#interest = undefined;
    this.#partitions.set(target.key, target);
  }

  /**
   * Applies an incremental request: forgotten partitions leave, listed ones
   * are added or get the request's parameters (a partition both forgotten
   * and listed comes back as new, so its state is sent again).
   */
  update(request: FetchRequest): void {
    for (const t of request.forgottenTopicsData) {
      for (const partition of t.partitions) {
        const key = targetKey(this.usesTopicIds, t.topic, t.topicId, partition);
        if (this.#partitions.delete(key)) this.#interest = undefined;
      }
    }
    for (const t of request.topics) {
      for (const p of t.partitions) {
        const key = targetKey(this.usesTopicIds, t.topic, t.topicId, p.partition);
        const known = this.#partitions.get(key);
        if (known === undefined) {
          this.add(newTarget(this.usesTopicIds, t, p));
          continue;
        }
        known.fetchOffset = p.fetchOffset;
        known.partitionMaxBytes = p.partitionMaxBytes;
        known.currentLeaderEpoch = p.currentLeaderEpoch;
      }
    }
  }

  /** Records what a response said, and moves partitions that got records to the end (fairness). */
  recordSent(sent: readonly SentPartition[]): void {
    for (const s of sent) {
      const t = s.target;
      t.sentHighWatermark = s.errorCode === ErrorCode.NONE ? s.highWatermark : -1;
      t.sentLogStartOffset = s.logStartOffset;
      if (s.sizeBytes > 0 && this.#partitions.get(t.key) === t) {
        this.#partitions.delete(t.key);
        this.#partitions.set(t.key, t);
      }
    }
  }

  /** What a long poll of the session parks on, kept until the partition set changes. */
  interest(topicOf: (target: FetchTarget) => string): WaitInterest {
    this.#interest ??= interestOf([...this.#partitions.values()], topicOf);
    return this.#interest;
  }
}

/** How one fetch uses the session cache; see {@linkcode FetchSessionCache.begin}. */
export interface FetchContext {
  /** NONE, or the error that answers the whole fetch (no partitions). */
  readonly errorCode: number;
  /** True when only partitions with something new are answered ({@linkcode mustRespond}). */
  readonly incremental: boolean;
  /** The partitions to read, in response order. */
  readonly targets: readonly FetchTarget[];
  /** What a long poll parks on: every target, its topic named by `topicOf`. */
  interest(topicOf: (target: FetchTarget) => string): WaitInterest;
  /**
   * Records what the response carried and returns the session id to answer
   * with. `abandoned`: the response will not be delivered (no session is
   * created for it).
   */
  complete(sent: readonly SentPartition[], abandoned: boolean): number;
}

/** Options of {@linkcode FetchSessionCache}. */
export interface FetchSessionCacheOptions {
  /** Kafka's `max.incremental.fetch.session.cache.slots`; 0 turns sessions off. */
  readonly slotsMax: number;
  /** Kafka's `min.incremental.fetch.session.eviction.ms`. */
  readonly evictionMs?: number;
  readonly nowMs?: () => number;
  /** A candidate session id (tests make it predictable); ids are non-zero and unique. */
  readonly randomId?: () => number;
}

/** The broker's fetch sessions, bounded by slots; least recently used first. */
export class FetchSessionCache {
  readonly #slotsMax: number;
  readonly #evictionMs: number;
  readonly #nowMs: () => number;
  readonly #randomId: () => number;
  /** In least-recently-used order: a use moves a session to the end. */
  readonly #byId = new Map<number, FetchSession>();
  /** Sessions evicted to make room (for tests and metrics). */
  evictions = 0;

  constructor(options: FetchSessionCacheOptions) {
    assert(options.slotsMax >= 0, `Slots ${options.slotsMax} must be >= 0`);
    this.#slotsMax = options.slotsMax;
    this.#evictionMs = options.evictionMs ?? SESSION_EVICTION_MS_DEFAULT;
    this.#nowMs = options.nowMs ?? Date.now;
    this.#randomId = options.randomId ?? (() => 1 + Math.floor(Math.random() * EPOCH_MAX));
  }

  /** Sessions held now. */
  get size(): number {
    return this.#byId.size;
  }

  /** The session `id`, if held (does not count as a use). */
  get(id: number): FetchSession | undefined {
    return this.#byId.get(id);
  }

  /**
   * Starts one fetch: validates the session metadata of `request`, applies an
   * incremental request to its session (the epoch advances now, as in Kafka)
   * and says which partitions to read. `usesTopicIds`: the request is v13+.
   */
  begin(request: FetchRequest, usesTopicIds: boolean): FetchContext {
    const { sessionId, sessionEpoch } = request;
    if (sessionEpoch === INITIAL_EPOCH || sessionEpoch === FINAL_EPOCH) {
      if (sessionId !== SESSIONLESS_ID) this.#byId.delete(sessionId);
      const targets = request.topics.flatMap((t) =>
        t.partitions.map((p) => newTarget(usesTopicIds, t, p))
      );
      return sessionEpoch === FINAL_EPOCH
        ? sessionless(targets)
        : this.#fullContext(targets, usesTopicIds);
    }
    const session = this.#byId.get(sessionId);
    if (session === undefined) return failed(ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
    if (session.epoch !== sessionEpoch) return failed(ErrorCode.INVALID_FETCH_SESSION_EPOCH);
    if (session.usesTopicIds !== usesTopicIds) {
      return failed(ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR);
    }
    session.update(request);
    if (session.size === 0) {
      this.#byId.delete(session.id); // nothing left to fetch: Kafka closes it too
      return sessionless([]);
    }
    session.epoch = nextEpoch(session.epoch);
    this.#touch(session);
    return incrementalContext(session, this);
  }

  /** Marks `session` used now (it becomes the most recently used). */
  touch(session: FetchSession): void {
    if (this.#byId.get(session.id) === session) this.#touch(session);
  }

  #touch(session: FetchSession): void {
    session.lastUsedMs = this.#nowMs();
    this.#byId.delete(session.id);
    this.#byId.set(session.id, session);
  }

  #fullContext(targets: FetchTarget[], usesTopicIds: boolean): FetchContext {
    return {
      errorCode: ErrorCode.NONE,
      incremental: false,
      targets,
      interest: (topicOf) => interestOf(targets, topicOf),
      complete: (sent, abandoned) => {
        if (abandoned) return SESSIONLESS_ID;
        const session = this.#create(targets, usesTopicIds);
        session?.recordSent(sent);
        return session?.id ?? SESSIONLESS_ID;
      },
    };
  }

  /** A new session holding `targets`, or undefined when no slot can be had. */
  #create(targets: readonly FetchTarget[], usesTopicIds: boolean): FetchSession | undefined {
    if (this.#byId.size >= this.#slotsMax && !this.#evictFor(targets.length)) return undefined;
    let id = this.#randomId();
    while (id === SESSIONLESS_ID || this.#byId.has(id)) id = this.#randomId();
    const session = new FetchSession(id, usesTopicIds, this.#nowMs());
    for (const t of targets) session.add(t);
    this.#byId.set(id, session);
    return session;
  }

  /** Frees a slot for a session of `size` partitions, if the eviction rule allows one. */
  #evictFor(size: number): boolean {
    const nowMs = this.#nowMs();
    const oldest = this.#byId.values().next().value;
    if (oldest === undefined) return false; // no slots at all
    let victim: FetchSession | undefined = undefined;
    if (nowMs - oldest.lastUsedMs >= this.#evictionMs) {
      victim = oldest;
    } else {
      for (const s of this.#byId.values()) {
        const settled = nowMs - s.createdMs >= this.#evictionMs;
        if (settled && s.size < size && (victim === undefined || s.size < victim.size)) victim = s;
      }
    }
    if (victim === undefined) return false;
    this.#byId.delete(victim.id);
    this.evictions++;
    return true;
  }
}

function interestOf(
  targets: readonly FetchTarget[],
  topicOf: (target: FetchTarget) => string,
): WaitInterest {
  return waitInterest(targets.map((t) => ({ topic: topicOf(t), partition: t.partition })));
}

function failed(errorCode: number): FetchContext {
  return {
    errorCode,
    incremental: false,
    targets: [],
    interest: () => new Map(),
    complete: () => SESSIONLESS_ID,
  };
}

function sessionless(targets: FetchTarget[]): FetchContext {
  return {
    errorCode: ErrorCode.NONE,
    incremental: false,
    targets,
    interest: (topicOf) => interestOf(targets, topicOf),
    complete: () => SESSIONLESS_ID,
  };
}

function incrementalContext(session: FetchSession, cache: FetchSessionCache): FetchContext {
  return {
    errorCode: ErrorCode.NONE,
    incremental: true,
    targets: session.targets(),
    interest: (topicOf) => session.interest(topicOf),
    complete: (sent) => {
      session.recordSent(sent);
      cache.touch(session);
      return session.id;
    },
  };
}
