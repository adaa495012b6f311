/**
 * Per-log limits. Field names are Kafka's topic properties in camelCase, which
 * already end in their unit (`segment.bytes` → `segmentBytes`, `segment.ms` →
 * `segmentMs`).
 *
 * @module
 */

import { assert } from "../util/assert.ts";
import type { WriterKind } from "./segment_writer.ts";
import { OFFSET_INDEX_ENTRY_BYTES, POSITION_BYTES_MAX } from "./offset_index.ts";
import { TIME_INDEX_ENTRY_BYTES } from "./time_index.ts";

/** The limits of one partition log. */
export interface LogConfig {
  /** `segment.bytes`: roll when the next append would take the segment past this (default 1 GiB). */
  readonly segmentBytes: number;
  /** `segment.ms`: roll a non-empty segment this long after its first record (default 7 days). */
  readonly segmentMs: number;
  /** `index.interval.bytes`: bytes of log between offset index entries (default 4096). */
  readonly indexIntervalBytes: number;
  /** `segment.index.bytes`: preallocated size of each index file (default 10 MiB). */
  readonly segmentIndexBytes: number;
  /** `max.message.bytes`: the largest batch accepted (default 1048588). */
  readonly maxMessageBytes: number;
  /** How bytes reach the page cache (default `"pwrite"`; mmap is ~0.6× on this VM). */
  readonly writerKind: WriterKind;
  /** mmap writer only: growth and mapping step of a segment file (default 32 MiB, a multiple of 64 KiB). */
  readonly mmapChunkBytes: number;
  /** `retention.ms`: delete a segment whose newest record is older than this (-1: never; default 7 days). */
  readonly retentionMs: number;
  /** `retention.bytes`: delete the oldest segments while the log is larger (-1: never, the default). */
  readonly retentionBytes: number;
  /** `cleanup.policy` contains `delete`: retention applies (default true). */
  readonly cleanupDelete: boolean;
  /** `cleanup.policy` contains `compact`: the cleaner keeps the latest record per key (default false). */
  readonly cleanupCompact: boolean;
  /** `delete.retention.ms`: how long a compacted tombstone stays readable (default 1 day). */
  readonly deleteRetentionMs: number;
  /** `message.timestamp.type`: which record timestamps produce checks (default CreateTime). */
  readonly messageTimestampType: "CreateTime" | "LogAppendTime";
  /** `message.timestamp.before.max.ms`: how old a CreateTime timestamp may be (default Infinity). */
  readonly messageTimestampBeforeMaxMs: number;
  /** `message.timestamp.after.max.ms`: how far ahead a CreateTime timestamp may be (default Infinity). */
  readonly messageTimestampAfterMaxMs: number;
  /** `flush.messages`: records appended between forced flushes (default Infinity: the page cache). */
  readonly flushMessages: number;
  /** `flush.ms`: longest time data stays unflushed (default Infinity: the page cache). */
  readonly flushMs: number;
}

/** Kafka's defaults. */
export const LOG_CONFIG_DEFAULT: LogConfig = {
  segmentBytes: 1024 ** 3,
  segmentMs: 7 * 24 * 60 * 60 * 1000,
  indexIntervalBytes: 4096,
  segmentIndexBytes: 10 * 1024 * 1024,
  maxMessageBytes: 1048588,
  writerKind: "pwrite",
  mmapChunkBytes: 32 * 1024 * 1024,
  retentionMs: 7 * 24 * 60 * 60 * 1000,
  retentionBytes: -1,
  cleanupDelete: true,
  cleanupCompact: false,
  deleteRetentionMs: 24 * 60 * 60 * 1000,
  messageTimestampType: "CreateTime",
  messageTimestampBeforeMaxMs: Infinity,
  messageTimestampAfterMaxMs: Infinity,
  flushMessages: Infinity,
  flushMs: Infinity,
};

/** The values storage accepts for one numeric setting, inclusive. */
export interface ConfigBounds {
  readonly min: number;
  readonly max: number;
  /** Why the bound is what it is, for an error message. */
  readonly why?: string;
}

/** Kafka's Integer.MAX_VALUE: the largest value of an `int` setting. */
export const INT32_MAX = 2 ** 31 - 1;

/**
 * What {@linkcode logConfig} accepts, by field: the one place these limits live.
 * Topic configs (`broker/topic_config.ts`) and broker options take their bounds from
 * here, so a value they accept is a value storage can open.
 */
export const LOG_CONFIG_BOUNDS = {
  segmentBytes: {
    min: 14, // Kafka's own minimum (LegacyRecord.RECORD_OVERHEAD_V0)
    max: POSITION_BYTES_MAX,
    why: "offset index positions are 31-bit",
  },
  segmentMs: { min: 1, max: Infinity },
  indexIntervalBytes: { min: 0, max: INT32_MAX },
  segmentIndexBytes: {
    min: Math.max(OFFSET_INDEX_ENTRY_BYTES, TIME_INDEX_ENTRY_BYTES),
    max: INT32_MAX,
    why:
      `each index file must hold one entry, and a time index entry is ${TIME_INDEX_ENTRY_BYTES} bytes`,
  },
  maxMessageBytes: { min: 0, max: INT32_MAX },
  retentionMs: { min: -1, max: Infinity },
  retentionBytes: { min: -1, max: Infinity },
  deleteRetentionMs: { min: 0, max: Infinity },
  flushMessages: { min: 1, max: Infinity },
  flushMs: { min: 0, max: Infinity },
} as const satisfies Partial<Record<keyof LogConfig, ConfigBounds>>;

/** A setting outside {@linkcode LOG_CONFIG_BOUNDS}, with a sentence saying so. */
export interface LogConfigViolation {
  readonly field: keyof typeof LOG_CONFIG_BOUNDS;
  readonly message: string;
}

/** The first field of `config` outside its bounds, or undefined when storage accepts it all. */
export function checkLogConfig(config: LogConfig): LogConfigViolation | undefined {
  for (const [field, bounds] of Object.entries(LOG_CONFIG_BOUNDS)) {
    const value = config[field as keyof typeof LOG_CONFIG_BOUNDS];
    const b: ConfigBounds = bounds;
    if (typeof value === "number" && value >= b.min && value <= b.max) continue;
    return {
      field: field as keyof typeof LOG_CONFIG_BOUNDS,
      message: `${field} must be between ${b.min} and ${b.max}${
        b.why === undefined ? "" : ` (${b.why})`
      }, got "${value}".`,
    };
  }
  return undefined;
}

/** Fills unset fields with {@linkcode LOG_CONFIG_DEFAULT} and checks the limits. */
export function logConfig(overrides: Partial<LogConfig> = {}): LogConfig {
  const config = { ...LOG_CONFIG_DEFAULT, ...overrides };
  const violation = checkLogConfig(config);
  assert(violation === undefined, violation?.message);
  assert(
    config.writerKind === "pwrite" || config.writerKind === "mmap",
    `Unknown writer "${config.writerKind}"`,
  );
  assert(
    config.mmapChunkBytes > 0 && config.mmapChunkBytes % 65536 === 0,
    `mmap chunk "${config.mmapChunkBytes}" is not a multiple of 64 KiB`,
  );
  return config;
}
