/**
 * kafkajs 2.2.4: producers (plain, idempotent, gzip) and the admin client.
 * What it produced is read back with kcat, an independent client. kafkajs'
 * consumer (which always consumes through a group) is tested in
 * `groups_kafkajs_test.ts`.
 */
import {
  CompressionTypes,
  ConfigResourceTypes,
  Kafka,
  logLevel,
  Partitioners,
  type Producer,
} from "kafkajs";
import { assert, assertEquals, assertRejects } from "../../util/assert.ts";
import { kcatConsume } from "./kcat.ts";
import {
  CODEC_IDS,
  partitionDir,
  readStoredBatches,
  type TestBroker,
  withBroker,
} from "./harness.ts";

function client(t: TestBroker): Kafka {
  return new Kafka({
    clientId: "denka-interop",
    brokers: [t.bootstrap],
    logLevel: logLevel.ERROR,
    retry: { retries: 3, initialRetryTime: 100 },
  });
}

async function withProducer(
  kafka: Kafka,
  options: Parameters<Kafka["producer"]>[0],
  fn: (p: Producer) => Promise<void>,
): Promise<void> {
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    ...options,
  });
  await producer.connect();
  try {
    await fn(producer);
  } finally {
    await producer.disconnect();
  }
}

function messages(count: number, prefix: string, partition = 0) {
  return Array.from({ length: count }, (_, i) => ({
    partition,
    key: `${prefix}-k${i}`,
    value: `${prefix}-v${i}`,
    headers: { n: String(i), source: "kafkajs" },
  }));
}

async function assertReadBack(
  bootstrap: string,
  topic: string,
  partition: number,
  want: ReturnType<typeof messages>,
): Promise<void> {
  const got = await kcatConsume(bootstrap, { topic, partition, count: want.length });
  assertEquals(got.length, want.length);
  got.forEach((m, i) => {
    assertEquals(
      { offset: m.offset, key: m.key, value: m.value, headers: m.headers },
      {
        offset: i,
        key: want[i].key,
        value: want[i].value,
        headers: [["n", String(i)], ["source", "kafkajs"]],
      },
    );
  });
}

Deno.test("kafkajs: a plain producer's messages read back with kcat", async () => {
  await withBroker({}, async (t) => {
    const kafka = client(t);
    const sent = messages(2000, "plain");
    await withProducer(kafka, {}, async (p) => {
      // Several sends, several batches; acks=-1.
      for (let i = 0; i < sent.length; i += 500) {
        const res = await p.send({ topic: "js-plain", acks: -1, messages: sent.slice(i, i + 500) });
        assertEquals(res[0].errorCode, 0);
        assertEquals(Number(res[0].baseOffset), i);
      }
    });
    await assertReadBack(t.bootstrap, "js-plain", 0, sent);
  });
});

Deno.test("kafkajs: an idempotent producer gets a producer id and its batches are kept", async () => {
  await withBroker({}, async (t) => {
    const kafka = client(t);
    const sent = messages(300, "idem");
    await withProducer(kafka, { idempotent: true, maxInFlightRequests: 1 }, async (p) => {
      for (let i = 0; i < sent.length; i += 100) {
        await p.send({ topic: "js-idem", acks: -1, messages: sent.slice(i, i + 100) });
      }
    });
    const batches = await readStoredBatches(t.dataDir, "js-idem", 0);
    assertEquals(batches.length, 3);
    assert(batches.every((b) => b.producerId >= 0), JSON.stringify(batches));
    assertEquals(new Set(batches.map((b) => b.producerId)).size, 1);
    await assertReadBack(t.bootstrap, "js-idem", 0, sent);
  });
});

Deno.test("kafkajs: gzip batches are stored compressed and read back", async () => {
  await withBroker({}, async (t) => {
    const kafka = client(t);
    const sent = messages(1000, "gz");
    await withProducer(kafka, {}, async (p) => {
      await p.send({
        topic: "js-gzip",
        acks: -1,
        compression: CompressionTypes.GZIP,
        messages: sent,
      });
    });
    const batches = await readStoredBatches(t.dataDir, "js-gzip", 0);
    assert(batches.length > 0);
    for (const b of batches) assertEquals(b.compression, CODEC_IDS.gzip);
    await assertReadBack(t.bootstrap, "js-gzip", 0, sent);
  });
});

Deno.test("kafkajs: admin creates, inspects, finds offsets of and deletes topics", async () => {
  await withBroker({}, async (t) => {
    const kafka = client(t);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const created = await admin.createTopics({
        topics: [{
          topic: "js-admin",
          numPartitions: 2,
          configEntries: [{ name: "retention.ms", value: "3600000" }],
        }],
        waitForLeaders: true,
      });
      assertEquals(created, true);
      assertEquals(await admin.createTopics({ topics: [{ topic: "js-admin" }] }), false);
      assert((await admin.listTopics()).includes("js-admin"));

      const meta = await admin.fetchTopicMetadata({ topics: ["js-admin"] });
      assertEquals(meta.topics.length, 1);
      assertEquals(meta.topics[0].partitions.map((p) => [p.partitionId, p.leader]).sort(), [
        [0, 0],
        [1, 0],
      ]);

      const baseMs = 1_650_000_000_000;
      await withProducer(kafka, {}, async (p) => {
        await p.send({
          topic: "js-admin",
          acks: -1,
          messages: Array.from({ length: 50 }, (_, i) => ({
            partition: 1,
            key: `k${i}`,
            value: `v${i}`,
            timestamp: String(baseMs + i * 10),
          })),
        });
      });

      const offsets = await admin.fetchTopicOffsets("js-admin");
      const byPartition = Object.fromEntries(
        offsets.map((o) => [o.partition, { low: o.low, high: o.high }]),
      );
      assertEquals(byPartition, { 0: { low: "0", high: "0" }, 1: { low: "0", high: "50" } });

      const at = async (ts: number) =>
        (await admin.fetchTopicOffsetsByTimestamp("js-admin", ts))
          .find((o) => o.partition === 1)!.offset;
      assertEquals(await at(baseMs), "0");
      assertEquals(await at(baseMs + 205), "21");
      assertEquals(await at(baseMs + 490), "49");
      // After the last timestamp kafkajs reports the high watermark.
      assertEquals(await at(baseMs + 10_000), "50");

      const described = await admin.describeConfigs({
        resources: [{ type: ConfigResourceTypes.TOPIC, name: "js-admin" }],
        includeSynonyms: false,
      });
      const entries = described.resources[0].configEntries;
      const retention = entries.find((e) => e.configName === "retention.ms");
      assertEquals(retention?.configValue, "3600000");
      assertEquals(retention?.isDefault, false);
      assert(entries.some((e) => e.configName === "segment.bytes"));

      await admin.deleteTopics({ topics: ["js-admin"] });
      assert(!(await admin.listTopics()).includes("js-admin"));
      // No fetch is in flight, so the broker removed the files before answering.
      for (const p of [0, 1]) {
        await assertRejects(
          () => Deno.stat(partitionDir(t.dataDir, "js-admin", p)),
          Deno.errors.NotFound,
        );
      }
    } finally {
      await admin.disconnect();
    }
  });
});
