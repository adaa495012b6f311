import { assert } from "../util/assert.ts";
import { checkLogConfig, LOG_CONFIG_BOUNDS, LOG_CONFIG_DEFAULT, logConfig } from "./log_config.ts";
import { TIME_INDEX_ENTRY_BYTES } from "./time_index.ts";

Deno.test("logConfig() fills Kafka's defaults", () => {
  assert.deepEqual(logConfig(), LOG_CONFIG_DEFAULT);
  assert.equal(LOG_CONFIG_DEFAULT.segmentBytes, 1073741824);
  assert.equal(LOG_CONFIG_DEFAULT.segmentMs, 604800000);
  assert.equal(LOG_CONFIG_DEFAULT.indexIntervalBytes, 4096);
  assert.equal(LOG_CONFIG_DEFAULT.segmentIndexBytes, 10485760);
  assert.equal(LOG_CONFIG_DEFAULT.maxMessageBytes, 1048588);
  assert.equal(logConfig({ segmentBytes: 5000 }).segmentBytes, 5000);
});

Deno.test("logConfig() rejects limits out of range", () => {
  assert.throws(() => logConfig({ segmentBytes: 2 ** 31 }));
  assert.throws(() => logConfig({ segmentIndexBytes: 4 }));
  assert.throws(() => logConfig({ mmapChunkBytes: 4096 }));
  assert.throws(() => logConfig({ writerKind: "aio" as "pwrite" }));
});

Deno.test("LOG_CONFIG_BOUNDS.segmentIndexBytes starts at one time index entry, the widest", () => {
  assert.equal(LOG_CONFIG_BOUNDS.segmentIndexBytes.min, TIME_INDEX_ENTRY_BYTES);
  assert.equal(LOG_CONFIG_BOUNDS.segmentIndexBytes.min, 12);
  assert.doesNotThrow(() => logConfig({ segmentIndexBytes: 12 }));
  assert.throws(() => logConfig({ segmentIndexBytes: 11 }), /segmentIndexBytes must be between 12/);
});

Deno.test("checkLogConfig() names the first field out of its bounds", () => {
  assert.equal(checkLogConfig(LOG_CONFIG_DEFAULT), undefined);
  const violation = checkLogConfig({ ...LOG_CONFIG_DEFAULT, segmentIndexBytes: 10 });
  assert.equal(violation?.field, "segmentIndexBytes");
  assert.match(violation!.message, /got "10"/);
  assert.equal(checkLogConfig({ ...LOG_CONFIG_DEFAULT, flushMs: NaN })?.field, "flushMs");
  assert.equal(checkLogConfig({ ...LOG_CONFIG_DEFAULT, retentionMs: Infinity }), undefined);
});
