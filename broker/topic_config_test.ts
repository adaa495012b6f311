import { LOG_CONFIG_BOUNDS, logConfig } from "../storage/log_config.ts";
import { TIME_INDEX_ENTRY_BYTES } from "../storage/time_index.ts";
import { assertEquals, assertThrows } from "../util/assert.ts";
import {
  checkTopicOverrides,
  defaultTopicConfigs,
  logConfigOf,
  topicConfigDefs,
  TopicConfigError,
  validateTopicConfig,
} from "./topic_config.ts";

/** Topic settings that reach storage, by the LogConfig field they set. */
const STORAGE_KEYS: Record<keyof typeof LOG_CONFIG_BOUNDS, string> = {
  segmentBytes: "segment.bytes",
  segmentMs: "segment.ms",
  indexIntervalBytes: "index.interval.bytes",
  segmentIndexBytes: "segment.index.bytes",
  maxMessageBytes: "max.message.bytes",
  retentionMs: "retention.ms",
  retentionBytes: "retention.bytes",
  deleteRetentionMs: "delete.retention.ms",
  flushMessages: "flush.messages",
  flushMs: "flush.ms",
};

Deno.test("topicConfigDefs: every bound of a setting storage reads is storage's own", () => {
  assertEquals(topicConfigDefs["segment.index.bytes"].min, TIME_INDEX_ENTRY_BYTES);
  for (const [field, key] of Object.entries(STORAGE_KEYS)) {
    const bounds = LOG_CONFIG_BOUNDS[field as keyof typeof LOG_CONFIG_BOUNDS];
    const min = String(bounds.min);
    // The smallest value accepted is one storage opens; one below is refused here, not there.
    const config = logConfigOf(
      { ...defaultTopicConfigs(), [key]: validateTopicConfig(key, min) },
      "pwrite",
    );
    logConfig(config);
    assertThrows(() => validateTopicConfig(key, String(bounds.min - 1)), TopicConfigError);
    if (Number.isFinite(bounds.max)) {
      assertThrows(() => validateTopicConfig(key, String(bounds.max + 1)), TopicConfigError);
    }
  }
});

Deno.test("checkTopicOverrides() refuses a storage config the defaults make invalid", () => {
  const defaults = { ...defaultTopicConfigs(), "segment.index.bytes": "10" };
  assertThrows(() => checkTopicOverrides({}, defaults), TopicConfigError, "Storage refuses");
  assertEquals(checkTopicOverrides({ "segment.index.bytes": " 24" }, defaults), {
    "segment.index.bytes": "24",
  });
});
