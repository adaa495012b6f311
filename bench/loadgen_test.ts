/**
 * The load generator against a real Denka (in this process, real sockets),
 * with its versions capped to what an Apache Kafka 2.x broker without
 * flexible versions serves: produce, consume and latency at Produce 8 /
 * Fetch 11 (and sessionless Fetch 6), the records fetched back intact.
 */
import { startBroker } from "../mod.ts";
import { fetchApi } from "../protocol/messages/mod.ts";
import { decodeRecordBatch, decodeRecordBatches } from "../protocol/records.ts";
import { defaultFetchRequest, defaultFetchRequestPartition } from "../protocol/messages/fetch.ts";
import { assert, assertEquals, assertRejects } from "../util/assert.ts";
import { buildBatch } from "./client_ops.ts";
import { type MaxVersions, negotiateVersions, newestVersions } from "./client_versions.ts";
import { BenchConnection } from "./kafka_client.ts";
import { type LoadSpec, runLoadSpec } from "./loadgen.ts";

/** Every API below its first flexible version: Kafka 2.3's Produce, Fetch and Metadata. */
const NON_FLEXIBLE: MaxVersions = {
  Produce: 8,
  Fetch: 11,
  Metadata: 8,
  CreateTopics: 4,
  ApiVersions: 2,
};
const SHAPE = { recordBytes: 100, batchBytes: 2048, keyed: true };
const PARTITIONS = 3;

async function withBroker(
  options: { partitions?: number },
  fn: (bootstrap: string) => Promise<void>,
): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "denka-bench-loadgen-" });
  const broker = await startBroker({ port: 0, dataDir, ...options });
  try {
    await fn(broker.bootstrap);
  } finally {
    await broker.close();
    await Deno.remove(dataDir, { recursive: true });
  }
}

function produceSpec(target: string, topic: string, maxVersions: MaxVersions): LoadSpec {
  return {
    mode: "produce",
    target,
    topic,
    partitions: PARTITIONS,
    ...SHAPE,
    connections: 2,
    inFlight: 2,
    durationMs: 60_000,
    totalBytes: 40 * 1024, // about 22 requests: a count, not a duration, ends the load
    maxVersions,
  };
}

/** Fetches every partition from 0 at Fetch 11 and checks each record against the produced batch. */
async function assertRecordsIntact(target: string, topic: string, records: number): Promise<void> {
  const expected = decodeRecordBatch(buildBatch(SHAPE).bytes).records;
  const c = await BenchConnection.connect(target);
  try {
    const request = defaultFetchRequest();
    request.maxBytes = 64 * 1024 * 1024;
    request.topics = [{
      topic,
      topicId: "00000000-0000-0000-0000-000000000000",
      partitions: Array.from({ length: PARTITIONS }, (_, partition) => ({
        ...defaultFetchRequestPartition(),
        partition,
        partitionMaxBytes: 8 * 1024 * 1024,
      })),
    }];
    const response = await c.request(fetchApi, 11, request);
    let seen = 0;
    for (const p of response.responses[0].partitions) {
      assertEquals(p.errorCode, 0);
      let nextOffset = 0;
      for (const batch of decodeRecordBatches(p.records as Uint8Array)) {
        assertEquals(batch.baseOffset, nextOffset, "offsets follow on");
        assertEquals(batch.records.length, expected.length);
        batch.records.forEach((r, i) => {
          assertEquals(r.key, expected[i].key);
          assertEquals(r.value, expected[i].value);
        });
        seen += batch.records.length;
        nextOffset = batch.lastOffset + 1;
      }
      assertEquals(p.highWatermark, nextOffset);
    }
    assertEquals(seen, records);
  } finally {
    c.close();
  }
}

Deno.test("the load generator produces and consumes intact at non-flexible versions", async () => {
  await withBroker({}, async (target) => {
    const produced = await runLoadSpec(produceSpec(target, "old-client", NON_FLEXIBLE));
    assertEquals(produced.versions, {
      Produce: 8,
      Fetch: 11,
      Metadata: 8,
      CreateTopics: 4,
      ApiVersions: 0,
    });
    assertEquals(produced.errors, 0);
    assert(produced.requests >= 20, `${produced.requests} produce requests`);
    await assertRecordsIntact(target, "old-client", produced.records);
    // Fetch 11 in a session, then Fetch 6 (no sessions): the same records and bytes.
    for (const Fetch of [11, 6]) {
      const consumed = await runLoadSpec({
        mode: "consume",
        target,
        topic: "old-client",
        partitions: PARTITIONS,
        skipCreate: true,
        maxVersions: { ...NON_FLEXIBLE, Fetch },
      });
      assertEquals(consumed.versions?.Fetch, Fetch);
      assertEquals([consumed.errors, consumed.records], [0, produced.records]);
      assertEquals(consumed.recordBytes, produced.recordBytes);
    }
    const latency = await runLoadSpec({
      mode: "latency",
      target,
      topic: "old-client-latency",
      partitions: PARTITIONS,
      recordBytes: 100,
      rateBytesPerSec: 1e6,
      intervalMs: 1,
      warmupMs: 0,
      durationMs: 100,
      maxVersions: NON_FLEXIBLE,
    });
    assertEquals(latency.errors, 0, "every acknowledged batch was fetched");
    assertEquals(latency.latenciesMs?.length, latency.requests);
  });
});

Deno.test("negotiateVersions() against Denka takes the bench's newest versions", async () => {
  await withBroker({}, async (target) => {
    const c = await BenchConnection.connect(target);
    try {
      assertEquals(await negotiateVersions(c), newestVersions());
      assertEquals((await negotiateVersions(c, { ApiVersions: 2 })).ApiVersions, 0);
    } finally {
      c.close();
    }
    // Fetch 17 names the topic by its id, taken from Metadata 12.
    const produced = await runLoadSpec(produceSpec(target, "new-client", {}));
    const consumed = await runLoadSpec({
      mode: "consume",
      target,
      topic: "new-client",
      partitions: PARTITIONS,
      skipCreate: true,
    });
    assertEquals(consumed.versions?.Fetch, 17);
    assertEquals([consumed.errors, consumed.records], [0, produced.records]);
  });
});

Deno.test("without CreateTopics the load generator uses Metadata's auto-creation", async () => {
  await withBroker({ partitions: PARTITIONS }, async (target) => {
    const noCreate = { ...NON_FLEXIBLE, CreateTopics: -1 };
    const produced = await runLoadSpec(produceSpec(target, "auto", noCreate));
    assertEquals(produced.versions?.CreateTopics, undefined);
    assertEquals(produced.errors, 0);
    await assertRecordsIntact(target, "auto", produced.records);
    await assertRejects(
      () => runLoadSpec({ ...produceSpec(target, "auto-2", noCreate), partitions: 5 }),
      /Topic "auto-2" has 3 partitions, not 5/,
    );
    const consumeMissing = { ...produceSpec(target, "missing", {}), mode: "consume" as const };
    await assertRejects(
      () => runLoadSpec({ ...consumeMissing, skipCreate: true }),
      /Metadata for "missing" failed with error code 3/,
      "a topic the bench does not create is not waited for",
    );
  });
});

Deno.test("produce with ackLatencies keeps one latency per acknowledged request", async () => {
  await withBroker({}, async (target) => {
    const spec = produceSpec(target, "ack-latencies", {});
    const plain = await runLoadSpec(spec);
    assertEquals(plain.latenciesMs, undefined);
    const timed = await runLoadSpec({ ...spec, ackLatencies: true });
    assert(timed.requests > 0);
    assertEquals(timed.latenciesMs?.length, timed.requests);
    const sorted = [...timed.latenciesMs!].sort((a, b) => a - b);
    assertEquals(timed.latenciesMs, sorted, "sorted");
    assert(sorted[0] >= 0 && sorted.at(-1)! < 60_000, `latencies ${sorted[0]}..${sorted.at(-1)}`);
  });
});
