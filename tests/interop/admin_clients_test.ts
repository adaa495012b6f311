/**
 * Issue 11 with real clients: confluent-kafka-python 1.7 (librdkafka 2.0.2)
 * AdminClient create_partitions, describe_configs and alter_configs on
 * BROKER resources; kafkajs 2.2.4 admin
 * createPartitions, describeConfigs on BROKER_LOGGER, and a running group consumer that picks up a partition added
 * while it runs; @platformatic/kafka 2.12.1 createPartitions, describeLogDirs
 * and incrementalAlterConfigs on BROKER and BROKER_LOGGER resources.
 * Stored batches carry leader epoch 0, and DescribeProducers shows the
 * idempotent producer.
 *
 * Nothing sleeps: waits are on client callbacks with deadlines.
 * (confluent-kafka-python 1.7 cannot name resource type 8, BROKER_LOGGER, nor
 * the `""` cluster-default BROKER resource; the other clients cover those.)
 */
import {
  Admin,
  ConfigResourceTypes,
  IncrementalAlterConfigOperationTypes,
} from "@platformatic/kafka";
import { ConfigResourceTypes as KafkajsResourceTypes, Kafka, logLevel } from "kafkajs";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { describeProducersApi } from "../../protocol/messages/mod.ts";
import { assert } from "../../util/assert.ts";
import { readStoredBatches, runPython, topicName, withBroker } from "./harness.ts";
import { withConnection } from "./raw_client.ts";

const WAIT_MS = 30_000;
const SOURCE_DYNAMIC_BROKER = 2;
const SOURCE_STATIC_BROKER = 4;
const SOURCE_DEFAULT = 5;

interface Described {
  configs: Record<string, { value: string; source: number; is_read_only: boolean }>;
}

function kafkaFor(bootstrap: string): Kafka {
  return new Kafka({
    clientId: "denka-admin",
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1000 },
  });
}

/** Resolves with `promise`, or fails the test after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("confluent-kafka-python: create_partitions, describe_configs and alter_configs on BROKER", async () => {
  await withBroker({ topicDefaults: { "retention.bytes": "5000000" } }, async (t) => {
    const topic = topicName("py-grow");
    const base = { bootstrap: t.bootstrap };
    const created = await runPython<{ results: Record<string, string | null> }>(
      "confluent_admin.py",
      { ...base, op: "create_topics", topics: [{ name: topic, partitions: 1 }] },
    );
    assert.deepEqual(created.results, { [topic]: null });
    const ops = (spec: Record<string, unknown>) =>
      runPython<Record<string, unknown>>("confluent_admin_ops.py", { ...base, ...spec });
    const count = async () => {
      const md = await runPython<{ topics: Record<string, { partitions: object }> }>(
        "confluent_admin.py",
        { ...base, op: "list_topics", topic },
      );
      return Object.keys(md.topics[topic].partitions).length;
    };
    assert.equal(
      (await ops({ op: "create_partitions", topic, count: 3, validate_only: true })).error,
      null,
    );
    assert.equal(await count(), 1);
    assert.equal((await ops({ op: "create_partitions", topic, count: 3 })).error, null);
    assert.equal(await count(), 3);
    assert.match(
      String((await ops({ op: "create_partitions", topic, count: 2 })).error),
      /INVALID_PARTITIONS/,
    );

    const before = await ops({ op: "describe_broker", name: "0" }) as unknown as Described;
    assert.equal(before.configs["log.retention.bytes"].value, "5000000");
    assert.equal(before.configs["log.retention.bytes"].source, SOURCE_STATIC_BROKER);
    assert.equal(before.configs["log.retention.ms"].source, SOURCE_DEFAULT);
    assert.equal(before.configs["log.dirs"].is_read_only, true);
    const altered = await ops({
      op: "alter_broker",
      name: "0",
      config: { "log.retention.ms": "3600000" },
    });
    assert.equal(altered.error, null);
    const after = await ops({ op: "describe_broker", name: "0" }) as unknown as Described;
    assert.equal(after.configs["log.retention.ms"].value, "3600000");
    assert.equal(after.configs["log.retention.ms"].source, SOURCE_DYNAMIC_BROKER);
    const refused = await ops({
      op: "alter_broker",
      name: "0",
      config: { "log.dirs": "/elsewhere" },
    });
    assert.match(String(refused.error), /INVALID_CONFIG.*"log\.dirs"/);

    // An idempotent producer writes to the new partition: leader epoch 0 on disk, and it is listed.
    const produced = await runPython<{ delivered: number; errors: unknown[] }>(
      "confluent_produce.py",
      {
        ...base,
        topic,
        config: { "enable.idempotence": true },
        generate: { count: 5, prefix: "p2-", partition: 2 },
      },
    );
    assert.equal(produced.delivered, 5, JSON.stringify(produced.errors));
    const batches = await readStoredBatches(t.dataDir, topic, 2);
    assert.ok(batches.length > 0);
    assert.ok(
      batches.every((b) => b.partitionLeaderEpoch === 0 && b.crcValid),
      JSON.stringify(batches),
    );
    await withConnection(t.bootstrap, async (c) => {
      const described = await c.request(describeProducersApi, 0, {
        topics: [{ name: topic, partitionIndexes: [2, 0, 7] }],
      });
      const [p2, p0, p7] = described.topics[0].partitions;
      assert.equal(p2.errorCode, ErrorCode.NONE);
      assert.equal(p2.activeProducers.length, 1);
      assert.equal(p2.activeProducers[0].producerId, batches[0].producerId);
      assert.equal(p2.activeProducers[0].lastSequence, 4);
      assert.deepEqual(p0.activeProducers, []);
      assert.equal(p7.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    });
  });
});

Deno.test("kafkajs admin: createPartitions and describeConfigs on BROKER_LOGGER", async () => {
  await withBroker({}, async (t) => {
    const admin = kafkaFor(t.bootstrap).admin();
    await admin.connect();
    try {
      const topic = topicName("js-grow");
      await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
      await admin.createPartitions({ topicPartitions: [{ topic, count: 4 }] });
      const [md] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
      assert.deepEqual(md.partitions.map((p) => p.partitionId).sort(), [0, 1, 2, 3]);
      let refused: Error | undefined;
      try {
        await admin.createPartitions({ topicPartitions: [{ topic, count: 3 }] });
      } catch (e) {
        refused = e as Error;
      }
      assert.ok(refused !== undefined, "lowering the count was accepted");

      const described = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: KafkajsResourceTypes.BROKER_LOGGER, name: "0" }],
      });
      const entries = described.resources[0].configEntries;
      const levels = new Map(entries.map((e) => [e.configName, e.configValue]));
      assert.ok(["DEBUG", "INFO", "WARN", "ERROR", "OFF"].includes(levels.get("denka")!));
      assert.equal(levels.get("denka/groups"), levels.get("denka"));
      assert.ok(levels.has("denka/groups") && levels.has("denka/topics"));
    } finally {
      await admin.disconnect();
    }
  });
});

Deno.test("a running kafkajs group consumer receives records from a partition added while it runs", async () => {
  await withBroker({}, async (t) => {
    const kafka = kafkaFor(t.bootstrap);
    const topic = topicName("live-grow");
    const admin = kafka.admin();
    const producer = kafka.producer();
    // metadataMaxAge: the consumer's periodic metadata refresh, which notices the new partition.
    const consumer = kafka.consumer({
      groupId: "grow-group",
      metadataMaxAge: 200,
      maxWaitTimeInMs: 100,
      heartbeatInterval: 300,
    });
    await Promise.all([admin.connect(), producer.connect(), consumer.connect()]);
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      let sawPartition0!: () => void;
      let sawPartition1!: () => void;
      const first = new Promise<void>((resolve) => sawPartition0 = resolve);
      const added = new Promise<void>((resolve) => sawPartition1 = resolve);
      await consumer.run({
        eachMessage: ({ partition, message }) => {
          if (partition === 0 && message.value?.toString() === "before") sawPartition0();
          if (partition === 1 && message.value?.toString() === "after") sawPartition1();
          return Promise.resolve();
        },
      });
      await producer.send({ topic, messages: [{ value: "before", partition: 0 }] });
      await within(first, WAIT_MS, "the record on partition 0");
      await admin.createPartitions({ topicPartitions: [{ topic, count: 2 }] });
      // A producer that knows partition 1 (kafkajs drops records for a partition missing from
      // its metadata, and this one's is fresh).
      const later = kafka.producer();
      await later.connect();
      try {
        const sent = await later.send({ topic, messages: [{ value: "after", partition: 1 }] });
        assert.deepEqual(sent.map((r) => [r.partition, r.baseOffset]), [[1, "0"]]);
      } finally {
        await later.disconnect();
      }
      await within(added, WAIT_MS, "the record on the added partition 1");
    } finally {
      await consumer.disconnect();
      await Promise.all([admin.disconnect(), producer.disconnect()]);
    }
  });
});

Deno.test("platformatic admin: createPartitions, describeLogDirs, incrementalAlterConfigs on BROKER and BROKER_LOGGER", async () => {
  await withBroker({}, async (t) => {
    const admin = new Admin({
      clientId: "denka-admin",
      bootstrapBrokers: [t.bootstrap],
      retries: 2,
    });
    try {
      const topic = topicName("pk-grow");
      await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
      // No assignments (an empty list would be refused, as Kafka refuses "0 of 2 assigned").
      await admin.createPartitions({ topics: [{ name: topic, count: 3 }] });
      const dirs = await admin.describeLogDirs({
        topics: [{ name: topic, partitions: [0, 1, 2] }],
      });
      const [result] = dirs[0].results;
      assert.equal(result.logDir, await Deno.realPath(t.dataDir));
      assert.deepEqual(result.topics[0].partitions.map((p) => p.partitionIndex), [0, 1, 2]);
      assert.ok(result.totalBytes > 0n);

      await admin.incrementalAlterConfigs({
        resources: [{
          resourceType: ConfigResourceTypes.BROKER_LOGGER,
          resourceName: "0",
          configs: [{
            name: "denka/topics",
            configOperation: IncrementalAlterConfigOperationTypes.SET,
            value: "ERROR",
          }],
        }, {
          resourceType: ConfigResourceTypes.BROKER,
          resourceName: "",
          configs: [{
            name: "log.segment.bytes",
            configOperation: IncrementalAlterConfigOperationTypes.SET,
            value: "2097152",
          }],
        }],
      });
      const described = await admin.describeConfigs({
        resources: [
          { resourceType: ConfigResourceTypes.BROKER_LOGGER, resourceName: "0" },
          { resourceType: ConfigResourceTypes.TOPIC, resourceName: topic },
        ],
      });
      const loggers = new Map(described[0].configs.map((c) => [c.name, c.value]));
      assert.equal(loggers.get("denka/topics"), "ERROR");
      const segment = described[1].configs.find((c) => c.name === "segment.bytes")!;
      assert.equal(segment.value, "2097152");
      assert.equal(segment.configSource, 3); // DYNAMIC_DEFAULT_BROKER_CONFIG
    } finally {
      await admin.close();
    }
  });
});
