import { memoryLibc } from "../ffi/memory.ts";
import { Errno } from "../ffi/port.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { assert, assertEquals } from "../util/assert.ts";
import { createLogger } from "../util/log.ts";
import { resolveConfig } from "./config.ts";
import { ConfigSource, DynamicBrokerConfigs } from "./dynamic_config.ts";
import { KafkaError } from "./kafka_error.ts";

function configWith(args: Record<string, string> = {}, topics: Record<string, string> = {}) {
  return resolveConfig([{ options: { "data-dir": "/data", ...args }, topics }]);
}

function kafkaError(fn: () => unknown): KafkaError {
  try {
    fn();
  } catch (e) {
    if (e instanceof KafkaError) return e;
    throw e;
  }
  throw new Error("expected a KafkaError");
}

Deno.test("DynamicBrokerConfigs.synonyms() lists the layers in Kafka's precedence", () => {
  const libc = memoryLibc();
  libc.mkdirp("/data");
  const dynamic = DynamicBrokerConfigs.open(libc, configWith({}, { "retention.ms": "60000" }));
  assertEquals(dynamic.synonyms("log.retention.ms"), [
    { name: "log.retention.ms", value: "60000", source: ConfigSource.STATIC_BROKER_CONFIG },
    { name: "log.retention.ms", value: "604800000", source: ConfigSource.DEFAULT_CONFIG },
  ]);
  assertEquals(dynamic.synonyms("log.segment.bytes")[0].source, ConfigSource.DEFAULT_CONFIG);
  dynamic.alter("default", { "log.retention.ms": "7200000" });
  dynamic.alter("broker", { "log.retention.ms": "3600000", "log.segment.bytes": "1048576" });
  assertEquals(dynamic.synonyms("log.retention.ms").map((s) => [s.value, s.source]), [
    ["3600000", ConfigSource.DYNAMIC_BROKER_CONFIG],
    ["7200000", ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG],
    ["60000", ConfigSource.STATIC_BROKER_CONFIG],
    ["604800000", ConfigSource.DEFAULT_CONFIG],
  ]);
  assertEquals(dynamic.topicDefaults()["retention.ms"], "3600000");
  assertEquals(dynamic.topicDefaults()["segment.bytes"], "1048576");
  dynamic.alter("broker", {}); // AlterConfigs semantics: the whole set
  assertEquals(dynamic.value("log.retention.ms"), "7200000");
  assertEquals(dynamic.number("quota.producer.default"), Infinity);
});

Deno.test("DynamicBrokerConfigs.alter() refuses static and bad values, naming them, and changes nothing", () => {
  const libc = memoryLibc();
  libc.mkdirp("/data");
  const dynamic = DynamicBrokerConfigs.open(libc, configWith());
  const applied: string[] = [];
  dynamic.bind((d) => applied.push(d.value("log.retention.ms")));
  const refused = kafkaError(() =>
    dynamic.alter("broker", { "log.dirs": "/x", "num.partitions": "3", "log.retention.ms": "1" })
  );
  assertEquals(refused.code, ErrorCode.INVALID_CONFIG);
  assert(refused.message.includes(`"log.dirs", "num.partitions"`), refused.message);
  const bad = kafkaError(() => dynamic.alter("default", { "log.segment.bytes": "lots" }));
  assertEquals(bad.code, ErrorCode.INVALID_CONFIG);
  assert(bad.message.includes(`"log.segment.bytes"`), bad.message);
  assertEquals(
    kafkaError(() => dynamic.alter("broker", { "quota.consumer.default": "0" })).code,
    ErrorCode.INVALID_CONFIG,
  );
  dynamic.alter("broker", { "log.retention.ms": "5" }, true);
  assertEquals(dynamic.values("broker"), {});
  assert(!libc.exists("/data/denka-broker-configs.json"));
  assertEquals(applied, ["604800000"], "refused or validate-only changes were applied");
});

Deno.test("DynamicBrokerConfigs persists both layers and reads them back", () => {
  const libc = memoryLibc();
  libc.mkdirp("/data");
  const dynamic = DynamicBrokerConfigs.open(libc, configWith());
  dynamic.alter("broker", { "message.max.bytes": "2000000" });
  dynamic.alter("default", { "log.cleanup.policy": "compact,delete" });
  libc.crash();
  const again = DynamicBrokerConfigs.open(libc, configWith());
  assertEquals(again.values("broker"), { "message.max.bytes": "2000000" });
  assertEquals(again.value("log.cleanup.policy"), "compact,delete");
  assertEquals(again.layerOf("0"), "broker");
  assertEquals(again.layerOf(""), "default");
  assertEquals(again.layerOf("7"), undefined);
});

Deno.test("DynamicBrokerConfigs.alter() undoes the applied change when the save fails", () => {
  const libc = memoryLibc({
    faults: [{
      syscall: "writeFileAtomic",
      pathIncludes: "denka-broker-configs",
      errno: Errno.ENOSPC,
    }],
  });
  libc.mkdirp("/data");
  const dynamic = DynamicBrokerConfigs.open(libc, configWith());
  const applied: string[] = [];
  dynamic.bind((d) => applied.push(d.value("log.retention.ms")));
  let failed = false;
  try {
    dynamic.alter("broker", { "log.retention.ms": "1000" });
  } catch {
    failed = true;
  }
  assert(failed, "the save fault did not surface");
  assertEquals(dynamic.value("log.retention.ms"), "604800000");
  assertEquals(applied, ["604800000", "1000", "604800000"]);
});

Deno.test("DynamicBrokerConfigs.open() drops a saved value it no longer accepts, with a warning", () => {
  const libc = memoryLibc();
  libc.mkdirp("/data");
  const text = JSON.stringify({
    version: 1,
    broker: { "log.retention.ms": "1000", "no.such.config": "1" },
    default: { "log.segment.bytes": "tiny" },
  });
  libc.writeFileAtomic("/data/denka-broker-configs.json", new TextEncoder().encode(text));
  const warnings: string[] = [];
  const logger = { ...createLogger("silent"), warn: (m: string) => warnings.push(m) };
  const dynamic = DynamicBrokerConfigs.open(libc, configWith(), logger);
  assertEquals(dynamic.values("broker"), { "log.retention.ms": "1000" });
  assertEquals(dynamic.values("default"), {});
  assertEquals(warnings.length, 2);
  assert(warnings[0].includes(`"no.such.config"`), warnings[0]);
});
