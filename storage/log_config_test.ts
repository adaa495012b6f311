import { assert } from "../util/assert.ts";
import { LOG_CONFIG_DEFAULT, logConfig } from "./log_config.ts";

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
