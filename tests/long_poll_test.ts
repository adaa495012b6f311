/**
 * Long-poll fetch over a real socket: a fetch that finds too few bytes parks
 * until an append wakes it or `maxWaitMs` passes; closing its connection
 * releases it.
 */
import { startBroker } from "../mod.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import {
  createTopicsApi,
  defaultFetchRequest,
  defaultFetchRequestPartition,
  defaultFetchRequestTopic,
  defaultProduceRequest,
  fetchApi,
  produceApi,
} from "../protocol/messages/mod.ts";
import { decodeRecordBatches, encodeRecordBatch } from "../protocol/records.ts";
import { assert, assertEquals } from "../util/assert.ts";
import { RawConnection } from "./interop/raw_client.ts";
import { concatBytes } from "../util/bytes.ts";

const FETCH_VERSION = 11;
const PRODUCE_VERSION = 7;

async function withTopic(
  fn: (bootstrap: string, broker: Awaited<ReturnType<typeof startBroker>>) => Promise<void>,
) {
  const dataDir = await Deno.makeTempDir({ prefix: "denka-longpoll-" });
  const broker = await startBroker({ port: 0, dataDir });
  try {
    const c = await RawConnection.connect(broker.bootstrap);
    try {
      const created = await c.request(createTopicsApi, 4, {
        topics: [{
          name: "lp",
          numPartitions: 1,
          replicationFactor: 1,
          assignments: [],
          configs: [],
        }],
        timeoutMs: 1000,
        validateOnly: false,
      });
      assertEquals(created.topics[0].errorCode, ErrorCode.NONE);
    } finally {
      c.close();
    }
    await fn(broker.bootstrap, broker);
  } finally {
    await broker.close();
    await Deno.remove(dataDir, { recursive: true });
  }
}

function fetchBody(offset: number, maxWaitMs: number, minBytes: number) {
  return {
    ...defaultFetchRequest(),
    maxWaitMs,
    minBytes,
    maxBytes: 1 << 20,
    topics: [{
      ...defaultFetchRequestTopic(),
      topic: "lp",
      partitions: [{
        ...defaultFetchRequestPartition(),
        partition: 0,
        fetchOffset: offset,
        partitionMaxBytes: 1 << 20,
      }],
    }],
  };
}

function produceBody(value: string) {
  const batch = encodeRecordBatch([{
    key: null,
    value: new TextEncoder().encode(value),
    timestampMs: Date.now(),
  }]);
  return {
    ...defaultProduceRequest(),
    acks: -1,
    timeoutMs: 1000,
    topicData: [{ name: "lp", partitionData: [{ index: 0, records: batch }] }],
  };
}

Deno.test("a parked fetch is woken by an append, long before maxWaitMs", async () => {
  await withTopic(async (bootstrap, broker) => {
    const consumer = await RawConnection.connect(bootstrap);
    const producer = await RawConnection.connect(bootstrap);
    try {
      const parked = broker.nextFetchPark();
      const unparked = broker.nextFetchUnpark();
      const startedMs = performance.now();
      const fetching = consumer.request(fetchApi, FETCH_VERSION, fetchBody(0, 60_000, 1));
      await parked;
      const produced = await producer.request(produceApi, PRODUCE_VERSION, produceBody("wake"));
      assertEquals(produced.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
      const fetched = await fetching;
      const tookMs = performance.now() - startedMs;
      assertEquals(await unparked, "appended");
      const p = fetched.responses[0].partitions[0];
      assertEquals(p.errorCode, ErrorCode.NONE);
      assertEquals(p.highWatermark, 1);
      const records = decodeRecordBatches(concatBytes([p.records as Uint8Array]))[0].records;
      assertEquals(new TextDecoder().decode(records[0].value!), "wake");
      assert(tookMs < 30_000, `the fetch waited ${tookMs} ms: it was not woken`);
    } finally {
      consumer.close();
      producer.close();
    }
  });
});

Deno.test("a fetch with too few bytes returns empty when maxWaitMs passes", async () => {
  await withTopic(async (bootstrap) => {
    const c = await RawConnection.connect(bootstrap);
    try {
      const fetched = await c.request(fetchApi, FETCH_VERSION, fetchBody(0, 50, 1));
      const p = fetched.responses[0].partitions[0];
      assertEquals(p.errorCode, ErrorCode.NONE);
      assertEquals(p.highWatermark, 0);
      assertEquals((p.records as Uint8Array).length, 0);
    } finally {
      c.close();
    }
  });
});

Deno.test("minBytes holds a fetch until enough bytes have been appended", async () => {
  await withTopic(async (bootstrap, broker) => {
    const consumer = await RawConnection.connect(bootstrap);
    const producer = await RawConnection.connect(bootstrap);
    try {
      let parked = broker.nextFetchPark();
      const fetching = consumer.request(fetchApi, FETCH_VERSION, fetchBody(0, 60_000, 200));
      await parked;
      // One small batch (< 200 bytes) wakes the fetch, which parks again.
      parked = broker.nextFetchPark();
      await producer.request(produceApi, PRODUCE_VERSION, produceBody("a"));
      await parked;
      await producer.request(produceApi, PRODUCE_VERSION, produceBody("b".repeat(300)));
      const fetched = await fetching;
      const p = fetched.responses[0].partitions[0];
      assertEquals(p.highWatermark, 2);
      const batches = decodeRecordBatches(concatBytes([p.records as Uint8Array]));
      assertEquals(batches.length, 2);
    } finally {
      consumer.close();
      producer.close();
    }
  });
});

Deno.test("closing the connection releases a parked fetch", async () => {
  await withTopic(async (bootstrap, broker) => {
    const consumer = await RawConnection.connect(bootstrap);
    const parked = broker.nextFetchPark();
    const { frame } = consumer.encode(fetchApi, FETCH_VERSION, fetchBody(0, 60_000, 1));
    await consumer.send(frame);
    await parked;
    const released = broker.nextFetchUnpark();
    consumer.close();
    assertEquals(await released, "aborted");
  });
});
