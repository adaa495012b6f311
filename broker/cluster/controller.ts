/**
 * The active controller (Kafka's ZooKeeper-era KafkaController): one broker,
 * chosen by an etcd election, that alone writes topic assignments and
 * partition leaders. Its epoch is the create revision of its election key,
 * and every write it makes carries {@linkcode fencedBy} in the same
 * transaction: once another broker leads, a deposed controller's writes fail
 * and it stops.
 *
 * It works level-triggered: after every change the metadata cache applies
 * (and on taking over, which is how a new controller resumes from what etcd
 * holds), one reconciliation pass compares the stored state with what it
 * should be and writes the difference: admin requests (create topics and
 * partitions, delete topics, leader elections) and the leaders and ISRs of
 * partitions whose brokers are gone or back. Each partition write is a
 * compare-and-swap on the partition key's mod revision, so a leader's ISR
 * change racing with it makes one of them fail and retry on the newer state.
 *
 * @module
 */
import type { Logger } from "../../util/log.ts";
import { errorText } from "../../util/background.ts";
import {
  type Compare,
  type Coordinator,
  CoordinatorError,
  encodeJson,
  fencedBy,
  type KeyValue,
  type Leadership,
  type TxnOp,
} from "./coordinator.ts";
import { KEYS, type PartitionRecord, partitionStateKey } from "./cluster_layout.ts";
import type { MetadataCache } from "./metadata_cache.ts";
import { imbalancedPartitions, offlineTransition } from "./leader_election.ts";
import { ControllerAdmin } from "./controller_admin.ts";

/** Kafka's auto.leader.rebalance.enable and its check's settings. */
export interface LeaderRebalanceSettings {
  readonly enabled: boolean;
  /** leader.imbalance.check.interval.seconds, in ms (Kafka: 300 s). */
  readonly checkIntervalMs: number;
  /** leader.imbalance.per.broker.percentage (Kafka: 10). */
  readonly imbalancePercent: number;
}

/** Options of {@linkcode Controller}. */
export interface ControllerOptions {
  readonly coordinator: Coordinator;
  readonly cache: MetadataCache;
  readonly nodeId: number;
  readonly logger: Logger;
  /** Whether a topic may elect an out-of-sync replica (its config, else the broker default). */
  readonly uncleanAllowed: (configs: Readonly<Record<string, string>>) => boolean;
  readonly rebalance: LeaderRebalanceSettings;
  /** Draws assignment start indexes (default `Math.random`). */
  readonly random?: () => number;
}

/** How a fenced write ended. */
export type WriteOutcome = "written" | "conflict" | "deposed";

/** The pause before a pass is tried again after the coordinator failed. */
const RETRY_AFTER_ERROR_MS = 500;

/** The active controller while it holds its leadership. */
export class Controller {
  readonly leadership: Leadership;
  readonly #options: ControllerOptions;
  readonly #admin: ControllerAdmin;
  readonly #deposed = Promise.withResolvers<void>();
  #stopped = false;
  #running = false;
  #again = false;
  #unsubscribe: (() => void) | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #rebalanceTimer: ReturnType<typeof setInterval> | undefined;
  /** Partition writes made (leader elections and ISR shrinks), for tests and metrics. */
  partitionWrites = 0;

  constructor(leadership: Leadership, options: ControllerOptions) {
    this.leadership = leadership;
    this.#options = options;
    this.#admin = new ControllerAdmin(this, options);
  }

  /** The controller epoch. */
  get epoch(): number {
    return this.leadership.revision;
  }

  /** Settles when a write found the controller deposed, or it was stopped. */
  get deposed(): Promise<void> {
    return this.#deposed.promise;
  }

  get isActive(): boolean {
    return !this.#stopped;
  }

  /** Starts reconciling (now and after every metadata change). */
  start(): void {
    const { cache, rebalance, logger } = this.#options;
    logger.info(`Node ${this.#options.nodeId} is the controller (epoch ${this.epoch}).`);
    this.#unsubscribe = cache.onChange(() => this.schedule());
    if (rebalance.enabled) {
      this.#rebalanceTimer = setInterval(() => this.rebalanceLeaders(), rebalance.checkIntervalMs);
    }
    this.schedule();
  }

  /** Stops acting: no more passes or writes. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#unsubscribe?.();
    clearTimeout(this.#retryTimer);
    clearInterval(this.#rebalanceTimer);
    this.#deposed.resolve();
  }

  /** Runs a reconciliation pass soon (one at a time; a request during one runs another). */
  schedule(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    queueMicrotask(() => this.#runPasses());
  }

  async #runPasses(): Promise<void> {
    try {
      do {
        this.#again = false;
        await this.#pass();
      } while (this.#again && !this.#stopped);
    } catch (error) {
      if (!(error instanceof CoordinatorError)) throw error;
      this.#options.logger.warn(`Controller pass failed (${errorText(error)}); retrying.`);
      clearTimeout(this.#retryTimer);
      this.#retryTimer = setTimeout(() => this.schedule(), RETRY_AFTER_ERROR_MS);
    } finally {
      this.#running = false;
    }
  }

  /** One pass over admin requests and partition states. */
  async #pass(): Promise<void> {
    const { cache } = this.#options;
    // Act only on a view that includes this controller's own election.
    if (cache.controller?.epoch !== this.epoch) return;
    await this.#admin.processRequests();
    if (this.#stopped) return;
    await this.#electOffline();
    if (this.#stopped) return;
    await this.#admin.reassignments.advance();
  }

  /** Leaders for partitions whose leader is gone; dead brokers out of every ISR. */
  async #electOffline(): Promise<void> {
    const { cache, uncleanAllowed } = this.#options;
    const live = new Set(cache.brokers.keys());
    for (const [name, topic] of cache.topics) {
      if (cache.requests.has(`${KEYS.deleteTopics}${name}`)) continue;
      for (const [p, replicas] of topic.record.assignment.entries()) {
        const cached = cache.partitions.get(`${name}/${p}`);
        if (cached === undefined) continue;
        const next = offlineTransition(
          cached.record,
          replicas,
          live,
          uncleanAllowed(topic.record.configs),
        );
        if (next === undefined) continue;
        const outcome = await this.writePartition(name, p, cached.modRevision, next);
        if (outcome === "deposed") return;
        if (next.leader !== cached.record.leader) {
          this.#options.logger.info(
            `Partition ${name}-${p}: leader ${cached.record.leader} -> ${next.leader} (epoch ${next.leaderEpoch}, ISR [${next.isr}]) ${outcome}.`,
          );
        }
      }
    }
  }

  /** Kafka's auto leader rebalance: preferred leaders back where brokers are imbalanced. */
  async rebalanceLeaders(): Promise<number> {
    const { cache, rebalance } = this.#options;
    if (this.#stopped || cache.controller?.epoch !== this.epoch) return 0;
    const live = new Set(cache.brokers.keys());
    const partitions = [...cache.partitions.values()].flatMap((c) => {
      const replicas = cache.topics.get(c.topic)?.record.assignment[c.partition];
      return replicas === undefined ? [] : [{ ...c, replicas }];
    });
    let moved = 0;
    try {
      for (const p of imbalancedPartitions(partitions, live, rebalance.imbalancePercent)) {
        const next = {
          leader: p.replicas[0],
          leaderEpoch: p.record.leaderEpoch + 1,
          isr: p.record.isr,
        };
        if (await this.writePartition(p.topic, p.partition, p.modRevision, next) === "written") {
          moved++;
        }
      }
    } catch (error) {
      if (!(error instanceof CoordinatorError)) throw error;
      this.#options.logger.warn(`Leader rebalance failed: ${errorText(error)}`);
    }
    if (moved > 0) this.#options.logger.info(`Leader rebalance moved ${moved} leader(s).`);
    return moved;
  }

  /** A compare-and-swap of one partition's state, fenced by this controller's epoch. */
  writePartition(
    topic: string,
    partition: number,
    modRevision: number,
    next: Omit<PartitionRecord, "controllerEpoch">,
  ): Promise<WriteOutcome> {
    const key = partitionStateKey(topic, partition);
    const record: PartitionRecord = { ...next, controllerEpoch: this.epoch };
    this.partitionWrites++;
    return this.write(
      [{ key, target: "modRevision", equals: modRevision }],
      [{ op: "put", key, value: encodeJson(record) }],
    );
  }

  /** A transaction fenced by this controller's election key. */
  async write(compares: readonly Compare[], ops: readonly TxnOp[]): Promise<WriteOutcome> {
    if (this.#stopped) return "deposed";
    const fence = fencedBy(this.leadership);
    const result = await this.#options.coordinator.txn({ compares: [fence, ...compares], ops });
    if (result.succeeded) return "written";
    const election = result.current.find((kv: KeyValue) => kv.key === fence.key);
    if (election === undefined || election.createRevision !== this.leadership.revision) {
      this.#options.logger.warn(
        `Controller epoch ${this.epoch} was deposed (its election key is gone); stopping.`,
      );
      this.stop();
      return "deposed";
    }
    return "conflict";
  }
}
