/**
 * Client quotas over a real socket: AlterClientQuotas / DescribeClientQuotas
 * (round trip, persistence, Kafka's error codes), producers and consumers
 * over their byte rate throttled (throttleTimeMs, the connection muted or
 * the response delayed by version) without losing anything, and a real
 * librdkafka producer completing under a quota with its throttle_cb firing.
 *
 * Brokers here measure rates over 2 samples of 1 s (Kafka: 11), so that a
 * burst's credit is one second of quota and a test takes seconds.
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import {
  alterClientQuotasApi,
  apiVersionsApi,
  describeClientQuotasApi,
  metadataApi,
  produceApi,
} from "../../protocol/messages/mod.ts";
import type { AlterClientQuotasRequestEntryData } from "../../protocol/messages/alter_client_quotas.ts";
import type { DescribeClientQuotasResponse } from "../../protocol/messages/describe_client_quotas.ts";
import { defaultMetadataRequest } from "../../protocol/messages/metadata.ts";
import { decodeRecordBatches, encodeRecordBatch } from "../../protocol/records.ts";
import { assert, assertEquals } from "../../util/assert.ts";
import {
  makeDataDir,
  readStoredBatches,
  runPython,
  startTestBroker,
  topicName,
  withBroker,
} from "./harness.ts";
import { fetchPartition0, RawConnection } from "./raw_client.ts";

const WINDOW = { quotaWindowNum: 2, quotaWindowSizeSeconds: 1 };
const PRODUCER_BYTE_RATE = "producer_byte_rate";
const CONSUMER_BYTE_RATE = "consumer_byte_rate";
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

type Entity = AlterClientQuotasRequestEntryData["entity"];

function client(name: string | null): Entity {
  return [{ entityType: "client-id", entityName: name }];
}

function setOps(values: Record<string, number>): AlterClientQuotasRequestEntryData["ops"] {
  return Object.entries(values).map(([key, value]) => ({ key, value, remove: false }));
}

/** Runs `fn` with connections that carry the given client ids, closed afterwards. */
async function withClients<T>(
  bootstrap: string,
  clientIds: string[],
  fn: (...conns: RawConnection[]) => Promise<T>,
): Promise<T> {
  const conns = await Promise.all(clientIds.map((id) => RawConnection.connect(bootstrap, id)));
  try {
    return await fn(...conns);
  } finally {
    for (const c of conns) c.close();
  }
}

/** Sets quotas, expecting every entry to succeed. */
async function alterQuotas(
  c: RawConnection,
  entries: AlterClientQuotasRequestEntryData[],
  version = 1,
): Promise<void> {
  const res = await c.request(alterClientQuotasApi, version, { entries, validateOnly: false });
  assertEquals(res.entries.map((e) => [e.errorCode, e.errorMessage]), entries.map(() => [0, null]));
}

/** Every dynamic quota, sorted by client id, as `[clientId, {key: value}]`. */
async function describeAll(
  c: RawConnection,
  version = 1,
  components: { entityType: string; matchType: number; match: string | null }[] = [],
): Promise<[string | null, Record<string, number>][]> {
  const res = await c.request(describeClientQuotasApi, version, { components, strict: false });
  assertEquals([res.errorCode, res.errorMessage], [0, null]);
  return entriesOf(res);
}

function entriesOf(res: DescribeClientQuotasResponse): [string | null, Record<string, number>][] {
  return (res.entries ?? [])
    .map((e): [string | null, Record<string, number>] => {
      assertEquals(e.entity.length, 1);
      assertEquals(e.entity[0].entityType, "client-id");
      return [e.entity[0].entityName, Object.fromEntries(e.values.map((v) => [v.key, v.value]))];
    })
    .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
}

/** Auto-creates `topic` through Metadata. */
async function ensureTopic(c: RawConnection, topic: string): Promise<void> {
  const request = { ...defaultMetadataRequest(), topics: [{ topicId: "", name: topic }] };
  for (let attempt = 0; attempt < 50; attempt++) {
    const res = await c.request(metadataApi, 4, request);
    const t = res.topics.find((x) => x.name === topic);
    if (t !== undefined && t.errorCode === 0 && t.partitions.length > 0) return;
  }
  throw new Error(`Topic "${topic}" did not come up`);
}

/** A batch of `count` records whose values are `valueBytes` long and name their batch. */
function batch(label: string, count: number, valueBytes: number): Uint8Array {
  return encodeRecordBatch(Array.from({ length: count }, (_, i) => ({
    key: textEncoder.encode(`${label}-${i}`),
    value: textEncoder.encode(`${label}-${i}-`.padEnd(valueBytes, "x")),
    timestampMs: 1_700_000_000_000 + i,
  })));
}

/** Produces one batch with acks=-1 at `version`; the partition's answer and the throttle time. */
async function produce(c: RawConnection, topic: string, records: Uint8Array, version: number) {
  const res = await c.request(produceApi, version, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30_000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  });
  const p = res.responses[0].partitionResponses[0];
  return { errorCode: p.errorCode, baseOffset: p.baseOffset, throttleTimeMs: res.throttleTimeMs };
}

/** Fetches partition 0 of `topic` from `offset` at `version` (12: by name, no session). */
async function fetchFrom(c: RawConnection, topic: string, offset: number, version = 12) {
  const res = await fetchPartition0(c, topic, offset, { version, maxBytes: 64 * 1024 * 1024 });
  const p = res.responses[0].partitions[0];
  assertEquals(p.errorCode, 0);
  const records = p.records as Uint8Array | null;
  const values = records === null
    ? []
    : decodeRecordBatches(records).flatMap((b) => b.records).map((r) => ({
      offset: r.offset,
      value: textDecoder.decode(r.value!),
    }));
  return { values, throttleTimeMs: res.throttleTimeMs, highWatermark: p.highWatermark };
}

/** Milliseconds `fn` took. */
async function timed<T>(fn: () => Promise<T>): Promise<{ result: T; elapsedMs: number }> {
  const startedMs = performance.now();
  const result = await fn();
  return { result, elapsedMs: performance.now() - startedMs };
}

Deno.test("a producer over its quota is throttled, held near its rate, and loses nothing", async () => {
  await withBroker(WINDOW, async (t) => {
    await withClients(t.bootstrap, ["admin", "slow", "fast"], async (admin, slow, fast) => {
      const topic = topicName("quota-produce");
      await ensureTopic(admin, topic);
      const quotaBytesPerSec = 256 * 1024;
      await alterQuotas(admin, [{
        entity: client("slow"),
        ops: setOps({ [PRODUCER_BYTE_RATE]: quotaBytesPerSec }),
      }]);
      const batchCount = 16, recordsPerBatch = 16, valueBytes = 4096;
      const batches = Array.from(
        { length: batchCount },
        (_, i) => batch(`b${i}`, recordsPerBatch, valueBytes),
      );
      const totalBytes = batches.reduce((sum, b) => sum + b.length, 0);
      let throttledCount = 0;
      const { elapsedMs } = await timed(async () => {
        for (const [i, records] of batches.entries()) {
          const res = await produce(slow, topic, records, 9);
          assertEquals([res.errorCode, res.baseOffset], [0, i * recordsPerBatch]);
          if (res.throttleTimeMs > 0) throttledCount++;
        }
      });
      assert(throttledCount > 0, "No produce response carried a throttle time");
      const quotaMs = totalBytes / quotaBytesPerSec * 1000;
      assert(elapsedMs >= 0.5 * quotaMs, `${totalBytes} bytes took ${elapsedMs} ms`);
      assert(elapsedMs <= 4 * quotaMs, `${totalBytes} bytes took ${elapsedMs} ms`);
      // Another client id has no quota: not throttled.
      const other = await produce(fast, topic, batch("fast", 1, 10), 9);
      assertEquals([other.errorCode, other.throttleTimeMs], [0, 0]);
      // Every acknowledged record reads back.
      const read = await fetchFrom(admin, topic, 0);
      assertEquals(read.highWatermark, batchCount * recordsPerBatch + 1);
      assertEquals(read.values.length, batchCount * recordsPerBatch + 1);
      for (const [i, r] of read.values.slice(0, -1).entries()) {
        const label = `b${Math.floor(i / recordsPerBatch)}-${i % recordsPerBatch}-`;
        assertEquals([r.offset, r.value], [i, label.padEnd(valueBytes, "x")]);
      }
    });
  });
});

Deno.test("Produce v9 is answered at once and the connection muted; v5's answer waits", async () => {
  await withBroker(WINDOW, async (t) => {
    await withClients(t.bootstrap, ["admin", "kip219", "legacy"], async (admin, kip219, legacy) => {
      const topic = topicName("quota-mute");
      await ensureTopic(admin, topic);
      await alterQuotas(admin, [
        { entity: client("kip219"), ops: setOps({ [PRODUCER_BYTE_RATE]: 100_000 }) },
        { entity: client("legacy"), ops: setOps({ [PRODUCER_BYTE_RATE]: 100_000 }) },
      ]);
      // ~300 kB at once: 300 kB/s over the 1 s window, a throttle of about 2 s.
      const records = batch("big", 64, 4600);
      const muted = async () => {
        const answer = await timed(() => produce(kip219, topic, records, 9));
        const next = await timed(() =>
          kip219.request(apiVersionsApi, 3, {
            clientSoftwareName: "raw",
            clientSoftwareVersion: "1",
          })
        );
        return { answer, next };
      };
      const [{ answer, next }, delayed] = await Promise.all([
        muted(),
        timed(() => produce(legacy, topic, records, 5)),
      ]);
      for (const r of [answer.result, delayed.result]) {
        assertEquals(r.errorCode, 0);
        assert(r.throttleTimeMs >= 1000, `throttle ${r.throttleTimeMs} ms`);
      }
      const throttleMs = answer.result.throttleTimeMs;
      assert(answer.elapsedMs < throttleMs, `v9 answered after ${answer.elapsedMs} ms`);
      assertEquals(next.result.errorCode, 0);
      assert(next.elapsedMs >= 0.5 * throttleMs, `next request after ${next.elapsedMs} ms`);
      assert(
        delayed.elapsedMs >= delayed.result.throttleTimeMs - 50,
        `v5 answered after ${delayed.elapsedMs} ms, throttle ${delayed.result.throttleTimeMs} ms`,
      );
      // Both throttled batches were appended.
      const read = await fetchFrom(admin, topic, 0);
      assertEquals(read.values.length, 128);
    });
  });
});

Deno.test("a consumer over its quota gets its records, a throttle time, then waits", async () => {
  await withBroker(WINDOW, async (t) => {
    await withClients(t.bootstrap, ["admin", "reader"], async (admin, reader) => {
      const topic = topicName("quota-fetch");
      await ensureTopic(admin, topic);
      assertEquals((await produce(admin, topic, batch("r", 64, 4600), 9)).errorCode, 0);
      await alterQuotas(admin, [{
        entity: client(null),
        ops: setOps({ [CONSUMER_BYTE_RATE]: 100_000 }),
      }]);
      const first = await fetchFrom(reader, topic, 0);
      assertEquals(first.values.length, 64);
      assert(first.throttleTimeMs >= 1000, `throttle ${first.throttleTimeMs} ms`);
      const next = await timed(() => fetchFrom(reader, topic, 64));
      assertEquals(next.result.values.length, 0);
      assert(next.elapsedMs >= 0.5 * first.throttleTimeMs, `next fetch after ${next.elapsedMs} ms`);
      // The admin connection (another client id, also under <default>) fetched nothing yet.
      assertEquals((await fetchFrom(admin, topic, 64)).throttleTimeMs, 0);
    });
  });
});

Deno.test("AlterClientQuotas then DescribeClientQuotas round trip, kept across a restart", async () => {
  const dataDir = await makeDataDir();
  try {
    let broker = await startTestBroker(dataDir);
    await withClients(broker.bootstrap, ["admin"], async (admin) => {
      await alterQuotas(admin, [
        {
          entity: client("app"),
          ops: setOps({ [PRODUCER_BYTE_RATE]: 1024, [CONSUMER_BYTE_RATE]: 2048 }),
        },
        { entity: client(null), ops: setOps({ [PRODUCER_BYTE_RATE]: 4096 }) },
      ]);
      assertEquals(await describeAll(admin), [
        ["app", { [PRODUCER_BYTE_RATE]: 1024, [CONSUMER_BYTE_RATE]: 2048 }],
        [null, { [PRODUCER_BYTE_RATE]: 4096 }],
      ]);
      // v0 (not flexible), exact and default matches.
      assertEquals(
        await describeAll(admin, 0, [{ entityType: "client-id", matchType: 0, match: "app" }]),
        [
          ["app", { [PRODUCER_BYTE_RATE]: 1024, [CONSUMER_BYTE_RATE]: 2048 }],
        ],
      );
      assertEquals(
        await describeAll(admin, 0, [{ entityType: "client-id", matchType: 1, match: null }]),
        [
          [null, { [PRODUCER_BYTE_RATE]: 4096 }],
        ],
      );
    });
    await broker.close();
    broker = await startTestBroker(dataDir);
    try {
      await withClients(broker.bootstrap, ["admin"], async (admin) => {
        assertEquals(await describeAll(admin, 0), [
          ["app", { [PRODUCER_BYTE_RATE]: 1024, [CONSUMER_BYTE_RATE]: 2048 }],
          [null, { [PRODUCER_BYTE_RATE]: 4096 }],
        ]);
        await alterQuotas(admin, [{
          entity: client("app"),
          ops: [{ key: PRODUCER_BYTE_RATE, value: 0, remove: true }],
        }], 0);
        assertEquals(await describeAll(admin), [
          ["app", { [CONSUMER_BYTE_RATE]: 2048 }],
          [null, { [PRODUCER_BYTE_RATE]: 4096 }],
        ]);
      });
    } finally {
      await broker.close();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("bad quota alterations and filters get Kafka's error codes, the connection stays", async () => {
  await withBroker({}, async (t) => {
    await withClients(t.bootstrap, ["admin"], async (admin) => {
      const res = await admin.request(alterClientQuotasApi, 1, {
        validateOnly: false,
        entries: [
          { entity: client("a"), ops: setOps({ no_such_quota: 5 }) },
          { entity: client("b"), ops: setOps({ [PRODUCER_BYTE_RATE]: -100 }) },
          {
            entity: [{ entityType: "topic", entityName: "t" }],
            ops: setOps({ [PRODUCER_BYTE_RATE]: 1 }),
          },
          { entity: client("c"), ops: setOps({ [CONSUMER_BYTE_RATE]: 10 }) },
        ],
      });
      assertEquals(res.entries.map((e) => [e.errorCode, e.errorMessage, e.entity]), [
        [ErrorCode.INVALID_REQUEST, "Invalid configuration key no_such_quota", client("a")],
        [ErrorCode.INVALID_REQUEST, "Quota producer_byte_rate must be greater than 0", client("b")],
        [
          ErrorCode.INVALID_REQUEST,
          "Unhandled client quota entity type: topic",
          [{ entityType: "topic", entityName: "t" }],
        ],
        [ErrorCode.NONE, null, client("c")],
      ]);
      const refused = await admin.request(describeClientQuotasApi, 1, {
        components: [{ entityType: "topic", matchType: 2, match: null }],
        strict: false,
      });
      assertEquals(
        [refused.errorCode, refused.errorMessage, refused.entries],
        [ErrorCode.UNSUPPORTED_VERSION, "Unsupported entity type topic", null],
      );
      // Same connection: still served, and the valid entry alone was applied.
      assertEquals(await describeAll(admin), [["c", { [CONSUMER_BYTE_RATE]: 10 }]]);
      const versions = await admin.request(apiVersionsApi, 3, {
        clientSoftwareName: "raw",
        clientSoftwareVersion: "1",
      });
      const served = versions.apiKeys.filter((k) => k.apiKey === 48 || k.apiKey === 49)
        .map((k) => [k.apiKey, k.minVersion, k.maxVersion]);
      assertEquals(served, [[48, 0, 1], [49, 0, 1]]);
    });
  });
});

Deno.test("librdkafka completes under the broker's default producer quota; throttle_cb fires", async () => {
  const quotaBytesPerSec = 512 * 1024;
  await withBroker({ ...WINDOW, quotaProducerByteRate: quotaBytesPerSec }, async (t) => {
    const topic = topicName("quota-librdkafka");
    const count = 512, valueBytes = 4096;
    const { result, elapsedMs } = await timed(() =>
      runPython<{ delivered: number; errors: unknown[]; throttle_events: number }>(
        "confluent_produce.py",
        {
          bootstrap: t.bootstrap,
          topic,
          // Small requests: with KIP-219 a response comes back at once and its throttle is
          // paid before the next request, so 2 MiB in two 1 MB requests (librdkafka's
          // default batch.size) would pay only one throttle and finish early.
          config: {
            "client.id": "confluent-slow",
            acks: "all",
            "linger.ms": 5,
            "batch.size": 65536,
          },
          messages: Array.from({ length: count }, (_, i) => ({
            key: `k${i}`,
            value: { repeat: "v", times: valueBytes },
            partition: 0,
          })),
          flush_timeout_s: 60,
        },
      )
    );
    assertEquals([result.delivered, result.errors], [count, []]);
    assert(result.throttle_events > 0, "librdkafka reported no throttle");
    const totalBytes = count * valueBytes;
    assert(
      elapsedMs >= 0.5 * totalBytes / quotaBytesPerSec * 1000,
      `${totalBytes} bytes took ${elapsedMs} ms`,
    );
    const stored = await readStoredBatches(t.dataDir, topic, 0);
    assertEquals(stored.reduce((sum, b) => sum + b.recordCount, 0), count);
    assert(stored.every((b) => b.crcValid));
  });
});

Deno.test("a broker stops at once while a throttled connection is muted", async () => {
  const dataDir = await makeDataDir();
  try {
    const broker = await startTestBroker(dataDir, WINDOW);
    let closed = false;
    try {
      await withClients(broker.bootstrap, ["admin", "muted"], async (admin, muted) => {
        const topic = topicName("quota-stop");
        await ensureTopic(admin, topic);
        await alterQuotas(admin, [{
          entity: client("muted"),
          ops: setOps({ [PRODUCER_BYTE_RATE]: 1 }),
        }]);
        const res = await produce(muted, topic, batch("m", 4, 1000), 9);
        assertEquals(res.errorCode, 0);
        assert(res.throttleTimeMs > 3_600_000, `throttle ${res.throttleTimeMs} ms`);
        // The muted connection holds a request; stopping must not wait for the throttle.
        await muted.send(
          muted.encode(apiVersionsApi, 3, {
            clientSoftwareName: "raw",
            clientSoftwareVersion: "1",
          }).frame,
        );
        const { elapsedMs } = await timed(() => broker.close());
        closed = true;
        assert(elapsedMs < 5000, `close took ${elapsedMs} ms`);
        await muted.expectClosed();
      });
    } finally {
      if (!closed) await broker.close();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
