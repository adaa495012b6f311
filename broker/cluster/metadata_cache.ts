/**
 * Every broker's view of the cluster (Kafka's MetadataCache, fed here by an
 * etcd prefix watch instead of UpdateMetadata requests): live brokers,
 * the controller, topics with their assignment, each partition's leader and
 * ISR, and the admin requests the controller works through.
 *
 * It lists the whole root prefix once, then watches it from the revision it
 * read at plus one, so nothing between the two is missed; a watch that fell
 * behind a compaction (or failed) is answered by listing again. Listeners
 * hear of every applied batch with the keys it changed, so the broker's
 * partitions, the replica manager and a waiting admin request react to the
 * same view.
 *
 * @module
 */
import type { Logger } from "../../util/log.ts";
import { errorText } from "../../util/background.ts";
import {
  type Coordinator,
  CoordinatorError,
  decodeJson,
  decodeText,
  type KeyValue,
  type WatchEvent,
} from "./coordinator.ts";
import {
  type BrokerRegistration,
  KEYS,
  parsePartitionStateKey,
  type PartitionRecord,
  type TopicRecord,
} from "./cluster_layout.ts";
import type { BrokerEndpoint, PartitionState } from "./partition_state.ts";

/** The first pause after a failed list before trying again; doubled up to the maximum. */
export const RELIST_BACKOFF_MIN_MS = 100;
export const RELIST_BACKOFF_MAX_MS = 5_000;

/** A live broker. */
export interface CachedBroker extends BrokerEndpoint {
  readonly rack: string | undefined;
  /** The registration key's create revision: grows each time the broker registers. */
  readonly registrationEpoch: number;
  readonly registration: BrokerRegistration;
}

/** A topic as the controller created it. */
export interface CachedTopic {
  readonly name: string;
  readonly record: TopicRecord;
  readonly modRevision: number;
}

/** A partition's stored state and the revision a compare-and-swap must match. */
export interface CachedPartition {
  readonly topic: string;
  readonly partition: number;
  readonly record: PartitionRecord;
  readonly modRevision: number;
}

/** The active controller as the election keys show it. */
export interface ControllerInfo {
  readonly nodeId: number;
  /** The create revision of its election key: the controller epoch. */
  readonly epoch: number;
}

/** What one applied batch changed. */
export interface CacheChange {
  /** Keys changed (relative to the root), or every key after a re-list. */
  readonly keys: ReadonlySet<string>;
  readonly relisted: boolean;
}

/** See the module doc. */
export class MetadataCache {
  readonly brokers: Map<number, CachedBroker> = new Map();
  readonly topics: Map<string, CachedTopic> = new Map();
  /** By `topic/partition`. */
  readonly partitions: Map<string, CachedPartition> = new Map();
  /** Admin requests and the producer id block, by key. */
  readonly requests: Map<string, KeyValue> = new Map();
  /** The revision of the last change applied. */
  revision = 0;
  /** Times the cache listed everything again (after a compaction or a failed watch). */
  relistCount = 0;
  readonly #candidates = new Map<string, { nodeId: number; createRevision: number }>();
  readonly #coordinator: Coordinator;
  readonly #logger: Logger;
  readonly #listeners = new Set<(change: CacheChange) => void>();
  readonly #closing = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(coordinator: Coordinator, logger: Logger) {
    this.#coordinator = coordinator;
    this.#logger = logger;
  }

  /** Lists everything, then follows changes in the background until {@linkcode close}. */
  async start(): Promise<void> {
    const revision = await this.#relist();
    this.#loop = this.#follow(revision + 1);
  }

  /** Stops the watch. */
  async close(): Promise<void> {
    this.#closing.abort();
    await this.#loop;
  }

  /** Calls `listener` after every applied batch; returns the unsubscribe function. */
  onChange(listener: (change: CacheChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Resolves true once `predicate` holds (checked now and after every change),
   * false after `timeoutMs` or when `signal` aborts.
   */
  waitFor(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
    if (predicate()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const signal = this.#closing.signal;
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        off();
        signal.removeEventListener("abort", aborted);
        resolve(ok);
      };
      const aborted = () => finish(false);
      const off = this.onChange(() => {
        if (predicate()) finish(true);
      });
      const timer = setTimeout(() => finish(predicate()), timeoutMs);
      signal.addEventListener("abort", aborted, { once: true });
    });
  }

  /** Resolves once the cache has applied `revision` (true), or false after `timeoutMs`. */
  caughtUpTo(revision: number, timeoutMs: number): Promise<boolean> {
    return this.waitFor(() => this.revision >= revision, timeoutMs);
  }

  /** The active controller, or undefined while there is none. */
  get controller(): ControllerInfo | undefined {
    let best: { nodeId: number; createRevision: number } | undefined;
    for (const c of this.#candidates.values()) {
      if (best === undefined || c.createRevision < best.createRevision) best = c;
    }
    return best === undefined ? undefined : { nodeId: best.nodeId, epoch: best.createRevision };
  }

  /** A partition's state in the replica manager's shape. */
  partitionState(topic: string, partition: number): PartitionState | undefined {
    const cached = this.partitions.get(`${topic}/${partition}`);
    const replicas = this.topics.get(topic)?.record.assignment[partition];
    if (cached === undefined || replicas === undefined) return undefined;
    return {
      topic,
      partition,
      replicas,
      leader: cached.record.leader,
      leaderEpoch: cached.record.leaderEpoch,
      isr: cached.record.isr,
      partitionEpoch: cached.modRevision,
    };
  }

  /** Every partition of `topic` that has a state, by index. */
  topicPartitions(topic: string): PartitionState[] {
    const cached = this.topics.get(topic);
    if (cached === undefined) return [];
    const states: PartitionState[] = [];
    for (let p = 0; p < cached.record.assignment.length; p++) {
      const state = this.partitionState(topic, p);
      if (state !== undefined) states.push(state);
    }
    return states;
  }

  /** Live brokers as endpoints, by node id. */
  endpoints(): Map<number, BrokerEndpoint> {
    return new Map([...this.brokers].map(([id, b]) => [id, b]));
  }

  async #relist(): Promise<number> {
    const listed = await this.#coordinator.range("");
    this.brokers.clear();
    this.topics.clear();
    this.partitions.clear();
    this.requests.clear();
    this.#candidates.clear();
    const keys = new Set<string>();
    for (const kv of listed.kvs) {
      this.#put(kv);
      keys.add(kv.key);
    }
    this.revision = listed.revision;
    this.#emit({ keys, relisted: true });
    return listed.revision;
  }

  async #follow(fromRevision: number): Promise<void> {
    let from = fromRevision;
    let backoffMs = RELIST_BACKOFF_MIN_MS;
    const signal = this.#closing.signal;
    while (!signal.aborted) {
      try {
        let compacted = false;
        for await (const batch of this.#coordinator.watch("", from, { signal })) {
          if (batch.kind === "compacted") {
            compacted = true;
            break;
          }
          from = this.#apply(batch.events) + 1;
          backoffMs = RELIST_BACKOFF_MIN_MS;
        }
        if (signal.aborted) return;
        if (compacted) {
          this.#logger.info(`Metadata watch fell behind a compaction; listing again.`);
          this.relistCount++;
          from = await this.#relist() + 1;
        }
      } catch (error) {
        if (signal.aborted) return;
        if (!(error instanceof CoordinatorError)) throw error;
        this.#logger.warn(`Metadata watch failed (${errorText(error)}); listing again.`);
        await pause(backoffMs, signal);
        backoffMs = Math.min(backoffMs * 2, RELIST_BACKOFF_MAX_MS);
        try {
          this.relistCount++;
          from = await this.#relist() + 1;
        } catch (e) {
          if (!(e instanceof CoordinatorError)) throw e;
        }
      }
    }
  }

  /** Applies one batch of events; returns the revision of the last. */
  #apply(events: readonly WatchEvent[]): number {
    const keys = new Set<string>();
    let revision = this.revision;
    for (const event of events) {
      if (event.type === "put") this.#put(event.kv);
      else this.#delete(event.kv.key);
      keys.add(event.kv.key);
      revision = Math.max(revision, event.kv.modRevision);
    }
    this.revision = revision;
    this.#emit({ keys, relisted: false });
    return revision;
  }

  #put(kv: KeyValue): void {
    const key = kv.key;
    try {
      if (key.startsWith(KEYS.brokers)) {
        const registration = decodeJson<BrokerRegistration>(kv.value);
        this.brokers.set(registration.nodeId, {
          nodeId: registration.nodeId,
          host: registration.host,
          port: registration.port,
          rack: registration.rack ?? undefined,
          registrationEpoch: kv.createRevision,
          registration,
        });
      } else if (key.startsWith(KEYS.controller)) {
        const nodeId = Number(decodeText(kv.value));
        this.#candidates.set(key, { nodeId, createRevision: kv.createRevision });
      } else if (key.startsWith(KEYS.topics)) {
        const name = key.slice(KEYS.topics.length);
        this.topics.set(name, { name, record: decodeJson(kv.value), modRevision: kv.modRevision });
      } else if (key.startsWith(KEYS.partitions)) {
        const id = parsePartitionStateKey(key);
        if (id === undefined) return;
        this.partitions.set(`${id.topic}/${id.partition}`, {
          ...id,
          record: decodeJson(kv.value),
          modRevision: kv.modRevision,
        });
      } else {
        this.requests.set(key, kv);
      }
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
      this.#logger.warn(`Ignoring key "${key}": its value is not JSON.`);
    }
  }

  #delete(key: string): void {
    if (key.startsWith(KEYS.brokers)) {
      this.brokers.delete(Number(key.slice(KEYS.brokers.length)));
    } else if (key.startsWith(KEYS.controller)) {
      this.#candidates.delete(key);
    } else if (key.startsWith(KEYS.topics)) {
      this.topics.delete(key.slice(KEYS.topics.length));
    } else if (key.startsWith(KEYS.partitions)) {
      const id = parsePartitionStateKey(key);
      if (id !== undefined) this.partitions.delete(`${id.topic}/${id.partition}`);
    } else {
      this.requests.delete(key);
    }
  }

  #emit(change: CacheChange): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(change);
      } catch (error) {
        this.#logger.error(`A metadata listener failed: ${errorText(error)}`);
      }
    }
  }
}

/** Waits `ms` or until `signal` aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
