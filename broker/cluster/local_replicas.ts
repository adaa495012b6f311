/**
 * Keeps the broker's own partition logs in step with the cluster metadata
 * (the part of Kafka's LeaderAndIsr handling that creates and deletes logs):
 * a topic with a replica on this broker gets its logs, with the cluster's
 * topic id and configs; a topic seen deleted from the cluster (or no longer
 * assigned here, or recreated with another id) loses them. A local topic the
 * cluster never had (a single node's data, or one deleted while this broker
 * was away) is left alone and logged once: deleting data on a guess is not
 * worth the stray directory. Then every changed partition state goes to the
 * replica manager (a {@linkcode PartitionStateSink}), which makes this
 * broker a leader or follower of it.
 *
 * @module
 */
import type { Logger } from "../../util/log.ts";
import { errorText } from "../../util/background.ts";
import type { Topic } from "../topics.ts";
import type { CacheChange, MetadataCache } from "./metadata_cache.ts";
import { KEYS, parsePartitionStateKey } from "./cluster_layout.ts";
import type { PartitionState, PartitionStateSink } from "./partition_state.ts";
import { sortedEntries } from "./cluster_admin_client.ts";

/** What the broker's topic registry offers (`TopicRegistry`). */
export interface LocalTopicStore {
  list(): Topic[];
  get(name: string): Topic | undefined;
  create(
    name: string,
    partitionCount: number,
    overrides: Record<string, string>,
    id?: string,
  ): Topic;
  delete(name: string): void;
  addPartitions(topic: Topic, count: number): void;
  alterConfigs(topic: Topic, overrides: Record<string, string>): void;
}

/** See the module doc. */
export class LocalReplicas {
  readonly #cache: MetadataCache;
  readonly #topics: LocalTopicStore;
  readonly #nodeId: number;
  readonly #logger: Logger;
  readonly #sink: PartitionStateSink | undefined;
  /** Partition counts of the topics last seen, to stop the partitions of deleted ones. */
  readonly #seen = new Map<string, number>();
  /** Local topics the cluster does not know, already logged. */
  readonly #strays = new Set<string>();

  constructor(
    cache: MetadataCache,
    topics: LocalTopicStore,
    options: { nodeId: number; logger: Logger; sink?: PartitionStateSink },
  ) {
    this.#cache = cache;
    this.#topics = topics;
    this.#nodeId = options.nodeId;
    this.#logger = options.logger;
    this.#sink = options.sink;
  }

  /** Applies one cache change: logs first, then the replica manager. */
  apply(change: CacheChange): void {
    const topicsTouched = change.relisted ||
      [...change.keys].some((k) => k.startsWith(KEYS.topics));
    if (topicsTouched) this.#syncLogs(change);
    const gone = this.#forgetDeleted();
    if (this.#sink === undefined) return;
    const brokersTouched = [...change.keys].some((k) => k.startsWith(KEYS.brokers));
    const states: PartitionState[] = [];
    if (change.relisted || brokersTouched) {
      for (const name of this.#cache.topics.keys()) {
        states.push(...this.#cache.topicPartitions(name));
      }
    } else {
      for (const key of change.keys) {
        const id = parsePartitionStateKey(key);
        const state = id && this.#cache.partitionState(id.topic, id.partition);
        if (state) states.push(state);
      }
    }
    states.push(...gone);
    if (states.length > 0) this.#sink.applyPartitionStates(states, this.#cache.endpoints());
  }

  /**
   * Partitions of topics that left the cluster, as states naming no replica (which tells the
   * replica manager to stop them: their logs are gone).
   */
  #forgetDeleted(): PartitionState[] {
    const gone: PartitionState[] = [];
    for (const [name, count] of this.#seen) {
      if (this.#cache.topics.has(name)) continue;
      this.#seen.delete(name);
      for (let partition = 0; partition < count; partition++) {
        gone.push({
          topic: name,
          partition,
          replicas: [],
          leader: -1,
          leaderEpoch: -1,
          isr: [],
          partitionEpoch: this.#cache.revision,
        });
      }
    }
    for (const [name, cached] of this.#cache.topics) {
      this.#seen.set(name, cached.record.assignment.length);
    }
    return gone;
  }

  #syncLogs(change: CacheChange): void {
    for (const [name, cached] of this.#cache.topics) {
      const { assignment, id, configs } = cached.record;
      const hosted = assignment.some((replicas) => replicas.includes(this.#nodeId));
      let local = this.#topics.get(name);
      try {
        if (local !== undefined && (local.id !== id || !hosted)) {
          this.#topics.delete(name);
          local = undefined;
        }
        if (!hosted) continue;
        if (local === undefined) {
          this.#topics.create(name, assignment.length, { ...configs }, id);
        } else {
          if (local.partitions.length < assignment.length) {
            this.#topics.addPartitions(local, assignment.length);
          }
          const same = JSON.stringify(sortedEntries(local.overrides)) ===
            JSON.stringify(sortedEntries(configs));
          if (!same) this.#topics.alterConfigs(local, { ...configs });
        }
      } catch (error) {
        this.#logger.error(`Could not open the logs of topic "${name}": ${errorText(error)}`);
      }
    }
    for (const local of this.#topics.list()) {
      if (local.internal || this.#cache.topics.has(local.name)) continue;
      const seenDeleted = this.#seen.has(local.name) ||
        (!change.relisted && change.keys.has(`${KEYS.topics}${local.name}`));
      if (!seenDeleted) {
        if (!this.#strays.has(local.name)) {
          this.#strays.add(local.name);
          this.#logger.warn(
            `Topic "${local.name}" is in this broker's data directory but not in the cluster; it is left alone and not served.`,
          );
        }
        continue;
      }
      try {
        this.#topics.delete(local.name);
      } catch (error) {
        this.#logger.error(`Could not delete topic "${local.name}": ${errorText(error)}`);
      }
    }
  }
}
