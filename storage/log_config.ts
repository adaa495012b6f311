/**
 * Per-log limits. Field names are Kafka's topic properties in camelCase, which
 * already end in their unit (`segment.bytes` → `segmentBytes`, `segment.ms` →
 * `segmentMs`).
 *
 * @module
 */

import { strict as assert } from "node:assert";
import type { WriterKind } from "./segment_writer.ts";
import { POSITION_BYTES_MAX } from "./offset_index.ts";

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

/** Fills unset fields with {@linkcode LOG_CONFIG_DEFAULT} and checks the limits. */
export function logConfig(overrides: Partial<LogConfig> = {}): LogConfig {
  const config = { ...LOG_CONFIG_DEFAULT, ...overrides };
  assert(
    config.segmentBytes >= 14 && config.segmentBytes <= POSITION_BYTES_MAX,
    `segment.bytes "${config.segmentBytes}" out of range`,
  );
  assert(config.segmentMs >= 1, `segment.ms "${config.segmentMs}" out of range`);
  assert(
    config.indexIntervalBytes >= 0,
    `index.interval.bytes "${config.indexIntervalBytes}" out of range`,
  );
  assert(
    config.segmentIndexBytes >= 12,
    `segment.index.bytes "${config.segmentIndexBytes}" out of range`,
  );
  assert(config.maxMessageBytes >= 0, `max.message.bytes "${config.maxMessageBytes}" out of range`);
  assert(
    config.writerKind === "pwrite" || config.writerKind === "mmap",
    `Unknown writer "${config.writerKind}"`,
  );
  assert(
    config.mmapChunkBytes > 0 && config.mmapChunkBytes % 65536 === 0,
    `mmap chunk "${config.mmapChunkBytes}" is not a multiple of 64 KiB`,
  );
  assert(config.flushMessages >= 1, `flush.messages "${config.flushMessages}" out of range`);
  assert(config.flushMs >= 0, `flush.ms "${config.flushMs}" out of range`);
  return config;
}
