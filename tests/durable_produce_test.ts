/**
 * Durable produce through a real socket: idempotent retries, acks and the
 * flush policy (faults from the in-memory libc prove that acks=all waits for
 * fdatasync in sync mode), DeleteRecords, AlterConfigs and
 * IncrementalAlterConfigs persisted and shown by DescribeConfigs.
 */
import { assert } from "../util/assert.ts";
import { memoryLibc } from "../ffi/memory.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import {
  alterConfigsApi,
  createTopicsApi,
  deleteRecordsApi,
  describeConfigsApi,
  incrementalAlterConfigsApi,
  initProducerIdApi,
  produceApi,
} from "../protocol/messages/mod.ts";
import { encodeRecordBatch } from "../protocol/records.ts";
import { startBroker, type StartBrokerOptions } from "../mod.ts";
import { type RawConnection, withConnection } from "./interop/raw_client.ts";
import { call } from "./interop/http_helpers.ts";

const TOPIC = "durable";

function batch(
  count: number,
  options: { producerId?: number; producerEpoch?: number; baseSequence?: number } = {},
): Uint8Array {
  return encodeRecordBatch(
    Array.from({ length: count }, (_, i) => ({
      key: new TextEncoder().encode(`k${i}`),
      value: new TextEncoder().encode(`v${i}`),
      timestampMs: Date.now(),
    })),
    options,
  );
}

async function produce(c: RawConnection, records: Uint8Array, acks = -1) {
  const res = await c.request(produceApi, 9, {
    transactionalId: null,
    acks,
    timeoutMs: 5000,
    topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }],
  });
  return res.responses[0].partitionResponses[0];
}

async function createTopic(c: RawConnection, configs: Record<string, string> = {}): Promise<void> {
  const res = await c.request(createTopicsApi, 5, {
    topics: [{
      name: TOPIC,
      numPartitions: 1,
      replicationFactor: 1,
      assignments: [],
      configs: Object.entries(configs).map(([name, value]) => ({ name, value })),
    }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  assert.equal(res.topics[0].errorCode, ErrorCode.NONE, res.topics[0].errorMessage ?? "");
}

async function withTestBroker(
  options: StartBrokerOptions,
  fn: (c: RawConnection) => Promise<void>,
): Promise<void> {
  await using broker = await startBroker({ port: 0, dataDir: "/data", ...options });
  await withConnection(broker.bootstrap, fn);
}

Deno.test("An idempotent producer retrying a batch gets its first offset and it is stored once", async () => {
  await withTestBroker({ libc: memoryLibc() }, async (c) => {
    await createTopic(c);
    const ids = await c.request(initProducerIdApi, 4, {
      transactionalId: null,
      transactionTimeoutMs: 60000,
      producerId: -1,
      producerEpoch: -1,
    });
    const producerId = ids.producerId;
    assert.ok(producerId >= 0);
    assert.equal((await produce(c, batch(3))).baseOffset, 0); // a plain batch first
    const first = await produce(c, batch(2, { producerId, producerEpoch: 0, baseSequence: 0 }));
    assert.equal(first.errorCode, ErrorCode.NONE);
    assert.equal(first.baseOffset, 3);
    for (let retry = 0; retry < 3; retry++) {
      const again = await produce(c, batch(2, { producerId, producerEpoch: 0, baseSequence: 0 }));
      assert.equal(again.errorCode, ErrorCode.NONE);
      assert.equal(again.baseOffset, 3);
    }
    const next = await produce(c, batch(1, { producerId, producerEpoch: 0, baseSequence: 2 }));
    assert.equal(next.baseOffset, 5);
    const gap = await produce(c, batch(1, { producerId, producerEpoch: 0, baseSequence: 9 }));
    assert.equal(gap.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert.match(gap.errorMessage ?? "", /Out of order sequence number/);
    const bumped = await produce(c, batch(1, { producerId, producerEpoch: 1, baseSequence: 0 }));
    assert.equal(bumped.baseOffset, 6);
    const fenced = await produce(c, batch(1, { producerId, producerEpoch: 0, baseSequence: 3 }));
    assert.equal(fenced.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
    assert.equal((await produce(c, batch(1))).baseOffset, 7); // nothing else was appended
  });
});

Deno.test("--flush sync: acks=all waits for fdatasync, acks=1 does not", async () => {
  const libc = memoryLibc();
  await withTestBroker({ libc, flush: "sync" }, async (c) => {
    await createTopic(c);
    assert.equal((await produce(c, batch(1))).errorCode, ErrorCode.NONE);
    libc.addFault({ syscall: "fdatasync", pathIncludes: ".log" });
    const failed = await produce(c, batch(1));
    assert.equal(failed.errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    assert.match(failed.errorMessage ?? "", /fdatasync/);
    assert.equal((await produce(c, batch(1), 1)).errorCode, ErrorCode.NONE);
    libc.clearFaults();
    const healed = await produce(c, batch(1));
    assert.equal(healed.errorCode, ErrorCode.NONE);
    assert.equal(healed.baseOffset, 3); // the failed flush's batch is still in the log
  });
});

Deno.test("Page-cache mode answers acks=all without a flush; flush.messages=1 forces one", async () => {
  const libc = memoryLibc();
  await withTestBroker({ libc }, async (c) => {
    await createTopic(c);
    libc.addFault({ syscall: "fdatasync", pathIncludes: ".log" });
    assert.equal((await produce(c, batch(1))).errorCode, ErrorCode.NONE);
    libc.clearFaults();
    const altered = await c.request(incrementalAlterConfigsApi, 0, {
      resources: [{
        resourceType: 2,
        resourceName: TOPIC,
        configs: [{ name: "flush.messages", configOperation: 0, value: "1" }],
      }],
      validateOnly: false,
    });
    assert.equal(altered.responses[0].errorCode, ErrorCode.NONE);
    libc.addFault({ syscall: "fdatasync", pathIncludes: ".log" });
    assert.equal((await produce(c, batch(1), 1)).errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    libc.clearFaults();
  });
});

Deno.test("Topic configs altered at runtime are validated, persisted and described; DeleteRecords moves the low watermark", async () => {
  const libc = memoryLibc();
  const describe = async (c: RawConnection) => {
    const res = await c.request(describeConfigsApi, 1, {
      resources: [{ resourceType: 2, resourceName: TOPIC, configurationKeys: null }],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    return new Map(res.results[0].configs.map((e) => [e.name, e]));
  };
  await withTestBroker({ libc }, async (c) => {
    await createTopic(c, { "retention.ms": "60000" });
    const res = await c.request(incrementalAlterConfigsApi, 1, {
      resources: [{
        resourceType: 2,
        resourceName: TOPIC,
        configs: [
          { name: "cleanup.policy", configOperation: 2, value: "compact" },
          { name: "retention.bytes", configOperation: 0, value: "1048576" },
        ],
      }, {
        resourceType: 2,
        resourceName: TOPIC,
        configs: [{ name: "retention.ms", configOperation: 0, value: "soon" }],
      }],
      validateOnly: false,
    });
    assert.equal(res.responses[0].errorCode, ErrorCode.NONE);
    assert.equal(res.responses[1].errorCode, ErrorCode.INVALID_CONFIG);
    assert.match(res.responses[1].errorMessage ?? "", /"retention.ms" must be an integer/);
    const configs = await describe(c);
    assert.equal(configs.get("cleanup.policy")?.value, "delete,compact");
    assert.equal(configs.get("retention.bytes")?.value, "1048576");
    assert.equal(configs.get("retention.ms")?.value, "60000");
    assert.equal(configs.get("retention.ms")?.isDefault, false);
    for (let i = 0; i < 4; i++) await produce(c, batch(5));
    const deleted = await c.request(deleteRecordsApi, 1, {
      topics: [{
        name: TOPIC,
        partitions: [{ partitionIndex: 0, offset: 12 }, { partitionIndex: 3, offset: 1 }],
      }],
      timeoutMs: 5000,
    });
    assert.deepEqual(deleted.topics[0].partitions.map((p) => [p.errorCode, p.lowWatermark]), [
      [ErrorCode.NONE, 12],
      [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1],
    ]);
    const beyond = await c.request(deleteRecordsApi, 1, {
      topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, offset: 999 }] }],
      timeoutMs: 5000,
    });
    assert.equal(beyond.topics[0].partitions[0].errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
  });
  await withTestBroker({ libc }, async (c) => {
    const configs = await describe(c);
    assert.equal(configs.get("cleanup.policy")?.value, "delete,compact");
    const replaced = await c.request(alterConfigsApi, 1, {
      resources: [{
        resourceType: 2,
        resourceName: TOPIC,
        configs: [{ name: "segment.ms", value: "3600000" }],
      }, { resourceType: 4, resourceName: "0", configs: [{ name: "log.dirs", value: "/x" }] }],
      validateOnly: false,
    });
    assert.equal(replaced.responses[0].errorCode, ErrorCode.NONE);
    assert.equal(replaced.responses[1].errorCode, ErrorCode.INVALID_CONFIG);
    const after = await describe(c);
    assert.equal(after.get("segment.ms")?.value, "3600000");
    assert.equal(after.get("cleanup.policy")?.value, "delete"); // AlterConfigs replaces the whole set
    const deleted = await c.request(deleteRecordsApi, 0, {
      topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, offset: -1 }] }],
      timeoutMs: 5000,
    });
    assert.equal(deleted.topics[0].partitions[0].lowWatermark, 20);
  });
});

Deno.test("--flush sync: every acks=all answer finds its batch durable, with producers on several connections", async () => {
  const libc = memoryLibc();
  await using broker = await startBroker({
    port: 0,
    dataDir: "/data",
    libc,
    flush: "sync",
  });
  await withConnection(broker.bootstrap, (c) => createTopic(c));
  const batchBytes = batch(1).length;
  const logPath = "/data/durable-0/00000000000000000000.log";
  let checked = 0;
  const producer = (c: RawConnection) => async () => {
    for (let i = 0; i < 20; i++) {
      const res = await produce(c, batch(1));
      assert.equal(res.errorCode, ErrorCode.NONE);
      // This batch and every one before it were on disk when the answer was sent.
      assert.ok(libc.durableSizeBytes(logPath) >= (res.baseOffset + 1) * batchBytes);
      checked++;
    }
  };
  await Promise.all(
    [0, 1, 2].map(() => withConnection(broker.bootstrap, (c) => producer(c)())),
  );
  assert.equal(checked, 60);
});

Deno.test("--flush sync: an HTTP produce is answered only after its flush, as acks=all is", async () => {
  const libc = memoryLibc();
  await using broker = await startBroker({
    port: 0,
    dataDir: "/data",
    libc,
    flush: "sync",
    http: { port: 0 },
  });
  await withConnection(broker.bootstrap, (c) => createTopic(c));
  const url = `${broker.httpUrl}/v3/clusters/denka-cluster/topics/${TOPIC}/records`;
  const record = { value: { type: "STRING", data: "hi" } };
  const ok = await call("POST", url, { body: record });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  libc.addFault({ syscall: "fdatasync", pathIncludes: ".log" });
  const failed = await call("POST", url, { body: record });
  assert.equal(failed.status, 422, JSON.stringify(failed.body));
  assert.match(JSON.stringify(failed.body), /flush failed/);
  libc.clearFaults();
  const healed = await call("POST", url, { body: record });
  assert.equal(healed.status, 200);
  assert.equal((healed.body as { offset: number }).offset, 2); // the failed flush's record stays
});
