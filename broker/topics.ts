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
import { joinPath, parsePartitionDirName, partitionDirName } from "../storage/log_files.ts";
import { type AppendSuccess, PartitionLog } from "../storage/partition_log.ts";
import type { Logger } from "../util/log.ts";
import { KafkaError } from "./kafka_error.ts";
import {
  checkTopicOverrides,
  logConfigOf,
  TopicConfigError,
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
  /** The clock of the logs' segment times and flush times (default `Date.now`). */
  readonly nowMs?: () => number;
  /**
   * Called after every append to a partition of a topic, whichever front door it came
   * through: wakes long-poll fetches and counts traffic (the broker sets it).
   */
  readonly onAppend?: (partition: Partition, appended: AppendSuccess) => void;
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
  #defaults: TopicConfigs;
  readonly #writerKind: LogConfig["writerKind"];
  readonly #log: Logger;
  readonly #nowMs: (() => number) | undefined;
  readonly #onAppend: ((partition: Partition, appended: AppendSuccess) => void) | undefined;
  readonly #byName = new Map<string, Topic>();
  readonly #byId = new Map<string, Topic>();
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
    this.#nowMs = options.nowMs;
    this.#onAppend = options.onAppend;
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

  /** The broker's topic defaults as they stand (static, or changed at run time). */
  get defaults(): Readonly<TopicConfigs> {
    return this.#defaults;
  }

  /**
   * Replaces the broker's topic defaults (dynamic broker configs) and applies them to every
   * open log; topics keep their own overrides. A log that refuses the settings throws
   * TopicConfigError, and the caller restores the previous defaults.
   */
  setDefaults(defaults: TopicConfigs): void {
    this.#defaults = { ...defaults };
    for (const topic of this.#byName.values()) {
      const logConfig = this.logConfig(this.configs(topic));
      for (const p of topic.partitions) p.log.reconfigure(logConfig);
    }
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
    return this.#checkOverrides(overrides);
  }

  /**
   * Creates a topic and its partition directories; persists the metadata first. `id`: the
   * topic id a cluster gave it (default: a new one).
   */
  create(
    name: string,
    partitionCount: number,
    overrides: TopicConfigs = {},
    id: string = crypto.randomUUID(),
  ): Topic {
    const checked = this.validateCreate(name, partitionCount, overrides);
    const persisted: PersistedTopic = {
      name,
      id,
      partitionCount,
      overrides: checked,
    };
    // Applied (the logs opened) before saved; either failing leaves no topic behind.
    let topic: Topic | undefined = undefined;
    try {
      topic = this.#openTopic(persisted);
      this.#save();
    } catch (e) {
      if (topic !== undefined) this.#forget(topic);
      else this.#removePartitionDirs(name, partitionCount);
      if (!(e instanceof IoError)) throw e;
      throw new KafkaError(
        ErrorCode.KAFKA_STORAGE_ERROR,
        `Creating topic "${name}" failed: ${e.message}`,
      );
    }
    this.#log.info(`Created topic "${name}" with ${partitionCount} partition(s), id ${topic.id}.`);
    return topic;
  }

  /** What a creation that failed while opening its logs left (they were closed). */
  #removePartitionDirs(name: string, partitionCount: number): void {
    for (let i = 0; i < partitionCount; i++) {
      const dir = this.#partitionDir(name, i);
      if (this.#libc.exists(dir)) this.#libc.removeTree(dir);
    }
  }

  /** Undoes a creation that could not be saved: the topic is unknown again and its files gone. */
  #forget(topic: Topic): void {
    this.#byName.delete(topic.name);
    this.#byId.delete(topic.id);
    for (const p of topic.partitions) p.log.deleteFiles();
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
   * setting and the storage config they make together (INVALID_CONFIG), applies them to
   * the open logs, then persists them (a failed save undoes the change). `validateOnly`
   * stops after the checks, so it answers what the real call would.
   */
  alterConfigs(topic: Topic, overrides: TopicConfigs, validateOnly = false): void {
    const checked = this.#checkOverrides(overrides);
    if (validateOnly) return;
    const previous = { ...topic.overrides };
    const apply = (next: TopicConfigs) => {
      for (const key of Object.keys(topic.overrides)) delete topic.overrides[key];
      Object.assign(topic.overrides, next);
      const logConfig = this.logConfig(this.configs(topic));
      for (const p of topic.partitions) p.log.reconfigure(logConfig);
    };
    try {
      apply(checked);
      this.#save();
    } catch (e) {
      apply(previous);
      if (!(e instanceof IoError)) throw e;
      throw new KafkaError(
        ErrorCode.KAFKA_STORAGE_ERROR,
        `Saving the configs of topic "${topic.name}" failed: ${e.message}`,
      );
    }
    this.#log.info(`Altered configs of topic "${topic.name}": ${JSON.stringify(checked)}.`);
  }

  /**
   * Raises `topic`'s partition count to `count` (CreatePartitions), crash-safely: the new
   * partition logs are opened first, then the count is persisted in one atomic metadata
   * write. A crash before that write leaves the old count (the new directories are orphans,
   * removed at the next start); after it, the new count. `validateOnly` checks and stops.
   */
  addPartitions(topic: Topic, count: number, validateOnly = false): void {
    const current = topic.partitions.length;
    if (!Number.isInteger(count) || count <= current || count > PARTITIONS_PER_TOPIC_MAX) {
      const why = count === current
        ? `Topic already has ${current} partition(s).`
        : count < current
        ? `The topic ${topic.name} currently has ${current} partition(s); ${count} would not be an increase.`
        : `Number of partitions must be at most ${PARTITIONS_PER_TOPIC_MAX}, got ${count}.`;
      throw new KafkaError(ErrorCode.INVALID_PARTITIONS, why);
    }
    if (this.#byName.get(topic.name) !== topic) {
      throw new KafkaError(
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        `Topic "${topic.name}" does not exist.`,
      );
    }
    if (validateOnly) return;
    const logConfig = this.logConfig(this.configs(topic));
    try {
      for (let i = current; i < count; i++) {
        topic.partitions.push(this.#openPartition(topic, i, logConfig));
      }
      this.#save();
    } catch (e) {
      for (const p of topic.partitions.splice(current)) p.log.deleteFiles();
      throw e;
    }
    this.#log.info(`Raised topic "${topic.name}" from ${current} to ${count} partition(s).`);
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
    return logConfigOf(configs, this.#writerKind);
  }

  /** {@linkcode checkTopicOverrides}, refusing with INVALID_CONFIG. */
  #checkOverrides(overrides: TopicConfigs): TopicConfigs {
    try {
      return checkTopicOverrides(overrides, this.#defaults);
    } catch (e) {
      if (e instanceof TopicConfigError) throw new KafkaError(ErrorCode.INVALID_CONFIG, e.message);
      throw e;
    }
  }

  /**
   * The saved overrides of a topic being opened, without those that are no longer valid
   * (a hand edit, an older broker's bounds): each is logged and the broker default used,
   * so that one bad value never keeps the broker from starting.
   */
  #usableOverrides(p: PersistedTopic): TopicConfigs {
    const usable: TopicConfigs = {};
    for (const [key, value] of Object.entries(p.overrides ?? {})) {
      try {
        usable[key] = validateTopicConfig(key, value);
      } catch (e) {
        if (!(e instanceof TopicConfigError)) throw e;
        this.#log.error(
          `Topic "${p.name}": ignoring its saved config ${key}="${value}": ${e.message} Using the broker default "${
            this.#defaults[key] ?? "none"
          }" instead; the next config change of the topic saves its overrides without it.`,
        );
      }
    }
    try {
      this.#checkOverrides(usable);
    } catch (e) {
      if (!(e instanceof KafkaError)) throw e;
      this.#log.error(
        `Topic "${p.name}": ignoring all its saved configs ${JSON.stringify(usable)}: ${e.message}`,
      );
      return {};
    }
    return usable;
  }

  #openTopic(p: PersistedTopic): Topic {
    const partitions: Partition[] = [];
    const topic: Topic = {
      name: p.name,
      id: p.id,
      overrides: this.#usableOverrides(p),
      partitions,
      internal: p.name.startsWith("__"),
    };
    const logConfig = this.logConfig(this.configs(topic));
    try {
      for (let i = 0; i < p.partitionCount; i++) {
        partitions.push(this.#openPartition(topic, i, logConfig));
      }
    } catch (e) {
      for (const opened of partitions) opened.log.close(); // no fd left behind
      throw e;
    }
    this.#byName.set(p.name, topic);
    this.#byId.set(p.id, topic);
    return topic;
  }

  #openPartition(topic: Topic, index: number, logConfig: Partial<LogConfig>): Partition {
    const dir = this.#partitionDir(topic.name, index);
    this.#libc.mkdirp(dir);
    const onAppend = this.#onAppend;
    let partition: Partition | undefined = undefined;
    const log = PartitionLog.open(this.#libc, dir, logConfig, {
      logger: this.#log,
      nowMs: this.#nowMs,
      onAppend: onAppend && ((appended) => onAppend(partition!, appended)),
    });
    partition = { topic, index, log };
    return partition;
  }

  /** Removes partition directories of topics deleted before a crash let them go. */
  #removeOrphans(): void {
    for (const entry of this.#libc.readdir(this.#dataDir)) {
      const parsed = parsePartitionDirName(entry.name);
      if (!entry.isDirectory || parsed === undefined) continue;
      const topic = this.#byName.get(parsed.topic);
      if (topic !== undefined && parsed.partition < topic.partitions.length) continue;
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
    return joinPath(this.#dataDir, partitionDirName(topic, index));
  }
}
