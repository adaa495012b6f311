/**
 * Topic-level settings under Kafka's own property names, with their
 * broker-level defaults. One table drives validation (CreateTopics,
 * AlterConfigs), DescribeConfigs and the command line.
 *
 * @module
 */

/** Kafka's Long.MAX_VALUE as shown by DescribeConfigs for "never". */
export const KAFKA_LONG_MAX = "9223372036854775807";

/** How one topic setting is typed and checked. */
export interface TopicConfigDef {
  readonly type: "int" | "long" | "string" | "list";
  readonly defaultValue: number | string;
  /** The broker property that sets the default for every topic. */
  readonly brokerKey: string;
  readonly min?: number;
  readonly allowed?: readonly string[];
  readonly doc: string;
}

/** The topic settings Denka knows, by Kafka name. */
export const topicConfigDefs: Readonly<Record<string, TopicConfigDef>> = {
  "segment.bytes": {
    type: "int",
    defaultValue: 1073741824,
    brokerKey: "log.segment.bytes",
    min: 14,
    doc: "Size of a log segment file before it rolls.",
  },
  "segment.ms": {
    type: "long",
    defaultValue: 604800000,
    brokerKey: "log.roll.ms",
    min: 1,
    doc: "Age after which a segment rolls even if it is not full.",
  },
  "segment.index.bytes": {
    type: "int",
    defaultValue: 10485760,
    brokerKey: "log.index.size.max.bytes",
    min: 8,
    doc: "Preallocated size of each offset and time index file.",
  },
  "index.interval.bytes": {
    type: "int",
    defaultValue: 4096,
    brokerKey: "log.index.interval.bytes",
    min: 0,
    doc: "Bytes of log between two offset index entries.",
  },
  "max.message.bytes": {
    type: "int",
    defaultValue: 1048588,
    brokerKey: "message.max.bytes",
    min: 0,
    doc: "Largest record batch the topic accepts.",
  },
  "retention.ms": {
    type: "long",
    defaultValue: 604800000,
    brokerKey: "log.retention.ms",
    min: -1,
    doc: "Age after which whole segments are deleted (-1: never).",
  },
  "retention.bytes": {
    type: "long",
    defaultValue: -1,
    brokerKey: "log.retention.bytes",
    min: -1,
    doc: "Partition size above which the oldest segments are deleted (-1: never).",
  },
  "cleanup.policy": {
    type: "list",
    defaultValue: "delete",
    brokerKey: "log.cleanup.policy",
    allowed: ["delete", "compact"],
    doc: "Delete old segments, compact by key, or both.",
  },
  "delete.retention.ms": {
    type: "long",
    defaultValue: 86400000,
    brokerKey: "log.cleaner.delete.retention.ms",
    min: 0,
    doc: "How long a tombstone stays readable after compaction first keeps it.",
  },
  "message.timestamp.type": {
    type: "string",
    defaultValue: "CreateTime",
    brokerKey: "log.message.timestamp.type",
    allowed: ["CreateTime", "LogAppendTime"],
    doc: "Whether record timestamps come from the producer or the broker.",
  },
  "message.timestamp.before.max.ms": {
    type: "long",
    defaultValue: KAFKA_LONG_MAX,
    brokerKey: "log.message.timestamp.before.max.ms",
    min: 0,
    doc: "How far a CreateTime record's timestamp may lie before the broker's clock.",
  },
  "message.timestamp.after.max.ms": {
    type: "long",
    defaultValue: KAFKA_LONG_MAX,
    brokerKey: "log.message.timestamp.after.max.ms",
    min: 0,
    doc: "How far a CreateTime record's timestamp may lie after the broker's clock.",
  },
  "compression.type": {
    type: "string",
    defaultValue: "producer",
    brokerKey: "compression.type",
    allowed: ["producer"],
    doc: "Batches are stored as the producer compressed them.",
  },
  "flush.messages": {
    type: "long",
    defaultValue: KAFKA_LONG_MAX,
    brokerKey: "log.flush.interval.messages",
    min: 1,
    doc: "Records appended between two forced flushes (default: rely on the page cache).",
  },
  "flush.ms": {
    type: "long",
    defaultValue: KAFKA_LONG_MAX,
    brokerKey: "log.flush.interval.ms",
    min: 0,
    doc: "Milliseconds between two forced flushes (default: rely on the page cache).",
  },
  "min.insync.replicas": {
    type: "int",
    defaultValue: 1,
    brokerKey: "min.insync.replicas",
    min: 1,
    doc: "Single node: always 1.",
  },
};

/** A topic's settings as strings, Kafka's representation on the wire. */
export type TopicConfigs = Record<string, string>;

/** Why a setting was refused: a sentence for the client. */
export class TopicConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TopicConfigError";
  }
}

/** Checks one setting; returns its normalised string or throws TopicConfigError. */
export function validateTopicConfig(name: string, value: string | null): string {
  const def = topicConfigDefs[name];
  if (def === undefined) throw new TopicConfigError(`Unknown topic config "${name}".`);
  if (value === null) throw new TopicConfigError(`Config "${name}" needs a value.`);
  const trimmed = value.trim();
  if (def.type === "int" || def.type === "long") {
    if (trimmed === KAFKA_LONG_MAX && def.type === "long") return trimmed;
    if (!/^-?\d+$/.test(trimmed)) {
      throw new TopicConfigError(`Config "${name}" must be an integer, got "${value}".`);
    }
    const n = Number(trimmed);
    const max = def.type === "int" ? 2147483647 : Number.MAX_SAFE_INTEGER;
    if (n > max || (def.min !== undefined && n < def.min)) {
      throw new TopicConfigError(
        `Config "${name}" must be between ${def.min ?? "-inf"} and ${max}, got "${value}".`,
      );
    }
    return String(n);
  }
  const parts = def.type === "list" ? trimmed.split(",").map((p) => p.trim()) : [trimmed];
  for (const part of parts) {
    if (def.allowed !== undefined && !def.allowed.includes(part)) {
      throw new TopicConfigError(
        `Config "${name}" must be one of ${
          def.allowed.map((a) => `"${a}"`).join(", ")
        }, got "${value}".`,
      );
    }
  }
  return parts.join(",");
}

/** A numeric setting, with Kafka's Long.MAX_VALUE read as `Infinity`. */
export function topicConfigNumber(configs: TopicConfigs, name: string): number {
  const value = configs[name];
  if (value === KAFKA_LONG_MAX) return Infinity;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new TopicConfigError(`Config "${name}" is not a number.`);
  return n;
}

/** The broker's defaults for every topic setting. */
export function defaultTopicConfigs(): TopicConfigs {
  const out: TopicConfigs = {};
  for (const [name, def] of Object.entries(topicConfigDefs)) out[name] = String(def.defaultValue);
  return out;
}
