/**
 * confluent_kafka (librdkafka) from Debian's Python: idempotent producer with
 * keys, headers and null values, a 1 MiB value, every codec, assign()-based
 * consumers, offsets_for_times, and the AdminClient.
 */
import { assert, assertEquals } from "../../util/assert.ts";
import {
  CODEC_IDS,
  type ConsumedMessage,
  partitionDir,
  readStoredBatches,
  runPython,
  withBroker,
} from "./harness.ts";

interface ProduceResult {
  delivered: number;
  offsets: [number, number][];
  errors: { error: string; code: number }[];
  undelivered: number;
}

interface ConsumeResult {
  messages: ConsumedMessage[];
  errors: { error: string; code: number }[];
}

interface SpecMessage {
  key: string | null;
  value: string | null | { repeat: string; times: number };
  headers?: [string, string][];
  partition?: number;
  timestamp?: number;
}

const IDEMPOTENT = { "enable.idempotence": "true", "acks": "all" };

async function produce(
  bootstrap: string,
  topic: string,
  messages: SpecMessage[],
  config: Record<string, string | number | boolean> = {},
): Promise<ProduceResult> {
  const result = await runPython<ProduceResult>("confluent_produce.py", {
    bootstrap,
    topic,
    messages,
    config: { ...IDEMPOTENT, ...config },
  });
  return result;
}

async function produceAll(
  bootstrap: string,
  topic: string,
  messages: SpecMessage[],
  config: Record<string, string | number | boolean> = {},
): Promise<ProduceResult> {
  const result = await produce(bootstrap, topic, messages, config);
  assertEquals(result.errors, [], `Delivery errors: ${JSON.stringify(result.errors)}`);
  assertEquals(result.delivered, messages.length);
  assertEquals(result.undelivered, 0);
  return result;
}

async function consume(
  bootstrap: string,
  topic: string,
  options: { offset?: number; count: number; partition?: number; config?: Record<string, unknown> },
): Promise<ConsumedMessage[]> {
  const result = await runPython<ConsumeResult>("confluent_consume.py", {
    bootstrap,
    topic,
    partition: options.partition ?? 0,
    offset: options.offset ?? 0,
    count: options.count,
    config: options.config ?? {},
  });
  assertEquals(result.errors, [], `Consumer errors: ${JSON.stringify(result.errors)}`);
  assertEquals(result.messages.length, options.count, "Consumed fewer messages than asked");
  return result.messages;
}

function admin<T>(bootstrap: string, op: string, args: Record<string, unknown> = {}): Promise<T> {
  return runPython<T>("confluent_admin.py", { bootstrap, op, ...args });
}

function numbered(count: number, prefix: string): SpecMessage[] {
  return Array.from({ length: count }, (_, i) => ({
    key: i % 97 === 5 ? null : `${prefix}-k${i}`,
    value: i % 89 === 7 ? null : `${prefix}-v${i}-${"p".repeat(i % 50)}`,
    headers: i % 3 === 0 ? [] : [["n", String(i)], ["dup", "a"], ["dup", "b"]],
  }));
}

function assertSame(got: readonly ConsumedMessage[], want: readonly SpecMessage[], first: number) {
  assertEquals(got.length, want.length);
  got.forEach((m, i) => {
    assertEquals(
      { offset: m.offset, key: m.key, value: m.value, headers: m.headers },
      { offset: first + i, key: want[i].key, value: want[i].value, headers: want[i].headers ?? [] },
    );
  });
}

Deno.test("confluent: 5000 keyed messages with headers and nulls round trip (idempotent)", async () => {
  await withBroker({}, async (t) => {
    const messages = numbered(5000, "rt");
    const produced = await produceAll(t.bootstrap, "rt", messages);
    assertEquals(produced.offsets.map(([, o]) => o), messages.map((_, i) => i));
    const got = await consume(t.bootstrap, "rt", { count: messages.length });
    assertSame(got, messages, 0);
    const batches = await readStoredBatches(t.dataDir, "rt", 0);
    assert(batches.every((b) => b.producerId >= 0), "Idempotent batches lost their producer id");
  });
});

Deno.test("confluent: a 1 MiB value needs max.message.bytes raised and then round-trips", async () => {
  const oneMiB = 1024 * 1024;
  const big: SpecMessage = { key: "big", value: { repeat: "z", times: oneMiB } };
  const client = { "message.max.bytes": 4 * oneMiB };
  // Default topic limit (1048588 bytes): the broker refuses the batch.
  await withBroker({}, async (t) => {
    const refused = await produce(t.bootstrap, "big", [big], client);
    assertEquals(refused.delivered, 0);
    assertEquals(refused.errors.map((e) => e.code), [10], JSON.stringify(refused.errors));
  });
  await withBroker({ topicDefaults: { "max.message.bytes": String(2 * oneMiB) } }, async (t) => {
    await produceAll(t.bootstrap, "big", [{ key: "small", value: "before" }, big], client);
    await produceAll(t.bootstrap, "big", [{ key: "small", value: "after" }], client);
    const got = await consume(t.bootstrap, "big", { count: 3 });
    assertEquals(got.map((m) => m.key), ["small", "big", "small"]);
    assertEquals(got[1].value as unknown, {
      length: oneMiB,
      head: "z".repeat(16),
      tail: "z".repeat(16),
    });
    assertEquals(got[2].value, "after");
  });
});

for (const codec of ["gzip", "snappy", "lz4", "zstd"]) {
  Deno.test(`confluent: compression.type=${codec} is stored as sent and read back`, async () => {
    await withBroker({}, async (t) => {
      const topic = `c-${codec}`;
      const messages = numbered(1500, codec);
      await produceAll(t.bootstrap, topic, messages, {
        "compression.type": codec,
        "linger.ms": 50,
      });
      const batches = await readStoredBatches(t.dataDir, topic, 0);
      for (const b of batches) {
        assertEquals(b.compression, CODEC_IDS[codec], `Batch at ${b.baseOffset} is not ${codec}`);
        assert(b.crcValid);
      }
      assertSame(await consume(t.bootstrap, topic, { count: messages.length }), messages, 0);
      // From the middle of a compressed batch.
      const inner = batches.find((b) => b.recordCount > 4)!;
      const start = inner.baseOffset + 3;
      assertSame(
        await consume(t.bootstrap, topic, { offset: start, count: 4 }),
        messages.slice(start, start + 4),
        start,
      );
    });
  });
}

Deno.test("confluent: assign() at an offset inside a batch starts exactly there", async () => {
  await withBroker({}, async (t) => {
    const messages = numbered(300, "inb");
    await produceAll(t.bootstrap, "inb", messages, { "linger.ms": 200 });
    const batches = await readStoredBatches(t.dataDir, "inb", 0);
    const batch = batches.find((b) => b.recordCount >= 20);
    assert(batch !== undefined, `No large batch in ${JSON.stringify(batches)}`);
    const start = batch.baseOffset + 11;
    const got = await consume(t.bootstrap, "inb", { offset: start, count: 30 });
    assertSame(got, messages.slice(start, start + 30), start);
  });
});

Deno.test("confluent: offsets_for_times finds the first offset at or after a timestamp", async () => {
  await withBroker({}, async (t) => {
    const baseMs = 1_600_000_000_000;
    const messages: SpecMessage[] = Array.from({ length: 400 }, (_, i) => ({
      key: `k${i}`,
      value: `v${i}`,
      timestamp: baseMs + i * 1000,
    }));
    // Several batches (small batch.size), so the search crosses batch boundaries.
    await produceAll(t.bootstrap, "times", messages, { "batch.size": 2048, "linger.ms": 5 });
    const { offsets } = await admin<{ offsets: number[] }>(t.bootstrap, "offsets_for_times", {
      topic: "times",
      timestamps: [
        0,
        baseMs,
        baseMs + 1,
        baseMs + 150_000,
        baseMs + 150_500,
        baseMs + 399_000,
        baseMs + 399_001,
      ],
    });
    assertEquals(offsets, [0, 0, 1, 150, 151, 399, -1]);
    const got = await consume(t.bootstrap, "times", { offset: 150, count: 1 });
    assertEquals(got[0].timestamp, baseMs + 150_000);
    const marks = await admin<{ low: number; high: number }>(t.bootstrap, "watermarks", {
      topic: "times",
    });
    assertEquals(marks, { low: 0, high: 400 });
  });
});

interface TopicListing {
  brokers: { id: number; host: string; port: number }[];
  topics: Record<string, { error: string | null; partitions: Record<string, { leader: number }> }>;
}

Deno.test("confluent: AdminClient creates, describes and deletes topics", async () => {
  await withBroker({}, async (t) => {
    const created = await admin<{ results: Record<string, string | null> }>(
      t.bootstrap,
      "create_topics",
      { topics: [{ name: "adm", partitions: 3, config: { "segment.bytes": "65536" } }] },
    );
    assertEquals(created.results, { adm: null });
    for (const p of [0, 1, 2]) {
      assert((await Deno.stat(partitionDir(t.dataDir, "adm", p))).isDirectory);
    }
    const listed = await admin<TopicListing>(t.bootstrap, "list_topics", { topic: "adm" });
    assertEquals(Object.keys(listed.topics.adm.partitions).sort(), ["0", "1", "2"]);
    assertEquals(listed.brokers.map((b) => `${b.host}:${b.port}`), [t.bootstrap]);

    const again = await admin<{ results: Record<string, string | null> }>(
      t.bootstrap,
      "create_topics",
      { topics: [{ name: "adm", partitions: 1 }] },
    );
    assert(
      /already exists|TOPIC_ALREADY_EXISTS/i.test(again.results.adm ?? ""),
      again.results.adm!,
    );

    const described = await admin<{
      configs: Record<string, { value: string; is_default: boolean; source: number }>;
    }>(t.bootstrap, "describe_configs", { topic: "adm" });
    assertEquals(described.configs["segment.bytes"].value, "65536");
    assertEquals(described.configs["segment.bytes"].is_default, false);
    assertEquals(described.configs["max.message.bytes"].is_default, true);
    assert(described.configs["cleanup.policy"] !== undefined);

    await produceAll(t.bootstrap, "adm", [{ key: "x", value: "y", partition: 2 }]);
    assertEquals((await consume(t.bootstrap, "adm", { partition: 2, count: 1 }))[0].value, "y");

    const deleted = await admin<{ results: Record<string, string | null> }>(
      t.bootstrap,
      "delete_topics",
      { topics: ["adm"] },
    );
    assertEquals(deleted.results, { adm: null });
    // No fetch is in flight, so the broker removed the files before answering.
    for await (const entry of Deno.readDir(t.dataDir)) {
      assert(!/^adm-\d+$/.test(entry.name), `"${entry.name}" is still in the data directory`);
    }
    const after = await admin<TopicListing>(t.bootstrap, "list_topics", {});
    assertEquals(after.topics.adm, undefined);
  });
});
