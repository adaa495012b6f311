/**
 * Partition reassignment on the controller (Kafka's KIP-455, ZooKeeper era):
 * a request (`admin/reassign-requests/<t>/<p>`, AlterPartitionReassignments
 * on any broker) starts a reassignment: the partition's replicas become the
 * union of the target and the original replicas, and an ongoing record
 * (`admin/reassignments/<t>/<p>`) keeps both sets. The new replicas' brokers
 * open the partition's log and fetch from the leader, which adds them to the
 * ISR once caught up. When every target replica is in the ISR, the
 * controller completes it in one fenced transaction: the replicas become the
 * target, the ISR loses the removed ones, and a removed leader hands over to
 * the first target replica in the ISR with a bumped leader epoch. Brokers no
 * longer named stop their replica and drop its data. A request with null
 * replicas cancels: the original replicas come back (the leader moving back
 * to one of them when it was an added one). A new target during a
 * reassignment replaces the old one; the original replicas stay those from
 * before the first.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import { KafkaError } from "../kafka_error.ts";
import { type Compare, decodeJson, encodeJson, type KeyValue, type TxnOp } from "./coordinator.ts";
import {
  KEYS,
  type OngoingReassignment,
  type PartitionRecord,
  partitionStateKey,
  type ReassignRequest,
  type TopicRecord,
} from "./cluster_layout.ts";
import type { CachedPartition, CachedTopic } from "./metadata_cache.ts";
import type { Controller, ControllerOptions } from "./controller.ts";

/** Topic and partition of a `<prefix><topic>/<p>` key (topic names hold no "/"). */
export function parseReassignmentKey(
  prefix: string,
  key: string,
): { topic: string; partition: number } | undefined {
  const rest = key.slice(prefix.length);
  const slash = rest.lastIndexOf("/");
  const partition = Number(rest.slice(slash + 1));
  if (slash <= 0 || !Number.isInteger(partition) || partition < 0) return undefined;
  return { topic: rest.slice(0, slash), partition };
}

/** The key of a partition's ongoing reassignment. */
export function reassignmentKey(topic: string, partition: number): string {
  return `${KEYS.reassignments}${topic}/${partition}`;
}

/**
 * The partition's state once its replicas are `replicas`: the ISR keeps only them; a leader
 * no longer among them hands over to the first live one in the ISR (leader epoch + 1), or to
 * none (-1) when there is no such replica.
 */
export function reassignedState(
  record: PartitionRecord,
  replicas: readonly number[],
  live: ReadonlySet<number>,
): Omit<PartitionRecord, "controllerEpoch"> {
  const isr = record.isr.filter((id) => replicas.includes(id));
  if (record.leader >= 0 && replicas.includes(record.leader)) {
    return { leader: record.leader, leaderEpoch: record.leaderEpoch, isr };
  }
  const leader = replicas.find((id) => isr.includes(id) && live.has(id)) ?? -1;
  return { leader, leaderEpoch: record.leaderEpoch + 1, isr };
}

/** See the module doc. */
export class ControllerReassignments {
  readonly #controller: Controller;
  readonly #options: ControllerOptions;

  constructor(controller: Controller, options: ControllerOptions) {
    this.#controller = controller;
    this.#options = options;
  }

  /** Starts or cancels the reassignment a request key asks for. */
  async process(key: string, kv: KeyValue): Promise<void> {
    const request = decodeJson<ReassignRequest>(kv.value);
    if (request.error !== undefined) return; // answered; the asking broker removes it
    const { cache } = this.#options;
    const id = parseReassignmentKey(KEYS.reassignRequests, key);
    const topic = id && cache.topics.get(id.topic);
    const cached = id && cache.partitions.get(`${id.topic}/${id.partition}`);
    const requestCompare: Compare = { key, target: "modRevision", equals: kv.modRevision };
    const fail = async (code: number, message: string) => {
      const failed = { ...request, error: { code, message } };
      await this.#controller.write([requestCompare], [
        { op: "put", key, value: encodeJson(failed) },
      ]);
    };
    if (
      id === undefined || topic === undefined || cached === undefined ||
      cache.requests.has(`${KEYS.deleteTopics}${id.topic}`)
    ) {
      return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The partition does not exist.`);
    }
    const ongoingKv = cache.requests.get(reassignmentKey(id.topic, id.partition));
    const ongoing = ongoingKv && decodeJson<OngoingReassignment>(ongoingKv.value);
    const current = topic.record.assignment[id.partition];
    let replicas: readonly number[];
    let next: OngoingReassignment | undefined;
    if (request.replicas === null) {
      if (ongoing === undefined) {
        return fail(
          ErrorCode.NO_REASSIGNMENT_IN_PROGRESS,
          `No reassignment of partition ${id.topic}-${id.partition} is in progress.`,
        );
      }
      replicas = ongoing.originalReplicas;
    } else {
      try {
        this.#checkTarget(request.replicas);
      } catch (error) {
        if (!(error instanceof KafkaError)) throw error;
        return fail(error.code, error.message);
      }
      const original = ongoing?.originalReplicas ?? current;
      const target = request.replicas;
      replicas = [...target, ...original.filter((r) => !target.includes(r))];
      next = { targetReplicas: target, originalReplicas: original };
    }
    const outcome = await this.#commit(
      { topic, cached, replicas },
      [requestCompare, ...(ongoingKv ? [modRevisionOf(ongoingKv)] : [])],
      [
        { op: "delete", key },
        next === undefined
          ? { op: "delete", key: reassignmentKey(id.topic, id.partition) }
          : { op: "put", key: reassignmentKey(id.topic, id.partition), value: encodeJson(next) },
      ],
    );
    if (outcome === "written") {
      this.#options.logger.info(
        `Partition ${id.topic}-${id.partition}: ${
          next === undefined ? "reassignment cancelled" : "reassigning"
        }, replicas [${current}] -> [${replicas}].`,
      );
    }
  }

  /** Completes every reassignment whose target replicas are all in the ISR. */
  async advance(): Promise<void> {
    const { cache, logger } = this.#options;
    const live = new Set(cache.brokers.keys());
    for (const [key, kv] of [...cache.requests]) {
      if (!key.startsWith(KEYS.reassignments) || !this.#controller.isActive) continue;
      const id = parseReassignmentKey(KEYS.reassignments, key);
      if (id === undefined || cache.requests.has(`${KEYS.deleteTopics}${id.topic}`)) continue;
      const topic = cache.topics.get(id.topic);
      const cached = cache.partitions.get(`${id.topic}/${id.partition}`);
      if (topic === undefined || cached === undefined) {
        await this.#controller.write([modRevisionOf(kv)], [{ op: "delete", key }]);
        continue;
      }
      const { targetReplicas } = decodeJson<OngoingReassignment>(kv.value);
      const caughtUp = targetReplicas.every((r) => cached.record.isr.includes(r) && live.has(r));
      if (!caughtUp) continue;
      const outcome = await this.#commit(
        { topic, cached, replicas: targetReplicas },
        [modRevisionOf(kv)],
        [{ op: "delete", key }],
      );
      if (outcome === "deposed") return;
      if (outcome === "written") {
        logger.info(
          `Partition ${id.topic}-${id.partition}: reassignment to [${targetReplicas}] completed.`,
        );
      }
    }
  }

  /** Replicas by the rules of Kafka's AlterPartitionReassignments. */
  #checkTarget(replicas: readonly number[]): void {
    const live = this.#options.cache.brokers;
    if (replicas.length === 0) {
      throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, "The replica list is empty.");
    }
    if (new Set(replicas).size !== replicas.length) {
      throw new KafkaError(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `The replica list [${replicas}] has a duplicate.`,
      );
    }
    const unknown = replicas.find((r) => !live.has(r));
    if (unknown !== undefined) {
      throw new KafkaError(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `The proposed assignment contains non-existent broker "${unknown}".`,
      );
    }
  }

  /**
   * One fenced transaction: the partition's replicas in the topic record and its state (put
   * again even when unchanged, so that every broker applies the new replica set).
   */
  #commit(
    at: { topic: CachedTopic; cached: CachedPartition; replicas: readonly number[] },
    compares: readonly Compare[],
    ops: readonly TxnOp[],
  ) {
    const { topic, cached, replicas } = at;
    const live = new Set(this.#options.cache.brokers.keys());
    const assignment = topic.record.assignment.map((r, i) => i === cached.partition ? replicas : r);
    const record: TopicRecord = { ...topic.record, assignment };
    const state: PartitionRecord = {
      ...reassignedState(cached.record, replicas, live),
      controllerEpoch: this.#controller.epoch,
    };
    const topicKey = `${KEYS.topics}${topic.name}`;
    const stateKey = partitionStateKey(topic.name, cached.partition);
    return this.#controller.write(
      [
        ...compares,
        { key: topicKey, target: "modRevision", equals: topic.modRevision },
        { key: stateKey, target: "modRevision", equals: cached.modRevision },
      ],
      [
        { op: "put", key: topicKey, value: encodeJson(record) },
        { op: "put", key: stateKey, value: encodeJson(state) },
        ...ops,
      ],
    );
  }
}

function modRevisionOf(kv: KeyValue): Compare {
  return { key: kv.key, target: "modRevision", equals: kv.modRevision };
}

/** A reassignment under way as ListPartitionReassignments shows it. */
export interface ReassignmentView {
  readonly topic: string;
  readonly partition: number;
  /** The current replicas (target and original together). */
  readonly replicas: readonly number[];
  readonly addingReplicas: readonly number[];
  readonly removingReplicas: readonly number[];
}

/** Every reassignment under way that `cache` holds, by topic and partition. */
export function ongoingReassignments(
  cache: {
    readonly requests: ReadonlyMap<string, KeyValue>;
    readonly topics: ReadonlyMap<string, CachedTopic>;
  },
): ReassignmentView[] {
  const views: ReassignmentView[] = [];
  for (const [key, kv] of cache.requests) {
    if (!key.startsWith(KEYS.reassignments)) continue;
    const id = parseReassignmentKey(KEYS.reassignments, key);
    const replicas = id && cache.topics.get(id.topic)?.record.assignment[id.partition];
    if (id === undefined || replicas === undefined) continue;
    let ongoing: OngoingReassignment;
    try {
      ongoing = decodeJson<OngoingReassignment>(kv.value);
    } catch {
      continue;
    }
    const { targetReplicas: target, originalReplicas: original } = ongoing;
    views.push({
      ...id,
      replicas,
      addingReplicas: target.filter((r) => !original.includes(r)),
      removingReplicas: original.filter((r) => !target.includes(r)),
    });
  }
  return views.sort((a, b) =>
    a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1
  );
}
