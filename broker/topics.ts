/**
 * The broker's topics: names, persisted UUID topic ids, partition counts,
 * per-topic config overrides, and one open {@linkcode PartitionLog} per
 * partition. Metadata lives in `<dataDir>/denka-topics.cbor`, rewritten
 * atomically on every change; a partition directory `<topic>-<n>` holds the
 * segments.
 *
 * @module
 */
import { decode, encode } from "../util/cbor.ts";
import type { Libc } from "../ffi/port.ts";
import { Errno, IoError } from "../ffi/port.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import type { LogConfig } from "../storage/log_config.ts";
import { PartitionLog } from "../storage/partition_log.ts";
import type { Logger } from "../util/log.ts";
import { KafkaError } from "./kafka_error.ts";
import {
  TopicConfigError,
  topicConfigNumber,
  type TopicConfigs,
  validateTopicConfig,
} from "./topic_config.ts";

const META_FILE = "denka-topics.cbor";
const META_VERSION = 1;
/** Kafka's limit on topic name length. */
export const TOPIC_NAME_LENGTH_MAX = 249;
/** A sanity bound on partitions per topic on one node. */
export const PARTITIONS_PER_TOPIC_MAX = 10000;

/** One partition of a topic. */
export interface Partition {
  readonly topic: Topic;
  readonly index: number;
  readonly log: PartitionLog;
}

/** One topic. */
export interface Topic {
  readonly name: string;
  /** UUID topic id, lowercase 8-4-4-4-12. */
  readonly id: string;
  /** Overrides of the broker's topic defaults, by Kafka name. */
  readonly overrides: TopicConfigs;
  readonly partitions: Partition[];
  readonly internal: boolean;
}

interface PersistedTopic {
  name: string;
  id: string;
  partitionCount: number;
  overrides: TopicConfigs;
}

/** Options of {@linkcode TopicRegistry.open}. */
export interface TopicRegistryOptions {
  readonly dataDir: string;
  /** Broker defaults of every topic setting, by Kafka name. */
  readonly defaults: TopicConfigs;
  readonly writerKind: LogConfig["writerKind"];
  readonly logger: Logger;
}

/** Checks a topic name the way Kafka does; throws INVALID_TOPIC_EXCEPTION. */
export function validateTopicName(name: string): void {
  if (name.length === 0 || name === "." || name === "..") {
    throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic name "${name}" is illegal.`);
  }
  if (name.length > TOPIC_NAME_LENGTH_MAX) {
    throw new KafkaError(
      ErrorCode.INVALID_TOPIC_EXCEPTION,
      `Topic name is longer than ${TOPIC_NAME_LENGTH_MAX} characters.`,
    );
  }
  if (!/^[a-zA-Z0-9._-]+$/.test(name)) {
    throw new KafkaError(
      ErrorCode.INVALID_TOPIC_EXCEPTION,
      `Topic name "${name}" may only contain ASCII letters, digits, ".", "_" and "-".`,
    );
  }
}

/** The registry of topics; owns every open partition log. */
export class TopicRegistry {
  readonly #libc: Libc;
  readonly #dataDir: string;
  readonly #defaults: TopicConfigs;
  readonly #writerKind: LogConfig["writerKind"];
  readonly #log: Logger;
  readonly #byName = new Map<string, Topic>();
  readonly #byId = new Map<string, Topic>();
  /** Deleted topics' partitions whose files wait for in-flight sends. */
  /** Called after every deletion (see {@linkcode TopicRegistry.onDeleted}). */
  readonly #deletedListeners: ((topic: Topic) => void)[] = [];

  private constructor(
    libc: Libc,
    options: TopicRegistryOptions,
  ) {
    this.#libc = libc;
    this.#dataDir = options.dataDir;
    this.#defaults = options.defaults;
    this.#writerKind = options.writerKind;
    this.#log = options.logger;
  }

  /** Opens the data directory: reads topic metadata and opens every partition log. */
  static open(
    libc: Libc,
    options: TopicRegistryOptions,
  ): TopicRegistry {
    const registry = new TopicRegistry(libc, options);
    libc.mkdirp(options.dataDir);
    let persisted: PersistedTopic[] = [];
    try {
      const meta = decode(libc.readFile(registry.#metaPath())) as {
        version: number;
        topics: PersistedTopic[];
      };
      if (meta.version !== META_VERSION) {
        throw new Error(`Unsupported topic metadata version ${meta.version}.`);
      }
      persisted = meta.topics;
    } catch (e) {
      if (!(e instanceof IoError && e.errno === Errno.ENOENT)) throw e;
    }
    for (const p of persisted) registry.#openTopic(p);
    registry.#removeOrphans();
    return registry;
  }

  /** Every topic, in name order. */
  list(): Topic[] {
    return [...this.#byName.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  get(name: string): Topic | undefined {
    return this.#byName.get(name);
  }

  getById(id: string): Topic | undefined {
    return this.#byId.get(id);
  }

  /** The partition, or undefined when the topic or partition does not exist. */
  partition(topic: string, index: number): Partition | undefined {
    return this.#byName.get(topic)?.partitions[index];
  }

  /** A topic's effective settings: broker defaults overlaid with its overrides. */
  configs(topic: Topic): TopicConfigs {
    return { ...this.#defaults, ...topic.overrides };
  }

  /** Checks a CreateTopics request without creating anything. */
  validateCreate(name: string, partitionCount: number, overrides: TopicConfigs): TopicConfigs {
    validateTopicName(name);
    if (this.#byName.has(name)) {
      throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic "${name}" already exists.`);
    }
    if (
      !Number.isInteger(partitionCount) || partitionCount < 1 ||
      partitionCount > PARTITIONS_PER_TOPIC_MAX
    ) {
      throw new KafkaError(
        ErrorCode.INVALID_PARTITIONS,
        `Number of partitions must be between 1 and ${PARTITIONS_PER_TOPIC_MAX}, got ${partitionCount}.`,
      );
    }
    const checked: TopicConfigs = {};
    for (const [key, value] of Object.entries(overrides)) {
      try {
        checked[key] = validateTopicConfig(key, value);
      } catch (e) {
        if (e instanceof TopicConfigError) {
          throw new KafkaError(ErrorCode.INVALID_CONFIG, e.message);
        }
        throw e;
      }
    }
    return checked;
  }

  /** Creates a topic and its partition directories; persists the metadata first. */
  create(name: string, partitionCount: number, overrides: TopicConfigs = {}): Topic {
    const checked = this.validateCreate(name, partitionCount, overrides);
    const persisted: PersistedTopic = {
      name,
      id: crypto.randomUUID(),
      partitionCount,
      overrides: checked,
    };
    const topic = this.#openTopic(persisted);
    this.#save();
    this.#log.info(`Created topic "${name}" with ${partitionCount} partition(s), id ${topic.id}.`);
    return topic;
  }

  /**
   * Deletes a topic: removes its metadata and files at once; an fd that a
   * response in flight still sends from stays open until that send settles
   * (the log's read leases, see `PartitionLog.deleteFiles`).
   */
  delete(name: string): void {
    const topic = this.#byName.get(name);
    if (topic === undefined) {
      throw new KafkaError(
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        `Topic "${name}" does not exist.`,
      );
    }
    this.#byName.delete(name);
    this.#byId.delete(topic.id);
    this.#save();
    for (const p of topic.partitions) p.log.deleteFiles();
    this.#log.info(`Deleted topic "${name}".`);
    for (const listener of this.#deletedListeners) listener(topic);
  }

  /**
   * Calls `listener` after every topic deletion, once the metadata no longer
   * names the topic (the group coordinator drops the topic's committed offsets).
   */
  onDeleted(listener: (topic: Topic) => void): void {
    this.#deletedListeners.push(listener);
  }

  /**
   * Replaces a topic's overrides (AlterConfigs, IncrementalAlterConfigs): checks every
   * setting (INVALID_CONFIG), persists them, and applies them to the open logs.
   */
  alterConfigs(topic: Topic, overrides: TopicConfigs, validateOnly = false): void {
    const checked: TopicConfigs = {};
    for (const [key, value] of Object.entries(overrides)) {
      try {
        checked[key] = validateTopicConfig(key, value);
      } catch (e) {
        if (e instanceof TopicConfigError) {
          throw new KafkaError(ErrorCode.INVALID_CONFIG, e.message);
        }
        throw e;
      }
    }
    if (validateOnly) return;
    const previous = { ...topic.overrides };
    for (const key of Object.keys(topic.overrides)) delete topic.overrides[key];
    Object.assign(topic.overrides, checked);
    try {
      this.#save();
    } catch (e) {
      for (const key of Object.keys(topic.overrides)) delete topic.overrides[key];
      Object.assign(topic.overrides, previous);
      throw e;
    }
    const logConfig = this.logConfig(this.configs(topic));
    for (const p of topic.partitions) p.log.reconfigure(logConfig);
    this.#log.info(`Altered configs of topic "${topic.name}": ${JSON.stringify(checked)}.`);
  }

  /** Flushes and closes every partition log. */
  close(): void {
    for (const topic of this.#byName.values()) {
      for (const p of topic.partitions) p.log.close();
    }
    this.#byName.clear();
    this.#byId.clear();
  }

  /** Storage settings for one topic's logs. */
  logConfig(configs: TopicConfigs): Partial<LogConfig> {
    return {
      segmentBytes: topicConfigNumber(configs, "segment.bytes"),
      segmentMs: topicConfigNumber(configs, "segment.ms"),
      indexIntervalBytes: topicConfigNumber(configs, "index.interval.bytes"),
      segmentIndexBytes: topicConfigNumber(configs, "segment.index.bytes"),
      maxMessageBytes: topicConfigNumber(configs, "max.message.bytes"),
      writerKind: this.#writerKind,
      retentionMs: topicConfigNumber(configs, "retention.ms"),
      retentionBytes: topicConfigNumber(configs, "retention.bytes"),
      cleanupDelete: configs["cleanup.policy"].split(",").includes("delete"),
      cleanupCompact: configs["cleanup.policy"].split(",").includes("compact"),
      deleteRetentionMs: topicConfigNumber(configs, "delete.retention.ms"),
      messageTimestampType: configs["message.timestamp.type"] === "LogAppendTime"
        ? "LogAppendTime"
        : "CreateTime",
      messageTimestampBeforeMaxMs: topicConfigNumber(configs, "message.timestamp.before.max.ms"),
      messageTimestampAfterMaxMs: topicConfigNumber(configs, "message.timestamp.after.max.ms"),
      flushMessages: topicConfigNumber(configs, "flush.messages"),
      flushMs: topicConfigNumber(configs, "flush.ms"),
    };
  }

  #openTopic(p: PersistedTopic): Topic {
    const partitions: Partition[] = [];
    const topic: Topic = {
      name: p.name,
      id: p.id,
      overrides: p.overrides,
      partitions,
      internal: p.name.startsWith("__"),
    };
    const logConfig = this.logConfig(this.configs(topic));
    for (let i = 0; i < p.partitionCount; i++) {
      const dir = this.#partitionDir(p.name, i);
      this.#libc.mkdirp(dir);
      partitions.push({
        topic,
        index: i,
        log: PartitionLog.open(this.#libc, dir, logConfig, { logger: this.#log }),
      });
    }
    this.#byName.set(p.name, topic);
    this.#byId.set(p.id, topic);
    return topic;
  }

  /** Removes partition directories of topics deleted before a crash let them go. */
  #removeOrphans(): void {
    for (const entry of this.#libc.readdir(this.#dataDir)) {
      const m = /^(.+)-(\d+)$/.exec(entry.name);
      if (!entry.isDirectory || m === null) continue;
      const topic = this.#byName.get(m[1]);
      if (topic !== undefined && Number(m[2]) < topic.partitions.length) continue;
      this.#log.warn(`Removing "${entry.name}": it belongs to no topic (deleted before a crash).`);
      this.#libc.removeTree(`${this.#dataDir}/${entry.name}`);
    }
  }

  #save(): void {
    const topics: PersistedTopic[] = this.list().map((t) => ({
      name: t.name,
      id: t.id,
      partitionCount: t.partitions.length,
      overrides: t.overrides,
    }));
    this.#libc.writeFileAtomic(this.#metaPath(), encode({ version: META_VERSION, topics }));
  }

  #metaPath(): string {
    return `${this.#dataDir}/${META_FILE}`;
  }

  #partitionDir(topic: string, index: number): string {
    return `${this.#dataDir}/${topic}-${index}`;
  }
}
