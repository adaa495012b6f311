import { memoryLibc } from "../ffi/memory.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { encodeRecordBatch } from "../protocol/records.ts";
import { assert, assertEquals, assertThrows } from "../util/assert.ts";
import { encode } from "../util/cbor.ts";
import { createLogger, type Logger } from "../util/log.ts";
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
  libc.mkdirp("/data/my-orphan-12");
  libc.mkdirp("/data/not_a_partition");
  const { registry } = open(libc);
  assert(!libc.exists("/data/orphan-0"));
  assert(!libc.exists("/data/my-orphan-12"));
  assert(libc.exists("/data/not_a_partition"), "only partition directories are removed");
  registry.close();
});

Deno.test("TopicRegistry.addPartitions() raises the count, persists it and refuses what Kafka refuses", () => {
  const { libc, registry } = open();
  const t = registry.create("grow", 2, { "retention.ms": "1000" });
  assertEquals(kafkaCode(() => registry.addPartitions(t, 2)), ErrorCode.INVALID_PARTITIONS);
  assertEquals(kafkaCode(() => registry.addPartitions(t, 1)), ErrorCode.INVALID_PARTITIONS);
  assertEquals(kafkaCode(() => registry.addPartitions(t, 10001)), ErrorCode.INVALID_PARTITIONS);
  registry.addPartitions(t, 5, true);
  assertEquals(t.partitions.length, 2, "validateOnly changed the topic");
  assert(!libc.exists("/data/grow-2"));
  registry.addPartitions(t, 5);
  assertEquals(t.partitions.map((p) => p.index), [0, 1, 2, 3, 4]);
  const appended = t.partitions[4].log.append(
    encodeRecordBatch([{ key: null, value: new Uint8Array([1]), timestampMs: 1 }]),
    { nowMs: 1 },
  );
  assert(appended.ok && appended.baseOffset === 0);
  assertEquals(
    t.partitions[4].log.config.retentionMs,
    1000,
    "new partitions take the topic's overrides",
  );
  registry.close();
  const again = open(libc).registry;
  assertEquals(again.get("grow")!.partitions.length, 5);
  assertEquals(again.get("grow")!.partitions[4].log.logEndOffset, 1);
  again.close();
});

/** A libc that throws at call number `state.limit` (a crash at that point), counting calls. */
function crashPoint(libc: ReturnType<typeof memoryLibc>) {
  const state = { calls: 0, limit: Infinity, stopped: false };
  const proxy = new Proxy(libc, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (state.calls++ === state.limit) {
          state.stopped = true;
          throw new Error("crash point");
        }
        return value.apply(target, args);
      };
    },
  });
  return { proxy, state };
}

Deno.test("TopicRegistry.addPartitions() interrupted at any libc call leaves the old or the new count after a crash", () => {
  for (let limit = 0;; limit++) {
    const libc = memoryLibc({ seed: 3 });
    const { proxy, state } = crashPoint(libc);
    const registry = open(proxy as typeof libc).registry;
    registry.create("grow", 2);
    state.calls = 0;
    state.limit = limit;
    let finished = false;
    try {
      registry.addPartitions(registry.get("grow")!, 4);
      finished = true;
    } catch (e) {
      if (!state.stopped) throw e;
    }
    libc.crash();
    const reopened = open(libc).registry;
    const count = reopened.get("grow")!.partitions.length;
    assert(count === 2 || count === 4, `crash at call ${limit} left ${count} partitions`);
    if (finished) assertEquals(count, 4);
    for (let i = count; i < 4; i++) assert(!libc.exists(`/data/grow-${i}`), `orphan grow-${i}`);
    for (const p of reopened.get("grow")!.partitions) {
      const r = p.log.append(
        encodeRecordBatch([{ key: null, value: new Uint8Array([1]), timestampMs: 1 }]),
        { nowMs: 1 },
      );
      assert(r.ok, `partition ${p.index} takes no append after the crash at call ${limit}`);
    }
    reopened.close();
    if (finished) {
      assert(limit > 10, `addPartitions made only ${limit} libc calls`);
      break;
    }
  }
});

function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger: Logger = {
    debug: () => {},
    info: () => {},
    warn: (m) => lines.push(`WARN ${m}`),
    error: (m) => lines.push(`ERROR ${m}`),
    child: () => logger,
  };
  return { logger, lines };
}

Deno.test("TopicRegistry refuses a segment.index.bytes storage cannot open, validateOnly alike", () => {
  const { registry } = open();
  let message = "";
  try {
    registry.validateCreate("t", 1, { "segment.index.bytes": "10" });
  } catch (e) {
    assert(e instanceof KafkaError && e.code === ErrorCode.INVALID_CONFIG);
    message = e.message;
  }
  assert(message.includes('"segment.index.bytes" must be between 12'), message);
  assertEquals(
    kafkaCode(() => registry.create("t", 1, { "segment.index.bytes": "10" })),
    ErrorCode.INVALID_CONFIG,
  );
  assertEquals(registry.get("t"), undefined);
  assertEquals(registry.create("t", 1, { "segment.index.bytes": "12" }).overrides, {
    "segment.index.bytes": "12",
  });
  registry.close();
});

Deno.test("TopicRegistry.alterConfigs() checks before it applies, and applies before it saves", () => {
  const { libc, registry } = open();
  const t = registry.create("t", 2, { "retention.ms": "1000" });
  const saved = libc.readFile("/data/denka-topics.cbor");
  for (const validateOnly of [true, false]) {
    assertEquals(
      kafkaCode(() => registry.alterConfigs(t, { "segment.index.bytes": "10" }, validateOnly)),
      ErrorCode.INVALID_CONFIG,
    );
  }
  assertEquals(libc.readFile("/data/denka-topics.cbor"), saved, "nothing saved");
  assertEquals(t.overrides, { "retention.ms": "1000" });
  registry.alterConfigs(t, { "segment.index.bytes": "24" }, true);
  assertEquals(t.overrides, { "retention.ms": "1000" }, "validateOnly changes nothing");
  // A save that fails leaves the topic and its logs as they were.
  libc.addFault({ syscall: "writeFileAtomic", pathIncludes: "denka-topics", times: 1 });
  assertEquals(
    kafkaCode(() => registry.alterConfigs(t, { "retention.ms": "5" })),
    ErrorCode.KAFKA_STORAGE_ERROR,
  );
  assertEquals(t.overrides, { "retention.ms": "1000" });
  assertEquals(t.partitions[0].log.config.retentionMs, 1000);
  registry.alterConfigs(t, { "retention.ms": "5" });
  assertEquals(t.partitions[1].log.config.retentionMs, 5);
  registry.close();
});

Deno.test("TopicRegistry.open() starts on a data dir with an invalid saved config, using the default", () => {
  const libc = memoryLibc({ seed: 1 });
  libc.mkdirp("/data");
  libc.writeFileAtomic(
    "/data/denka-topics.cbor",
    encode({
      version: 1,
      topics: [{
        name: "t",
        id: "6f1a8a8e-8d0e-4d3b-9b7f-0a4f6c1b2d3e",
        partitionCount: 1,
        overrides: { "segment.index.bytes": "10", "retention.ms": "1000", "no.such.key": "1" },
      }],
    }),
  );
  const { logger, lines } = capture();
  const registry = TopicRegistry.open(libc, {
    dataDir: "/data",
    defaults: defaultTopicConfigs(),
    writerKind: "pwrite",
    logger,
  });
  const t = registry.get("t")!;
  assertEquals(t.overrides, { "retention.ms": "1000" });
  assertEquals(registry.configs(t)["segment.index.bytes"], "10485760");
  assertEquals(t.partitions[0].log.config.segmentIndexBytes, 10485760);
  assertEquals(lines.length, 2);
  assert(
    lines[0].startsWith('ERROR Topic "t": ignoring its saved config segment.index.bytes="10"'),
    lines[0],
  );
  assert(
    t.partitions[0].log.append(
      encodeRecordBatch([{ key: null, value: new Uint8Array([1]), timestampMs: 1 }]),
      { nowMs: 0 },
    ).ok,
  );
  registry.close();
});

Deno.test("TopicRegistry.create() leaves no topic behind when opening or saving it fails", () => {
  const { libc, registry } = open();
  libc.addFault({ syscall: "open", pathIncludes: "/data/t-2/", times: 1 });
  assertEquals(kafkaCode(() => registry.create("t", 3)), ErrorCode.KAFKA_STORAGE_ERROR);
  assertEquals(registry.get("t"), undefined);
  assertEquals(libc.exists("/data/t-0"), false);
  libc.addFault({ syscall: "writeFileAtomic", pathIncludes: "denka-topics", times: 1 });
  assertEquals(kafkaCode(() => registry.create("t", 3)), ErrorCode.KAFKA_STORAGE_ERROR);
  assertEquals(registry.get("t"), undefined);
  assertEquals(libc.exists("/data/t-0"), false);
  const t = registry.create("t", 3);
  assertEquals(t.partitions.length, 3);
  registry.close();
  assertEquals(open(libc).registry.get("t")?.id, t.id);
});
