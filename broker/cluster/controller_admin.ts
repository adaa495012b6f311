/**
 * The admin requests the controller carries out for every broker (Kafka's
 * `/admin/*` znodes and forwarded CreateTopics): any broker writes a request
 * key, the controller does the work in one fenced transaction and removes
 * the request, or replaces it with the error the asking broker reports.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import { KafkaError } from "../kafka_error.ts";
import { decodeJson, encodeJson, type KeyValue, type TxnOp } from "./coordinator.ts";
import {
  type AlterConfigsRequest,
  type CreatePartitionsRequest,
  type CreateTopicRequest,
  type ElectLeadersRequest,
  KEYS,
  type PartitionRecord,
  partitionStateKey,
  type TopicRecord,
} from "./cluster_layout.ts";
import { assignReplicas, checkManualAssignment } from "./replica_assignment.ts";
import { preferredTransition, uncleanTransition } from "./leader_election.ts";
import type { Controller, ControllerOptions } from "./controller.ts";
import { ControllerReassignments } from "./controller_reassignments.ts";

/** KIP-460 election types. */
export const ELECTION_PREFERRED = 0;
export const ELECTION_UNCLEAN = 1;

/** See the module doc. */
export class ControllerAdmin {
  readonly #controller: Controller;
  readonly #options: ControllerOptions;
  /** Partition reassignments (AlterPartitionReassignments). */
  readonly reassignments: ControllerReassignments;

  constructor(controller: Controller, options: ControllerOptions) {
    this.#controller = controller;
    this.#options = options;
    this.reassignments = new ControllerReassignments(controller, options);
  }

  /** Works through every pending request once. */
  async processRequests(): Promise<void> {
    for (const [key, kv] of [...this.#options.cache.requests]) {
      if (!this.#controller.isActive) return;
      try {
        await this.#process(key, kv);
      } catch (error) {
        if (!(error instanceof SyntaxError)) throw error;
        this.#options.logger.warn(`Removing request "${key}": its value is not JSON.`);
        await this.#controller.write([this.#requestCompare(kv)], [{ op: "delete", key }]);
      }
    }
  }

  async #process(key: string, kv: KeyValue): Promise<void> {
    {
      if (key.startsWith(KEYS.deleteTopics)) {
        await this.#deleteTopic(key.slice(KEYS.deleteTopics.length), kv);
      } else if (key.startsWith(KEYS.createTopics)) {
        await this.#createTopic(key.slice(KEYS.createTopics.length), kv);
      } else if (key.startsWith(KEYS.createPartitions)) {
        await this.#createPartitions(key.slice(KEYS.createPartitions.length), kv);
      } else if (key.startsWith(KEYS.alterConfigs)) {
        await this.#alterConfigs(key.slice(KEYS.alterConfigs.length), kv);
      } else if (key.startsWith(KEYS.electLeaders)) {
        await this.#electLeaders(kv);
      } else if (key.startsWith(KEYS.reassignRequests)) {
        await this.reassignments.process(key, kv);
      }
    }
  }

  #requestCompare(kv: KeyValue) {
    return { key: kv.key, target: "modRevision" as const, equals: kv.modRevision };
  }

  /** Replaces a request with its failure for the asking broker to read. */
  async #fail(kv: KeyValue, request: object, error: unknown): Promise<void> {
    if (!(error instanceof KafkaError)) throw error;
    const failed = { ...request, error: { code: error.code, message: error.message } };
    await this.#controller.write([this.#requestCompare(kv)], [
      { op: "put", key: kv.key, value: encodeJson(failed) },
    ]);
  }

  #liveBrokers() {
    return [...this.#options.cache.brokers.values()].map((b) => ({
      nodeId: b.nodeId,
      rack: b.rack ?? null,
    }));
  }

  /** The first state of new partitions: the first replica leads, live replicas in sync. */
  #initialStates(topic: string, from: number, assignment: readonly (readonly number[])[]) {
    const live = new Set(this.#options.cache.brokers.keys());
    const ops: TxnOp[] = [];
    for (const [i, replicas] of assignment.entries()) {
      const isr = replicas.filter((id) => live.has(id));
      const record: PartitionRecord = {
        leader: isr[0] ?? -1,
        leaderEpoch: 0,
        isr,
        controllerEpoch: this.#controller.epoch,
      };
      ops.push({ op: "put", key: partitionStateKey(topic, from + i), value: encodeJson(record) });
    }
    return ops;
  }

  async #createTopic(name: string, kv: KeyValue): Promise<void> {
    const request = decodeJson<CreateTopicRequest>(kv.value);
    if (request.error !== undefined) return; // answered; the asking broker removes it
    const { cache, random, logger } = this.#options;
    const topicKey = `${KEYS.topics}${name}`;
    if (cache.topics.has(name)) {
      const error = new KafkaError(
        ErrorCode.TOPIC_ALREADY_EXISTS,
        `Topic "${name}" already exists.`,
      );
      return this.#fail(kv, request, error);
    }
    let assignment: readonly (readonly number[])[];
    try {
      if (request.assignment !== null) {
        checkManualAssignment(request.assignment, new Set(cache.brokers.keys()));
        assignment = request.assignment;
      } else {
        const brokers = this.#liveBrokers();
        assignment = assignReplicas(brokers, request.partitions, request.replicationFactor, {
          random,
        });
      }
    } catch (error) {
      return this.#fail(kv, request, error);
    }
    const record: TopicRecord = { id: crypto.randomUUID(), assignment, configs: request.configs };
    const outcome = await this.#controller.write(
      [this.#requestCompare(kv), { key: topicKey, target: "absent" }],
      [
        { op: "put", key: topicKey, value: encodeJson(record) },
        ...this.#initialStates(name, 0, assignment),
        { op: "delete", key: kv.key },
      ],
    );
    if (outcome === "written") {
      logger.info(
        `Created topic "${name}": ${assignment.length} partition(s), replicas ${
          JSON.stringify(assignment)
        }.`,
      );
    }
  }

  async #createPartitions(name: string, kv: KeyValue): Promise<void> {
    const request = decodeJson<CreatePartitionsRequest>(kv.value);
    if (request.error !== undefined) return;
    const { cache, random } = this.#options;
    const topic = cache.topics.get(name);
    let added: readonly (readonly number[])[];
    try {
      if (topic === undefined) {
        throw new KafkaError(
          ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          `Topic "${name}" does not exist.`,
        );
      }
      const current = topic.record.assignment;
      if (request.count <= current.length) {
        throw new KafkaError(
          ErrorCode.INVALID_PARTITIONS,
          `Topic currently has ${current.length} partitions, which is higher than the requested ${request.count}.`,
        );
      }
      if (request.assignment !== null) {
        checkManualAssignment(request.assignment, new Set(cache.brokers.keys()));
        added = request.assignment;
      } else {
        const brokers = this.#liveBrokers();
        const ids = brokers.map((b) => b.nodeId).sort((a, b) => a - b);
        const startIndex = Math.max(0, ids.findIndex((id) => id >= current[0][0]));
        added = assignReplicas(brokers, request.count - current.length, current[0].length, {
          startIndex,
          startPartitionId: current.length,
          random,
        });
      }
    } catch (error) {
      return this.#fail(kv, request, error);
    }
    const record: TopicRecord = {
      ...topic.record,
      assignment: [...topic.record.assignment, ...added],
    };
    const topicKey = `${KEYS.topics}${name}`;
    await this.#controller.write(
      [this.#requestCompare(kv), {
        key: topicKey,
        target: "modRevision",
        equals: topic.modRevision,
      }],
      [
        { op: "put", key: topicKey, value: encodeJson(record) },
        ...this.#initialStates(name, topic.record.assignment.length, added),
        { op: "delete", key: kv.key },
      ],
    );
  }

  /** Replaces a topic's config overrides; every broker applies them to its logs when it sees them. */
  async #alterConfigs(name: string, kv: KeyValue): Promise<void> {
    const request = decodeJson<AlterConfigsRequest>(kv.value);
    if (request.error !== undefined) return;
    const topic = this.#options.cache.topics.get(name);
    if (topic === undefined) {
      const error = new KafkaError(
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        `Topic "${name}" does not exist.`,
      );
      return this.#fail(kv, request, error);
    }
    const topicKey = `${KEYS.topics}${name}`;
    const record: TopicRecord = { ...topic.record, configs: request.configs };
    await this.#controller.write(
      [
        this.#requestCompare(kv),
        { key: topicKey, target: "modRevision", equals: topic.modRevision },
      ],
      [
        { op: "put", key: topicKey, value: encodeJson(record) },
        { op: "delete", key: kv.key },
      ],
    );
  }

  /** Removes the topic and its partition states; brokers delete their logs when they see it go. */
  async #deleteTopic(name: string, kv: KeyValue): Promise<void> {
    const outcome = await this.#controller.write([this.#requestCompare(kv)], [
      { op: "delete", key: `${KEYS.topics}${name}` },
      { op: "delete", key: `${KEYS.partitions}${name}/`, prefix: true },
      { op: "delete", key: `${KEYS.reassignments}${name}/`, prefix: true },
      { op: "delete", key: kv.key },
    ]);
    if (outcome === "written") this.#options.logger.info(`Deleted topic "${name}".`);
  }

  async #electLeaders(kv: KeyValue): Promise<void> {
    const request = decodeJson<ElectLeadersRequest>(kv.value);
    const { cache } = this.#options;
    const live = new Set(cache.brokers.keys());
    for (const { topic, partition } of request.partitions) {
      const cached = cache.partitions.get(`${topic}/${partition}`);
      const replicas = cache.topics.get(topic)?.record.assignment[partition];
      if (cached === undefined || replicas === undefined) continue;
      const next = request.electionType === ELECTION_UNCLEAN
        ? uncleanTransition(cached.record, replicas, live)
        : preferredTransition(cached.record, replicas, live);
      if (typeof next !== "object") continue;
      const outcome = await this.#controller.writePartition(
        topic,
        partition,
        cached.modRevision,
        next,
      );
      if (outcome === "deposed") return;
    }
    await this.#controller.write([this.#requestCompare(kv)], [{ op: "delete", key: kv.key }]);
  }
}
