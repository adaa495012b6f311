import { memoryLibc } from "../ffi/memory.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { encodeRecordBatch } from "../protocol/records.ts";
import { assert, assertEquals, assertThrows } from "../util/assert.ts";
import { createLogger } from "../util/log.ts";
import { KafkaError } from "./kafka_error.ts";
import { defaultTopicConfigs } from "./topic_config.ts";
import { TopicRegistry, validateTopicName } from "./topics.ts";

function open(libc = memoryLibc({ seed: 1 })) {
  const registry = TopicRegistry.open(libc, {
    dataDir: "/data",
    defaults: defaultTopicConfigs(),
    writerKind: "pwrite",
    logger: createLogger("silent"),
  });
  return { libc, registry };
}

function kafkaCode(fn: () => unknown): number {
  try {
    fn();
  } catch (e) {
    if (e instanceof KafkaError) return e.code;
    throw e;
  }
  throw new Error("expected a KafkaError");
}

Deno.test("TopicRegistry keeps topic ids and overrides across a reopen", () => {
  const { libc, registry } = open();
  const t = registry.create("orders", 3, { "retention.ms": "1000" });
  assertEquals(t.partitions.length, 3);
  assert(/^[0-9a-f-]{36}$/.test(t.id));
  registry.close();
  const again = open(libc).registry;
  const t2 = again.get("orders")!;
  assertEquals(t2.id, t.id);
  assertEquals(again.getById(t.id)?.name, "orders");
  assertEquals(again.configs(t2)["retention.ms"], "1000");
  assertEquals(again.configs(t2)["segment.bytes"], "1073741824");
  again.close();
});

Deno.test("TopicRegistry.create() refuses what Kafka refuses", () => {
  const { registry } = open();
  registry.create("a", 1);
  assertEquals(kafkaCode(() => registry.create("a", 1)), ErrorCode.TOPIC_ALREADY_EXISTS);
  assertEquals(kafkaCode(() => registry.create("b", 0)), ErrorCode.INVALID_PARTITIONS);
  assertEquals(
    kafkaCode(() => registry.create("c", 1, { "segment.bytes": "x" })),
    ErrorCode.INVALID_CONFIG,
  );
  assertEquals(
    kafkaCode(() => registry.create("d", 1, { "no.such": "1" })),
    ErrorCode.INVALID_CONFIG,
  );
  assertEquals(kafkaCode(() => registry.create("bad/name", 1)), ErrorCode.INVALID_TOPIC_EXCEPTION);
  registry.close();
});

Deno.test("validateTopicName() follows Kafka's rules", () => {
  validateTopicName("ok.name_with-dashes");
  for (const bad of ["", ".", "..", "a b", "é", "x".repeat(250)]) {
    assertThrows(() => validateTopicName(bad), KafkaError);
  }
});

Deno.test("a deleted topic's files go at once; their fds stay open until leased reads settle", () => {
  const { libc, registry } = open();
  const t = registry.create("gone", 1);
  const p = t.partitions[0];
  const batch = encodeRecordBatch([{ key: null, value: new Uint8Array([1]), timestampMs: 1 }]);
  assert(p.log.append(batch, { nowMs: 1 }).ok);
  const fdsBefore = libc.openFdCount();
  const release = p.log.retainReads();
  const slices = p.log.read(0, 1 << 20).slices;
  registry.delete("gone");
  assertEquals(registry.get("gone"), undefined);
  assert(!libc.exists("/data/gone-0"));
  // The name is free at once, as after Kafka's rename to "-delete".
  const again = registry.create("gone", 1);
  assert(libc.exists("/data/gone-0"));
  // The leased fd still reads the deleted bytes.
  const socket = libc.openSocket();
  for (const s of slices) libc.sendfile(socket, s.fd, s.positionBytes, s.sizeBytes);
  assertEquals(libc.socketBytes(socket).length, batch.length);
  const fdsHeld = libc.openFdCount();
  release();
  assert(libc.openFdCount() < fdsHeld, "the deleted log's fd was not closed on release");
  assert(libc.openFdCount() <= fdsBefore + 3, "the new topic opened more than one segment");
  assertEquals(again.partitions[0].log.logEndOffset, 0);
  registry.close();
});

Deno.test("TopicRegistry.open() removes directories of topics it does not know", () => {
  const libc = memoryLibc({ seed: 2 });
  libc.mkdirp("/data/orphan-0");
  const { registry } = open(libc);
  assert(!libc.exists("/data/orphan-0"));
  registry.close();
});
