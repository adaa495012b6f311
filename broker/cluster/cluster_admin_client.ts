/**
 * The asking side of admin requests (CreateTopics, CreatePartitions,
 * DeleteTopics, ElectLeaders on any broker): write the request key, then
 * wait, through the metadata cache, until the controller has done the work
 * (the topic appears, grows or goes; the request key is removed) or has
 * refused it (the request key carries its error, which is returned and the
 * key removed), bounded by the request's timeout.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import { KafkaError } from "../kafka_error.ts";
import { type Coordinator, decodeJson, encodeJson } from "./coordinator.ts";
import {
  type CreatePartitionsRequest,
  type CreateTopicRequest,
  type ElectLeadersRequest,
  KEYS,
} from "./cluster_layout.ts";
import type { MetadataCache } from "./metadata_cache.ts";

/** What the controller answered: nothing (done) or an error. */
export type AdminOutcome = { readonly code: number; readonly message: string } | undefined;

/** See the module doc. */
export class ClusterAdminClient {
  readonly #coordinator: Coordinator;
  readonly #cache: MetadataCache;

  constructor(coordinator: Coordinator, cache: MetadataCache) {
    this.#coordinator = coordinator;
    this.#cache = cache;
  }

  /** Asks the controller to create a topic; resolves once it exists everywhere the cache sees. */
  async createTopic(
    name: string,
    request: CreateTopicRequest,
    timeoutMs: number,
  ): Promise<AdminOutcome> {
    const key = `${KEYS.createTopics}${name}`;
    await this.#dropFailed(key);
    const written = await this.#coordinator.txn({
      compares: [{ key, target: "absent" }, { key: `${KEYS.topics}${name}`, target: "absent" }],
      ops: [{ op: "put", key, value: encodeJson(request) }],
    });
    if (!written.succeeded) {
      return { code: ErrorCode.TOPIC_ALREADY_EXISTS, message: `Topic "${name}" already exists.` };
    }
    return await this.#outcome(
      key,
      written.revision,
      timeoutMs,
      () => this.#cache.topics.has(name),
    );
  }

  /**
   * Fire-and-forget creation (Metadata's auto-creation, the offsets topic): undefined when
   * asked for (now or before), or the error the controller gave an earlier request (which is
   * removed, so the next call asks again).
   */
  async requestTopic(name: string, request: CreateTopicRequest): Promise<AdminOutcome> {
    const key = `${KEYS.createTopics}${name}`;
    if (this.#cache.requests.has(key)) return await this.#dropFailed(key);
    await this.#coordinator.txn({
      compares: [{ key, target: "absent" }, { key: `${KEYS.topics}${name}`, target: "absent" }],
      ops: [{ op: "put", key, value: encodeJson(request) }],
    });
    return undefined;
  }

  /**
   * Removes a request the controller refused whose asker did not (it stopped first), so it
   * does not block the next one; returns its error.
   */
  async #dropFailed(key: string): Promise<AdminOutcome> {
    const pending = this.#cache.requests.get(key);
    if (pending === undefined) return undefined;
    const error = decodeJson<{ error?: AdminOutcome }>(pending.value).error;
    if (error === undefined) return undefined;
    await this.#coordinator.delete(key, {
      guard: [{ key, target: "modRevision", equals: pending.modRevision }],
    });
    return error;
  }

  /** Asks the controller to raise a topic's partition count. */
  async createPartitions(
    name: string,
    request: CreatePartitionsRequest,
    timeoutMs: number,
  ): Promise<AdminOutcome> {
    const key = `${KEYS.createPartitions}${name}`;
    await this.#dropFailed(key);
    const written = await this.#coordinator.txn({
      compares: [{ key, target: "absent" }],
      ops: [{ op: "put", key, value: encodeJson(request) }],
    });
    if (!written.succeeded) {
      return {
        code: ErrorCode.REASSIGNMENT_IN_PROGRESS,
        message: `Partitions of topic "${name}" are being created already.`,
      };
    }
    return await this.#outcome(
      key,
      written.revision,
      timeoutMs,
      () => (this.#cache.topics.get(name)?.record.assignment.length ?? 0) >= request.count,
    );
  }

  /** Asks the controller to replace a topic's config overrides; resolves once the cache has them. */
  async alterTopicConfigs(
    name: string,
    configs: Readonly<Record<string, string>>,
    timeoutMs: number,
  ): Promise<AdminOutcome> {
    const key = `${KEYS.alterConfigs}${name}`;
    await this.#dropFailed(key);
    const wanted = JSON.stringify(sortedEntries(configs));
    const written = await this.#coordinator.put(key, encodeJson({ configs }));
    return await this.#outcome(key, written.revision, timeoutMs, () => {
      const cached = this.#cache.topics.get(name);
      return cached !== undefined && !this.#cache.requests.has(key) &&
        JSON.stringify(sortedEntries(cached.record.configs)) === wanted;
    });
  }

  /** Asks the controller to delete a topic; resolves once the cache no longer has it. */
  async deleteTopic(name: string, timeoutMs: number): Promise<AdminOutcome> {
    const key = `${KEYS.deleteTopics}${name}`;
    const written = await this.#coordinator.put(key, encodeJson({}));
    return await this.#outcome(
      key,
      written.revision,
      timeoutMs,
      () => !this.#cache.topics.has(name),
    );
  }

  /** Asks the controller for KIP-460 elections; resolves once it has worked through them. */
  async electLeaders(request: ElectLeadersRequest, timeoutMs: number): Promise<AdminOutcome> {
    const key = `${KEYS.electLeaders}${crypto.randomUUID()}`;
    const written = await this.#coordinator.put(key, encodeJson(request));
    return await this.#outcome(
      key,
      written.revision,
      timeoutMs,
      () => !this.#cache.requests.has(key),
    );
  }

  /**
   * Asks the controller to start (target replicas) or cancel (null) a partition's
   * reassignment; resolves once it has started or been cancelled, not once it completes.
   */
  async reassignPartition(
    topic: string,
    partition: number,
    replicas: readonly number[] | null,
    timeoutMs: number,
  ): Promise<AdminOutcome> {
    const key = `${KEYS.reassignRequests}${topic}/${partition}`;
    await this.#dropFailed(key);
    const written = await this.#coordinator.txn({
      compares: [{ key, target: "absent" }],
      ops: [{ op: "put", key, value: encodeJson({ replicas }) }],
    });
    if (!written.succeeded) {
      return {
        code: ErrorCode.REASSIGNMENT_IN_PROGRESS,
        message: `Partition ${topic}-${partition} has a reassignment request pending.`,
      };
    }
    return await this.#outcome(
      key,
      written.revision,
      timeoutMs,
      () => !this.#cache.requests.has(key),
    );
  }

  /**
   * Waits for `done()` or for the request to carry an error (then removes it). A timeout of 0
   * answers at once, the work going on (Kafka's asynchronous CreateTopics and DeleteTopics).
   */
  async #outcome(
    key: string,
    revision: number,
    timeoutMs: number,
    done: () => boolean,
  ): Promise<AdminOutcome> {
    if (timeoutMs <= 0) return undefined;
    const failure = () => {
      const kv = this.#cache.requests.get(key);
      return kv === undefined ? undefined : decodeJson<{ error?: AdminOutcome }>(kv.value).error;
    };
    const finished = await this.#cache.waitFor(
      () => this.#cache.revision >= revision && (done() || failure() !== undefined),
      timeoutMs,
    );
    if (!finished) {
      return {
        code: ErrorCode.REQUEST_TIMED_OUT,
        message: `The controller did not complete the request within ${timeoutMs} ms.`,
      };
    }
    const error = failure();
    if (error !== undefined) {
      const kv = this.#cache.requests.get(key)!;
      await this.#coordinator.delete(key, {
        guard: [{ key, target: "modRevision", equals: kv.modRevision }],
      });
    }
    return error;
  }
}

/** A KafkaError from an outcome (for handlers that throw). */
export function outcomeError(outcome: NonNullable<AdminOutcome>): KafkaError {
  return new KafkaError(outcome.code, outcome.message);
}

/** A record's entries in key order (to compare config maps). */
export function sortedEntries(record: Readonly<Record<string, string>>): [string, string][] {
  return Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
