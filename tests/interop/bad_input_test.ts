/**
 * The negative space of the wire: truncated and absurd frames, unknown APIs,
 * corrupt or oversized batches, missing partitions, offsets past the end.
 * After each, a fresh connection must still be served and the data
 * acknowledged before must read back intact.
 */
import { assert, assertEquals } from "../../util/assert.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { apiVersionsApi, metadataApi, produceApi } from "../../protocol/messages/mod.ts";
import { defaultMetadataRequest } from "../../protocol/messages/metadata.ts";
import { Reader, Writer } from "../../protocol/primitives.ts";
import { BatchField } from "../../protocol/record_batch.ts";
import {
  decodeRecordBatches,
  encodeRecordBatch,
  type RecordInput,
} from "../../protocol/records.ts";
import { type TestBroker, withBroker } from "./harness.ts";
import { TEST_RUNTIME } from "./bun_broker.ts";
import { fetchPartition0, type RawConnection, withConnection } from "./raw_client.ts";
import { concatBytes } from "../../util/bytes.ts";

const TOPIC = "intact";
const PRODUCE_VERSION = 9;
const FETCH_VERSION = 11;
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

function records(count: number, prefix: string): RecordInput[] {
  return Array.from({ length: count }, (_, i) => ({
    key: textEncoder.encode(`${prefix}-k${i}`),
    value: textEncoder.encode(`${prefix}-v${i}`),
    headers: [{ key: "i", value: textEncoder.encode(String(i)) }],
    timestampMs: 1_700_000_000_000 + i,
  }));
}

/** Creates `topic` (auto-create through Metadata) and waits until it has a leader. */
async function ensureTopic(c: RawConnection, topic: string): Promise<void> {
  const request = { ...defaultMetadataRequest(), topics: [{ topicId: "", name: topic }] };
  for (let attempt = 0; attempt < 50; attempt++) {
    const res = await c.request(metadataApi, 4, request);
    const t = res.topics.find((x) => x.name === topic);
    if (t !== undefined && t.errorCode === 0 && t.partitions.length > 0) return;
  }
  throw new Error(`Topic "${topic}" did not come up`);
}

/** Produces one batch (acks=-1) and returns the partition's error code and base offset. */
async function produce(
  c: RawConnection,
  topic: string,
  partition: number,
  batch: Uint8Array,
  version = PRODUCE_VERSION,
): Promise<{ errorCode: number; baseOffset: number; errorMessage: string | null }> {
  const res = await c.request(produceApi, version, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }],
  });
  assertEquals(res.responses.length, 1);
  const p = res.responses[0].partitionResponses[0];
  return { errorCode: p.errorCode, baseOffset: p.baseOffset, errorMessage: p.errorMessage };
}

/** Fetches `partition` from `offset`; returns the error code and the record bytes. */
async function fetch(
  c: RawConnection,
  topic: string,
  offset: number,
): Promise<{ errorCode: number; highWatermark: number; records: Uint8Array | null }> {
  const res = await fetchPartition0(c, topic, offset, {
    version: FETCH_VERSION,
    maxBytes: 16 * 1024 * 1024,
  });
  const p = res.responses[0].partitions[0];
  return {
    errorCode: p.errorCode,
    highWatermark: p.highWatermark,
    records: p.records as Uint8Array | null,
  };
}

const GOOD_COUNT = 25;

/** Runs `fn` on a broker holding an acknowledged batch of GOOD_COUNT records in TOPIC. */
function withSeededBroker(fn: (t: TestBroker) => Promise<void>): Promise<void> {
  return withBroker({}, async (t) => {
    await withConnection(t.bootstrap, async (c) => {
      await ensureTopic(c, TOPIC);
      const res = await produce(c, TOPIC, 0, encodeRecordBatch(records(GOOD_COUNT, "good")));
      assertEquals(res, { errorCode: 0, baseOffset: 0, errorMessage: null });
    });
    await fn(t);
    await assertStillServing(t.bootstrap);
  });
}

/** A new connection is answered and the acknowledged records read back unchanged. */
async function assertStillServing(bootstrap: string): Promise<void> {
  await withConnection(bootstrap, async (c) => {
    const versions = await c.request(apiVersionsApi, 3, {
      clientSoftwareName: "denka-raw",
      clientSoftwareVersion: "1",
    });
    assertEquals(versions.errorCode, 0);
    const fetched = await fetch(c, TOPIC, 0);
    assertEquals(fetched.errorCode, 0);
    assertEquals(fetched.highWatermark, GOOD_COUNT);
    assert(fetched.records !== null, "Fetch returned no records");
    const decoded = decodeRecordBatches(fetched.records).flatMap((b) => b.records);
    assertEquals(decoded.length, GOOD_COUNT);
    decoded.forEach((r, i) => {
      assertEquals(r.offset, i);
      assertEquals(textDecoder.decode(r.key!), `good-k${i}`);
      assertEquals(textDecoder.decode(r.value!), `good-v${i}`);
      assertEquals(r.headers.map((h) => [h.key, textDecoder.decode(h.value!)]), [["i", String(i)]]);
    });
  });
}

function sizePrefix(size: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, size);
  return b;
}

Deno.test("bad input: a truncated frame then a hang-up leaves the broker serving", async () => {
  await withSeededBroker(async (t) => {
    await withConnection(t.bootstrap, async (c) => {
      const { frame } = c.encode(apiVersionsApi, 3, {
        clientSoftwareName: "x",
        clientSoftwareVersion: "1",
      });
      // Claim 100 more bytes than are sent, then close our side.
      const lying = frame.slice();
      new DataView(lying.buffer).setInt32(0, frame.length - 4 + 100);
      await c.send(lying);
      await c.closeWrite();
      await c.expectClosed();
    });
  });
});

Deno.test("bad input: a negative size prefix closes the connection", async () => {
  await withSeededBroker(async (t) => {
    await withConnection(t.bootstrap, async (c) => {
      await c.send(concatBytes([sizePrefix(-5), new Uint8Array(16)]));
      await c.expectClosed();
    });
    if (TEST_RUNTIME === "deno") assertEquals(t.broker.counters.connectionsClosedForBadFrames, 1);
  });
});

Deno.test("bad input: a size prefix above socket.request.max.bytes closes the connection", async () => {
  await withSeededBroker(async (t) => {
    await withConnection(t.bootstrap, async (c) => {
      await c.send(concatBytes([sizePrefix(0x7fffffff), new Uint8Array(16)]));
      await c.expectClosed();
    });
  });
});

Deno.test("bad input: an unknown API key closes the connection", async () => {
  await withSeededBroker(async (t) => {
    await withConnection(t.bootstrap, async (c) => {
      const w = new Writer();
      w.int16(12345); // api key
      w.int16(0); // api version
      w.int32(77); // correlation id
      w.nullableString("denka-raw");
      const body = concatBytes(w.finish() as Uint8Array[]);
      await c.send(concatBytes([sizePrefix(body.length), body]));
      await c.expectClosed();
    });
    if (TEST_RUNTIME === "deno") assertEquals(t.broker.counters.connectionsClosedForBadFrames, 1);
  });
});

Deno.test("bad input: ApiVersions v99 is answered with UNSUPPORTED_VERSION and a v0 body", async () => {
  await withSeededBroker(async (t) => {
    await withConnection(t.bootstrap, async (c) => {
      const w = new Writer();
      w.int16(18);
      w.int16(99);
      w.int32(4242);
      w.nullableString("denka-raw");
      w.uvarint(0); // header tagged fields (a future version is read as flexible)
      w.string("denka-raw", true);
      w.string("1", true);
      w.uvarint(0);
      const body = concatBytes(w.finish() as Uint8Array[]);
      await c.send(concatBytes([sizePrefix(body.length), body]));
      const response = await c.readFrame();
      assert(response.kind === "frame", "The broker closed instead of answering ApiVersions v99");
      // Response header v0: the correlation id only; then the v0 body.
      const r = new Reader(response.body);
      assertEquals(r.int32(), 4242);
      const decoded = apiVersionsApi.decodeResponse(r, 0);
      assertEquals(r.error, undefined);
      assertEquals(r.remaining, 0, "Trailing bytes after an ApiVersions v0 body");
      assertEquals(decoded.errorCode, ErrorCode.UNSUPPORTED_VERSION);
      const keys = decoded.apiKeys.map((k) => k.apiKey);
      for (const key of [0, 1, 2, 3, 18]) {
        assert(keys.includes(key), `ApiVersions lacks key ${key}`);
      }
      const own = decoded.apiKeys.find((k) => k.apiKey === 18)!;
      assert(
        own.maxVersion >= 3 && own.maxVersion < 99,
        `ApiVersions range ${JSON.stringify(own)}`,
      );
    });
  });
});

Deno.test("bad input: a batch with a bad CRC is refused with CORRUPT_MESSAGE", async () => {
  await withSeededBroker(async (t) => {
    await withConnection(t.bootstrap, async (c) => {
      const batch = encodeRecordBatch(records(3, "bad"));
      batch[batch.length - 1] ^= 0xff; // inside the last record; the CRC no longer matches
      const res = await produce(c, TOPIC, 0, batch);
      assertEquals(res.errorCode, ErrorCode.CORRUPT_MESSAGE);
    });
  });
});

for (const [version, expected] of [[9, ErrorCode.INVALID_RECORD], [7, ErrorCode.CORRUPT_MESSAGE]]) {
  Deno.test(`bad input: wrong magic at Produce v${version} is refused with ${expected}`, async () => {
    await withSeededBroker(async (t) => {
      await withConnection(t.bootstrap, async (c) => {
        const batch = encodeRecordBatch(records(2, "magic"));
        batch[BatchField.magic] = 1; // magic is outside the CRC's range
        const res = await produce(c, TOPIC, 0, batch, version);
        assertEquals(res.errorCode, expected);
      });
    });
  });
}

Deno.test("bad input: a batch above max.message.bytes is refused with MESSAGE_TOO_LARGE", async () => {
  await withSeededBroker(async (t) => {
    const maxMessageBytes = Number(t.broker.config.topicDefaults["max.message.bytes"] ?? 1048588);
    await withConnection(t.bootstrap, async (c) => {
      const big = encodeRecordBatch([{
        key: null,
        value: new Uint8Array(maxMessageBytes + 1),
        timestampMs: Date.now(),
      }]);
      const res = await produce(c, TOPIC, 0, big);
      assertEquals(res.errorCode, ErrorCode.MESSAGE_TOO_LARGE);
    });
  });
});

Deno.test("bad input: produce to a missing partition is UNKNOWN_TOPIC_OR_PARTITION", async () => {
  await withSeededBroker(async (t) => {
    await withConnection(t.bootstrap, async (c) => {
      const batch = encodeRecordBatch(records(1, "lost"));
      assertEquals(
        (await produce(c, TOPIC, 7, batch)).errorCode,
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      );
      assertEquals(
        (await produce(c, "no-such-topic-at-all", 0, batch)).errorCode,
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      );
    });
  });
});

Deno.test("bad input: fetch beyond the log end is OFFSET_OUT_OF_RANGE", async () => {
  await withSeededBroker(async (t) => {
    await withConnection(t.bootstrap, async (c) => {
      const beyond = await fetch(c, TOPIC, GOOD_COUNT + 10);
      assertEquals(beyond.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
      // At the log end exactly is not out of range: an empty answer.
      const atEnd = await fetch(c, TOPIC, GOOD_COUNT);
      assertEquals(atEnd.errorCode, 0);
      assert(atEnd.records === null || atEnd.records.length === 0, "Records past the end");
    });
  });
});
