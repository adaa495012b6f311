/**
 * kcat (librdkafka 2.0.2) against a real broker: round trips with keys and
 * headers, null values, every codec stored untouched, reads from inside a
 * batch, across segment rolls and across a restart, and which fetch path
 * (sendfile or copy) served the bytes.
 */
import { assert, assertEquals } from "../../util/assert.ts";
import { kcatConsume, kcatProduce } from "./kcat.ts";
import { readCounters } from "./bun_broker.ts";
import {
  CODEC_IDS,
  type ConsumedMessage,
  makeDataDir,
  makeTextMessages,
  readStoredBatches,
  segmentLogFiles,
  startTestBroker,
  withBroker,
} from "./harness.ts";

/** One batch per kcat run for small inputs: wait long enough to gather everything read. */
const ONE_BATCH = { "linger.ms": "200", "batch.num.messages": "100000" };

function assertMessages(
  got: readonly ConsumedMessage[],
  want: readonly { key: string | null; value: string | null }[],
  firstOffset: number,
): void {
  assertEquals(got.length, want.length, `Consumed ${got.length} messages, wanted ${want.length}`);
  got.forEach((m, i) => {
    assertEquals(
      { offset: m.offset, key: m.key, value: m.value },
      { offset: firstOffset + i, key: want[i].key, value: want[i].value },
    );
  });
}

Deno.test("kcat: 5000 messages with keys and headers round trip", async () => {
  await withBroker({}, async (t) => {
    const messages = makeTextMessages(5000, { valuePaddingBytes: 40 });
    const headers: [string, string][] = [["trace", "abc-123"], ["source", "kcat"]];
    await kcatProduce(t.bootstrap, messages, { topic: "roundtrip", headers });
    const got = await kcatConsume(t.bootstrap, { topic: "roundtrip", count: messages.length });
    assertMessages(got, messages, 0);
    for (const m of got) assertEquals(m.headers, headers);
    const batches = await readStoredBatches(t.dataDir, "roundtrip", 0);
    assert(batches.every((b) => b.crcValid), "A stored batch has a bad CRC");
    assertEquals(batches.at(-1)!.lastOffset, messages.length - 1);
  });
});

Deno.test("kcat: empty values sent with -Z are stored and read back as null", async () => {
  await withBroker({}, async (t) => {
    const messages = [
      { key: "a", value: "" },
      { key: "b", value: "not-null" },
      { key: null, value: "" },
      { key: null, value: "keyless" },
    ];
    await kcatProduce(t.bootstrap, messages, { topic: "nulls", emptyAsNull: true });
    const got = await kcatConsume(t.bootstrap, { topic: "nulls", count: 4 });
    assertMessages(got, [
      { key: "a", value: null },
      { key: "b", value: "not-null" },
      { key: null, value: null },
      { key: null, value: "keyless" },
    ], 0);
  });
});

for (const codec of ["gzip", "snappy", "lz4", "zstd"]) {
  Deno.test(`kcat: ${codec} batches are stored as sent and consumed intact`, async () => {
    await withBroker({}, async (t) => {
      const topic = `codec-${codec}`;
      const messages = makeTextMessages(2000, { prefix: codec, valuePaddingBytes: 100 });
      await kcatProduce(t.bootstrap, messages, { topic, codec, config: ONE_BATCH });
      const batches = await readStoredBatches(t.dataDir, topic, 0);
      assert(batches.length > 0, "Nothing stored");
      for (const b of batches) {
        assertEquals(b.compression, CODEC_IDS[codec], `Batch at ${b.baseOffset} not ${codec}`);
        assert(b.crcValid, `Batch at ${b.baseOffset} has a bad CRC`);
      }
      // Compressed: the stored bytes are far fewer than the text.
      const storedBytes = batches.reduce((n, b) => n + b.sizeBytes, 0);
      const textBytes = messages.reduce((n, m) => n + m.key.length + m.value.length, 0);
      assert(storedBytes < textBytes / 2, `${storedBytes} stored bytes for ${textBytes} of text`);
      const got = await kcatConsume(t.bootstrap, { topic, count: messages.length });
      assertMessages(got, messages, 0);
    });
  });
}

Deno.test("kcat: consuming from an offset inside a batch starts at that offset", async () => {
  await withBroker({}, async (t) => {
    const messages = makeTextMessages(100);
    await kcatProduce(t.bootstrap, messages, { topic: "inside", config: ONE_BATCH });
    const batches = await readStoredBatches(t.dataDir, "inside", 0);
    const batch = batches.find((b) => b.recordCount >= 10);
    assert(batch !== undefined, `No multi-record batch: ${JSON.stringify(batches)}`);
    const start = batch.baseOffset + Math.floor(batch.recordCount / 2);
    const got = await kcatConsume(t.bootstrap, { topic: "inside", offset: start, count: 5 });
    assertMessages(got, messages.slice(start, start + 5), start);
    // And for compressed batches, where the broker cannot cut the batch.
    await kcatProduce(t.bootstrap, messages, {
      topic: "inside-lz4",
      codec: "lz4",
      config: ONE_BATCH,
    });
    const lz4 = await kcatConsume(t.bootstrap, { topic: "inside-lz4", offset: 37, count: 3 });
    assertMessages(lz4, messages.slice(37, 40), 37);
  });
});

Deno.test("kcat: everything reads back after a broker restart on the same data dir", async () => {
  const dataDir = await makeDataDir();
  try {
    const first = makeTextMessages(3000, { prefix: "before" });
    const second = makeTextMessages(500, { prefix: "after" });
    const broker1 = await startTestBroker(dataDir);
    try {
      await kcatProduce(broker1.bootstrap, first, { topic: "durable" });
      await kcatProduce(broker1.bootstrap, first.slice(0, 10), {
        topic: "durable-gz",
        codec: "gzip",
      });
    } finally {
      await broker1.close();
    }
    const broker2 = await startTestBroker(dataDir);
    try {
      const got = await kcatConsume(broker2.bootstrap, { topic: "durable", count: first.length });
      assertMessages(got, first, 0);
      const gz = await kcatConsume(broker2.bootstrap, { topic: "durable-gz", count: 10 });
      assertMessages(gz, first.slice(0, 10), 0);
      // Appends continue at the old log end.
      await kcatProduce(broker2.bootstrap, second, { topic: "durable" });
      const all = await kcatConsume(broker2.bootstrap, { topic: "durable" });
      assertMessages(all, [...first, ...second], 0);
    } finally {
      await broker2.close();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("kcat: reads cross segment boundaries from the start and from the middle", async () => {
  const segmentBytes = 64 * 1024;
  await withBroker({ topicDefaults: { "segment.bytes": String(segmentBytes) } }, async (t) => {
    const messages = makeTextMessages(4000, { valuePaddingBytes: 100 });
    // Small batches, so many fit in one segment and the rolls fall between them.
    await kcatProduce(t.bootstrap, messages, {
      topic: "rolling",
      config: { "batch.size": "8192", "linger.ms": "5" },
    });
    const segments = await segmentLogFiles(t.dataDir, "rolling", 0);
    assert(segments.length >= 4, `Expected several segments, got ${segments.join(", ")}`);
    const batches = await readStoredBatches(t.dataDir, "rolling", 0);
    for (const name of segments) {
      const size = (await Deno.stat(`${t.dataDir}/rolling-0/${name}`)).size;
      const inSegment = batches.filter((b) => b.segmentFile === name);
      const maxBatch = Math.max(...inSegment.map((b) => b.sizeBytes));
      assert(size <= segmentBytes + maxBatch, `Segment ${name} is ${size} bytes`);
    }
    const all = await kcatConsume(t.bootstrap, { topic: "rolling", count: messages.length });
    assertMessages(all, messages, 0);
    // From just before the second segment's base offset, across the boundary.
    const boundary = Number(segments[1].slice(0, 20));
    assert(boundary > 5, `Second segment starts at ${boundary}`);
    const across = await kcatConsume(t.bootstrap, {
      topic: "rolling",
      offset: boundary - 5,
      count: 10,
    });
    assertMessages(across, messages.slice(boundary - 5, boundary + 5), boundary - 5);
    // From the middle of the log to the end.
    const middle = Math.floor(messages.length / 2) + 3;
    const tail = await kcatConsume(t.bootstrap, { topic: "rolling", offset: middle });
    assertMessages(tail, messages.slice(middle), middle);
  });
});

for (const fetchPath of ["sendfile", "copy"] as const) {
  Deno.test(`kcat: with fetchPath "${fetchPath}" only that path serves record bytes`, async () => {
    await withBroker({ fetchPath }, async (t) => {
      const messages = makeTextMessages(1000, { valuePaddingBytes: 64 });
      await kcatProduce(t.bootstrap, messages, { topic: "path" });
      const before = await readCounters(t.broker);
      const got = await kcatConsume(t.bootstrap, { topic: "path", count: messages.length });
      assertMessages(got, messages, 0);
      const c = await readCounters(t.broker);
      const storedBytes = (await readStoredBatches(t.dataDir, "path", 0))
        .reduce((n, b) => n + b.sizeBytes, 0);
      if (fetchPath === "sendfile") {
        assert(c.sendfileBytes - before.sendfileBytes >= storedBytes, JSON.stringify(c));
        assert(c.sendfileCalls > 0, JSON.stringify(c));
        assertEquals(c.copyBytes, 0, JSON.stringify(c));
      } else {
        assert(c.copyBytes - before.copyBytes >= storedBytes, JSON.stringify(c));
        assertEquals(c.sendfileBytes, 0, JSON.stringify(c));
        assertEquals(c.sendfileCalls, 0, JSON.stringify(c));
      }
    });
  });
}
