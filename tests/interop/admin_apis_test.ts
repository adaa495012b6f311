/**
 * The admin APIs of issue 11 over a real socket, request by request and at
 * every version served: CreatePartitions (validateOnly, manual assignments,
 * Kafka's refusals), DescribeLogDirs, DescribeCluster, ElectLeaders,
 * dynamic broker configs (per broker and `<default>`, sources and synonyms,
 * applied to topics without an override), BROKER_LOGGER resources, and the HTTP API's
 * `PATCH .../topics/{name}`.
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import {
  createPartitionsApi,
  createTopicsApi,
  describeClusterApi,
  describeConfigsApi,
  describeLogDirsApi,
  electLeadersApi,
  incrementalAlterConfigsApi,
  metadataApi,
  produceApi,
} from "../../protocol/messages/mod.ts";
import { encodeRecordBatch } from "../../protocol/records.ts";
import { assert } from "../../util/assert.ts";
import { makeDataDir, startTestBroker, topicName, withBroker } from "./harness.ts";
import { call, withHttpBroker } from "./http_helpers.ts";
import { TEST_RUNTIME } from "./bun_broker.ts";
import { type RawConnection, withConnection } from "./raw_client.ts";

const SOURCE_DYNAMIC_BROKER = 2;
const SOURCE_DYNAMIC_DEFAULT_BROKER = 3;
const SOURCE_STATIC_BROKER = 4;
const SOURCE_DEFAULT = 5;
const SOURCE_BROKER_LOGGER = 6;
const OP_SET = 0;
const OP_DELETE = 1;
const OP_APPEND = 2;

async function createTopic(c: RawConnection, name: string, numPartitions: number): Promise<void> {
  const created = await c.request(createTopicsApi, 5, {
    topics: [{ name, numPartitions, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  assert.equal(created.topics[0].errorCode, ErrorCode.NONE);
}

async function partitionCount(c: RawConnection, name: string): Promise<number> {
  const md = await c.request(metadataApi, 12, {
    topics: [{ name, topicId: "00000000-0000-0000-0000-000000000000" }],
    allowAutoTopicCreation: false,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  });
  return md.topics[0].partitions.length;
}

function increase(name: string, count: number, assignments: number[][] | null = null) {
  return { name, count, assignments: assignments?.map((brokerIds) => ({ brokerIds })) ?? null };
}

Deno.test("CreatePartitions v0-v3: raises the count, validateOnly, Kafka's refusals", async () => {
  await withBroker({}, async ({ bootstrap }) => {
    await withConnection(bootstrap, async (c) => {
      const name = topicName("grow");
      await createTopic(c, name, 1);
      const checked = await c.request(createPartitionsApi, 0, {
        topics: [increase(name, 4)],
        timeoutMs: 5000,
        validateOnly: true,
      });
      assert.equal(checked.results[0].errorCode, ErrorCode.NONE);
      assert.equal(await partitionCount(c, name), 1, "validateOnly created partitions");
      for (const [version, count] of [[0, 2], [1, 3], [2, 4], [3, 5]]) {
        const raised = await c.request(createPartitionsApi, version, {
          topics: [increase(name, count, [[0]])],
          timeoutMs: 5000,
          validateOnly: false,
        });
        assert.equal(raised.results[0].errorCode, ErrorCode.NONE, raised.results[0].errorMessage!);
        assert.equal(await partitionCount(c, name), count);
      }
      const refused = await c.request(createPartitionsApi, 3, {
        topics: [
          increase(name, 5),
          increase("no-such-topic", 2),
          increase(name, 7, [[0]]),
        ],
        timeoutMs: 5000,
        validateOnly: false,
      });
      assert.deepEqual(refused.results.map((r) => r.errorCode), [
        ErrorCode.INVALID_REQUEST, // the topic appears twice
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        ErrorCode.INVALID_REQUEST,
      ]);
      const wrong = async (count: number, assignments: number[][] | null) =>
        (await c.request(createPartitionsApi, 3, {
          topics: [increase(name, count, assignments)],
          timeoutMs: 5000,
          validateOnly: false,
        })).results[0];
      assert.equal((await wrong(5, null)).errorCode, ErrorCode.INVALID_PARTITIONS);
      assert.match((await wrong(5, null)).errorMessage!, /Topic already has 5 partition\(s\)/);
      assert.equal((await wrong(3, null)).errorCode, ErrorCode.INVALID_PARTITIONS);
      assert.equal((await wrong(7, [[0]])).errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
      const unknownBroker = await wrong(6, [[3]]);
      assert.equal(unknownBroker.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
      assert.match(
        unknownBroker.errorMessage!,
        /includes broker 3, but no such broker is registered/,
      );
      assert.equal((await wrong(6, [[0, 0]])).errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
      assert.equal(await partitionCount(c, name), 5);
    });
  });
});

Deno.test("DescribeLogDirs v0-v4, DescribeCluster v0-v1 and ElectLeaders v0-v2 answer as a single Kafka node", async () => {
  await withBroker({}, async ({ bootstrap, dataDir, broker }) => {
    await withConnection(bootstrap, async (c) => {
      const name = topicName("dirs");
      await createTopic(c, name, 2);
      for (let version = 0; version <= 4; version++) {
        const dirs = await c.request(describeLogDirsApi, version, {
          topics: [{ topic: name, partitions: [0, 1, 9] }],
        });
        assert.equal(dirs.results.length, 1);
        const [dir] = dirs.results;
        assert.equal(dir.logDir, await Deno.realPath(dataDir));
        assert.deepEqual(dir.topics.map((t) => t.name), [name]);
        assert.deepEqual(dir.topics[0].partitions.map((p) => p.partitionIndex), [0, 1]);
        assert.ok(
          dir.topics[0].partitions.every((p) => p.partitionSize === 0 && p.offsetLag === 0),
        );
        if (version >= 4) assert.ok(dir.totalBytes > 0 && dir.usableBytes > 0);
      }
      const all = await c.request(describeLogDirsApi, 4, { topics: null });
      assert.ok(all.results[0].topics.some((t) => t.name === name));

      const [host, port] = bootstrap.split(":");
      for (const version of [0, 1]) {
        const cluster = await c.request(describeClusterApi, version, {
          includeClusterAuthorizedOperations: true,
          endpointType: 1,
        });
        assert.equal(cluster.errorCode, ErrorCode.NONE);
        assert.equal(cluster.clusterId, "denka-cluster");
        assert.equal(cluster.controllerId, 0);
        assert.deepEqual(cluster.brokers, [{ brokerId: 0, host, port: Number(port), rack: null }]);
        assert.ok((cluster.clusterAuthorizedOperations & (1 << 8)) !== 0); // DESCRIBE
      }
      const controllers = await c.request(describeClusterApi, 1, {
        includeClusterAuthorizedOperations: false,
        endpointType: 2,
      });
      assert.equal(controllers.errorCode, ErrorCode.MISMATCHED_ENDPOINT_TYPE);

      for (const version of [0, 1, 2]) {
        const elected = await c.request(electLeadersApi, version, {
          electionType: 0,
          topicPartitions: [{ topic: name, partitions: [0, 1, 5] }],
          timeoutMs: 5000,
        });
        assert.deepEqual(
          elected.replicaElectionResults[0].partitionResult.map((p) => p.errorCode),
          [
            ErrorCode.ELECTION_NOT_NEEDED,
            ErrorCode.ELECTION_NOT_NEEDED,
            ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          ],
        );
      }
      const everything = await c.request(electLeadersApi, 2, {
        electionType: 1,
        topicPartitions: null,
        timeoutMs: 5000,
      });
      assert.deepEqual(everything.replicaElectionResults, []);
    });
    assert.ok(broker.bootstrap.length > 0);
  });
});

/** Produces one record of `valueBytes` to partition 0; the partition's error code. */
async function produceBytes(c: RawConnection, topic: string, valueBytes: number): Promise<number> {
  // A key: the topics here become compacted, which refuse records without one (as Kafka does).
  const batch = encodeRecordBatch([{
    key: new Uint8Array([107]),
    value: new Uint8Array(valueBytes),
    timestampMs: Date.now(),
  }]);
  const res = await c.request(produceApi, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }],
  });
  return res.responses[0].partitionResponses[0].errorCode;
}

async function describeBroker(c: RawConnection, resourceName: string, keys: string[] | null) {
  const described = await c.request(describeConfigsApi, 4, {
    resources: [{ resourceType: 4, resourceName, configurationKeys: keys }],
    includeSynonyms: true,
    includeDocumentation: false,
  });
  assert.equal(described.results[0].errorCode, ErrorCode.NONE, described.results[0].errorMessage!);
  return new Map(described.results[0].configs.map((e) => [e.name, e]));
}

async function alterIncremental(
  c: RawConnection,
  resourceType: number,
  resourceName: string,
  configs: { name: string; configOperation: number; value: string | null }[],
) {
  const altered = await c.request(incrementalAlterConfigsApi, 1, {
    resources: [{ resourceType, resourceName, configs }],
    validateOnly: false,
  });
  return altered.responses[0];
}

Deno.test("dynamic broker configs: <default> and per broker, sources and synonyms, applied to topics without a restart", async () => {
  await withBroker({ topicDefaults: { "retention.bytes": "5000000" } }, async ({ bootstrap }) => {
    await withConnection(bootstrap, async (c) => {
      const name = topicName("dyn");
      await createTopic(c, name, 1);
      const before = await describeBroker(c, "0", ["log.retention.bytes", "log.retention.ms"]);
      assert.equal(before.get("log.retention.bytes")!.configSource, SOURCE_STATIC_BROKER);
      assert.equal(before.get("log.retention.ms")!.configSource, SOURCE_DEFAULT);
      assert.equal(before.get("log.retention.ms")!.readOnly, false);

      const toDefault = await alterIncremental(c, 4, "", [
        { name: "log.retention.ms", configOperation: OP_SET, value: "7200000" },
        { name: "log.cleanup.policy", configOperation: OP_APPEND, value: "compact" },
      ]);
      assert.equal(toDefault.errorCode, ErrorCode.NONE, toDefault.errorMessage!);
      const perBroker = await alterIncremental(c, 4, "0", [
        { name: "log.retention.ms", configOperation: OP_SET, value: "3600000" },
      ]);
      assert.equal(perBroker.errorCode, ErrorCode.NONE, perBroker.errorMessage!);
      const after = await describeBroker(c, "0", null);
      const retention = after.get("log.retention.ms")!;
      assert.equal(retention.value, "3600000");
      assert.equal(retention.configSource, SOURCE_DYNAMIC_BROKER);
      assert.deepEqual(retention.synonyms.map((s) => [s.value, s.source]), [
        ["3600000", SOURCE_DYNAMIC_BROKER],
        ["7200000", SOURCE_DYNAMIC_DEFAULT_BROKER],
        ["604800000", SOURCE_DEFAULT],
      ]);
      assert.equal(after.get("log.cleanup.policy")!.value, "delete,compact");
      assert.equal(after.get("log.dirs")!.readOnly, true);
      const defaults = await describeBroker(c, "", null);
      assert.deepEqual([...defaults.keys()].sort(), ["log.cleanup.policy", "log.retention.ms"]);

      const topic = await c.request(describeConfigsApi, 4, {
        resources: [{ resourceType: 2, resourceName: name, configurationKeys: null }],
        includeSynonyms: true,
        includeDocumentation: false,
      });
      const topicConfigs = new Map(topic.results[0].configs.map((e) => [e.name, e]));
      assert.equal(topicConfigs.get("retention.ms")!.value, "3600000");
      assert.equal(topicConfigs.get("retention.ms")!.configSource, SOURCE_DYNAMIC_BROKER);
      assert.equal(topicConfigs.get("cleanup.policy")!.value, "delete,compact");
      assert.equal(topicConfigs.get("retention.bytes")!.configSource, SOURCE_STATIC_BROKER);

      // message.max.bytes changes what the running logs accept, except where a topic overrides it.
      const pinned = topicName("dyn-pinned");
      await createTopic(c, pinned, 1);
      await alterIncremental(c, 2, pinned, [
        { name: "max.message.bytes", configOperation: OP_SET, value: "100000" },
      ]);
      assert.equal(await produceBytes(c, name, 2000), ErrorCode.NONE);
      const smaller = await alterIncremental(c, 4, "", [
        { name: "message.max.bytes", configOperation: OP_SET, value: "1000" },
      ]);
      assert.equal(smaller.errorCode, ErrorCode.NONE, smaller.errorMessage!);
      assert.equal(await produceBytes(c, name, 2000), ErrorCode.MESSAGE_TOO_LARGE);
      assert.equal(await produceBytes(c, pinned, 2000), ErrorCode.NONE);

      const back = await alterIncremental(c, 4, "0", [
        { name: "log.retention.ms", configOperation: OP_DELETE, value: null },
      ]);
      assert.equal(back.errorCode, ErrorCode.NONE);
      assert.equal(
        (await describeBroker(c, "0", ["log.retention.ms"])).get("log.retention.ms")!
          .configSource,
        SOURCE_DYNAMIC_DEFAULT_BROKER,
      );

      const refused = await alterIncremental(c, 4, "0", [
        { name: "log.dirs", configOperation: OP_SET, value: "/x" },
        { name: "num.partitions", configOperation: OP_DELETE, value: null },
      ]);
      assert.equal(refused.errorCode, ErrorCode.INVALID_CONFIG);
      assert.match(refused.errorMessage!, /"log\.dirs", "num\.partitions"/);
      const otherBroker = await alterIncremental(c, 4, "3", [
        { name: "log.retention.ms", configOperation: OP_SET, value: "1" },
      ]);
      assert.equal(otherBroker.errorCode, ErrorCode.INVALID_REQUEST);
    });
  });
});

Deno.test("dynamic broker configs and added partitions survive a broker restart", async () => {
  const dataDir = await makeDataDir();
  const name = topicName("restart");
  try {
    const first = await startTestBroker(dataDir);
    try {
      await withConnection(first.bootstrap, async (c) => {
        await createTopic(c, name, 1);
        const raised = await c.request(createPartitionsApi, 3, {
          topics: [increase(name, 3)],
          timeoutMs: 5000,
          validateOnly: false,
        });
        assert.equal(raised.results[0].errorCode, ErrorCode.NONE);
        const altered = await alterIncremental(c, 4, "", [
          { name: "message.max.bytes", configOperation: OP_SET, value: "1000" },
        ]);
        assert.equal(altered.errorCode, ErrorCode.NONE, altered.errorMessage!);
      });
    } finally {
      await first.close();
    }
    const second = await startTestBroker(dataDir);
    try {
      await withConnection(second.bootstrap, async (c) => {
        assert.equal(await partitionCount(c, name), 3);
        const described = await describeBroker(c, "0", ["message.max.bytes"]);
        assert.equal(described.get("message.max.bytes")!.value, "1000");
        assert.equal(
          described.get("message.max.bytes")!.configSource,
          SOURCE_DYNAMIC_DEFAULT_BROKER,
        );
        assert.equal(await produceBytes(c, name, 2000), ErrorCode.MESSAGE_TOO_LARGE);
      });
    } finally {
      await second.close();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("BROKER_LOGGER: loggers listed with levels, SET and DELETE through IncrementalAlterConfigs", async () => {
  await withBroker({}, async ({ bootstrap }) => {
    await withConnection(bootstrap, async (c) => {
      const describe = async () => {
        const d = await c.request(describeConfigsApi, 4, {
          resources: [{ resourceType: 8, resourceName: "0", configurationKeys: null }],
          includeSynonyms: false,
          includeDocumentation: false,
        });
        assert.equal(d.results[0].errorCode, ErrorCode.NONE, d.results[0].errorMessage!);
        assert.ok(d.results[0].configs.every((e) => e.configSource === SOURCE_BROKER_LOGGER));
        return new Map(d.results[0].configs.map((e) => [e.name, e.value]));
      };
      const levels = await describe();
      const root = levels.get("denka")!;
      assert.ok(["DEBUG", "INFO", "WARN", "ERROR", "OFF"].includes(root), root);
      assert.equal(levels.get("denka/groups"), root);
      assert.ok(levels.has("denka/topics"));
      const set = await alterIncremental(c, 8, "0", [
        { name: "denka/groups", configOperation: OP_SET, value: "DEBUG" },
      ]);
      assert.equal(set.errorCode, ErrorCode.NONE, set.errorMessage!);
      assert.equal((await describe()).get("denka/groups"), "DEBUG");
      assert.equal((await describe()).get("denka"), root);
      const reset = await alterIncremental(c, 8, "0", [
        { name: "denka/groups", configOperation: OP_DELETE, value: null },
      ]);
      assert.equal(reset.errorCode, ErrorCode.NONE);
      assert.equal((await describe()).get("denka/groups"), root);
      const bad = [
        [{ name: "denka", configOperation: OP_DELETE, value: null }, ErrorCode.INVALID_REQUEST],
        [{ name: "nope", configOperation: OP_SET, value: "INFO" }, ErrorCode.INVALID_CONFIG],
        [{ name: "denka", configOperation: OP_SET, value: "LOUD" }, ErrorCode.INVALID_CONFIG],
        [{ name: "denka", configOperation: OP_APPEND, value: "INFO" }, ErrorCode.INVALID_REQUEST],
      ] as const;
      for (const [op, code] of bad) {
        assert.equal((await alterIncremental(c, 8, "0", [op])).errorCode, code, op.name);
      }
    });
  });
});

Deno.test({
  name: "HTTP API: PATCH .../topics/{name} raises partitions_count",
  // The HTTP listener is not started for a broker under Bun by the test harness.
  ignore: TEST_RUNTIME === "bun",
  fn: async () => {
    await withHttpBroker({}, async ({ cluster }) => {
      const name = topicName("http-grow");
      const created = await call("POST", `${cluster}/topics`, {
        format: "json",
        body: { topic_name: name, partitions_count: 1 },
      });
      assert.equal(created.status, 201);
      const raised = await call("PATCH", `${cluster}/topics/${name}`, {
        format: "json",
        body: { partitions_count: 3 },
      });
      assert.equal(raised.status, 200, JSON.stringify(raised.body));
      assert.equal(raised.body.partitions_count, 3);
      const partitions = await call("GET", `${cluster}/topics/${name}/partitions`, {
        format: "json",
      });
      assert.deepEqual(partitions.body.data.map((p: { partition_id: number }) => p.partition_id), [
        0,
        1,
        2,
      ]);
      const lower = await call("PATCH", `${cluster}/topics/${name}`, {
        format: "json",
        body: { partitions_count: 2 },
      });
      assert.equal(lower.status, 400);
      assert.match(lower.body.message, /2 would not be an increase/);
      const notInt = await call("PATCH", `${cluster}/topics/${name}`, {
        format: "json",
        body: { partitions_count: "4" },
      });
      assert.equal(notInt.status, 400);
      assert.equal(notInt.body.error_code, 40002);
      const missing = await call("PATCH", `${cluster}/topics/nope`, {
        format: "json",
        body: { partitions_count: 4 },
      });
      assert.equal(missing.status, 404);
    });
  },
});
