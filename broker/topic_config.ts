/**
 * Topic-level settings under Kafka's own property names, with their
 * broker-level defaults. One table drives validation (CreateTopics,
 * AlterConfigs), DescribeConfigs and the command line. The bounds of every
 * setting that reaches storage are storage's own ({@linkcode LOG_CONFIG_BOUNDS}),
 * so a value accepted here is one a partition log can open.
 *
 * @module
 */

import {
  checkLogConfig,
  INT32_MAX,
  LOG_CONFIG_BOUNDS,
  LOG_CONFIG_DEFAULT,
  type LogConfig,
} from "../storage/log_config.ts";

/** Kafka's Long.MAX_VALUE as shown by DescribeConfigs for "never". */
export const KAFKA_LONG_MAX = "9223372036854775807";

/** How one topic setting is typed and checked. */
export interface TopicConfigDef {
  readonly type: "int" | "long" | "string" | "list";
  readonly defaultValue: number | string;
  /** The broker property that sets the default for every topic. */
  readonly brokerKey: string;
  readonly min?: number;
  /** Default: the type's largest value. */
  readonly max?: number;
  /** Why the bounds are what they are (shown when a value is refused). */
  readonly why?: string;
  readonly allowed?: readonly string[];
  readonly doc: string;
}

/** A def's bounds from storage's (an infinite max: the type's own). */
function storageBounds(b: { min: number; max: number; why?: string }) {
  return {
    min: b.min,
    ...(Number.isFinite(b.max) ? { max: b.max } : {}),
    ...(b.why === undefined ? {} : { why: b.why }),
  };
}

/** The topic settings Denka knows, by Kafka name. */
export const topicConfigDefs: Readonly<Record<string, TopicConfigDef>> = {
  "segment.bytes": {
    type: "int",
    defaultValue: 1073741824,
    brokerKey: "log.segment.bytes",
    ...storageBounds(LOG_CONFIG_BOUNDS.segmentBytes),
    doc: "Size of a log segment file before it rolls.",
  },
  "segment.ms": {
    type: "long",
    defaultValue: 604800000,
    brokerKey: "log.roll.ms",
    ...storageBounds(LOG_CONFIG_BOUNDS.segmentMs),
    doc: "Age after which a segment rolls even if it is not full.",
  },
  "segment.index.bytes": {
    type: "int",
    defaultValue: 10485760,
    brokerKey: "log.index.size.max.bytes",
    ...storageBounds(LOG_CONFIG_BOUNDS.segmentIndexBytes),
    doc: "Preallocated size of each offset and time index file.",
  },
  "index.interval.bytes": {
    type: "int",
    defaultValue: 4096,
    brokerKey: "log.index.interval.bytes",
    ...storageBounds(LOG_CONFIG_BOUNDS.indexIntervalBytes),
    doc: "Bytes of log between two offset index entries.",
  },
  "max.message.bytes": {
    type: "int",
    defaultValue: 1048588,
    brokerKey: "message.max.bytes",
    ...storageBounds(LOG_CONFIG_BOUNDS.maxMessageBytes),
    doc: "Largest record batch the topic accepts.",
  },
  "retention.ms": {
    type: "long",
    defaultValue: 604800000,
    brokerKey: "log.retention.ms",
    ...storageBounds(LOG_CONFIG_BOUNDS.retentionMs),
    doc: "Age after which whole segments are deleted (-1: never).",
  },
  "retention.bytes": {
    type: "long",
    defaultValue: -1,
    brokerKey: "log.retention.bytes",
    ...storageBounds(LOG_CONFIG_BOUNDS.retentionBytes),
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
    ...storageBounds(LOG_CONFIG_BOUNDS.deleteRetentionMs),
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
    ...storageBounds(LOG_CONFIG_BOUNDS.flushMessages),
    doc: "Records appended between two forced flushes (default: rely on the page cache).",
  },
  "flush.ms": {
    type: "long",
    defaultValue: KAFKA_LONG_MAX,
    brokerKey: "log.flush.interval.ms",
    ...storageBounds(LOG_CONFIG_BOUNDS.flushMs),
    doc: "Milliseconds between two forced flushes (default: rely on the page cache).",
  },
  "unclean.leader.election.enable": {
    type: "string",
    defaultValue: "false",
    brokerKey: "unclean.leader.election.enable",
    allowed: ["true", "false"],
    doc: "Whether an out-of-sync replica may lead when no in-sync one is left (cluster).",
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
    const max = def.max ?? (def.type === "int" ? INT32_MAX : Number.MAX_SAFE_INTEGER);
    if (n > max || (def.min !== undefined && n < def.min)) {
      const why = def.why === undefined ? "" : ` (${def.why})`;
      throw new TopicConfigError(
        `Config "${name}" must be between ${def.min ?? "-inf"} and ${max}${why}, got "${value}".`,
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

/** Storage settings from a topic's effective settings (defaults overlaid with overrides). */
export function logConfigOf(
  configs: TopicConfigs,
  writerKind: LogConfig["writerKind"],
): Partial<LogConfig> {
  const policies = configs["cleanup.policy"].split(",");
  return {
    segmentBytes: topicConfigNumber(configs, "segment.bytes"),
    segmentMs: topicConfigNumber(configs, "segment.ms"),
    indexIntervalBytes: topicConfigNumber(configs, "index.interval.bytes"),
    segmentIndexBytes: topicConfigNumber(configs, "segment.index.bytes"),
    maxMessageBytes: topicConfigNumber(configs, "max.message.bytes"),
    writerKind,
    retentionMs: topicConfigNumber(configs, "retention.ms"),
    retentionBytes: topicConfigNumber(configs, "retention.bytes"),
    cleanupDelete: policies.includes("delete"),
    cleanupCompact: policies.includes("compact"),
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

/**
 * A topic's overrides checked one by one ({@linkcode validateTopicConfig}), then the
 * storage config they make over `defaults` checked as storage will check it
 * (`checkLogConfig`, the predicate `logConfig()` asserts): the normalised overrides,
 * or a TopicConfigError saying what storage would refuse.
 */
export function checkTopicOverrides(overrides: TopicConfigs, defaults: TopicConfigs): TopicConfigs {
  const checked: TopicConfigs = {};
  for (const [key, value] of Object.entries(overrides)) {
    checked[key] = validateTopicConfig(key, value);
  }
  const violation = checkLogConfig({
    ...LOG_CONFIG_DEFAULT,
    ...logConfigOf({ ...defaults, ...checked }, LOG_CONFIG_DEFAULT.writerKind),
  });
  if (violation !== undefined) throw new TopicConfigError(`Storage refuses: ${violation.message}`);
  return checked;
}
