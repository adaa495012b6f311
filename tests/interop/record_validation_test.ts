/**
 * Produce validates records as Kafka's LogValidator does (issue 10): each
 * malformed batch the issue found stored is refused with Kafka's error code
 * over a real socket, nothing of it becomes readable (the end offset does not
 * move), librdkafka (kcat) produces and reads good records in every codec
 * through the same validation, and a compacted topic receiving the bad
 * batches keeps being cleaned.
 */
import { assert, assertEquals } from "../../util/assert.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { metadataApi, produceApi } from "../../protocol/messages/mod.ts";
import { defaultMetadataRequest } from "../../protocol/messages/metadata.ts";
import { decodeRecordBatches, encodeRecordBatch } from "../../protocol/records.ts";
import { gzipBomb, malformedBatches } from "../../protocol/_test_batches.ts";
import { withBroker } from "./harness.ts";
import { kcatConsume, kcatProduce } from "./kcat.ts";
import { fetchPartition0, type RawConnection, withConnection } from "./raw_client.ts";

const PRODUCE_VERSION = 9;
const text = new TextEncoder();
const textDecoder = new TextDecoder();

async function ensureTopic(c: RawConnection, topic: string): Promise<void> {
  const request = { ...defaultMetadataRequest(), topics: [{ topicId: "", name: topic }] };
  for (let attempt = 0; attempt < 50; attempt++) {
    const res = await c.request(metadataApi, 4, request);
    const t = res.topics.find((x) => x.name === topic);
    if (t !== undefined && t.errorCode === 0 && t.partitions.length > 0) return;
  }
  throw new Error(`Topic "${topic}" did not come up`);
}

async function produce(c: RawConnection, topic: string, batch: Uint8Array) {
  const res = await c.request(produceApi, PRODUCE_VERSION, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }],
  });
  return res.responses[0].partitionResponses[0];
}

function keyed(keys: readonly string[], round: number): Uint8Array {
  return encodeRecordBatch(keys.map((k) => ({
    key: text.encode(k),
    value: text.encode(`${k}-r${round}`),
    timestampMs: Date.now(),
  })));
}

async function fetchAll(c: RawConnection, topic: string) {
  const res = await fetchPartition0(c, topic, 0, { version: 11, maxBytes: 16 * 1024 * 1024 });
  const p = res.responses[0].partitions[0];
  assertEquals(p.errorCode, 0);
  const records = p.records === null ? [] : decodeRecordBatches(p.records as Uint8Array);
  return { highWatermark: Number(p.highWatermark), records: records.flatMap((b) => b.records) };
}

/** Sends every malformed batch and checks each answer; the end offset must not move. */
async function refuseAll(c: RawConnection, topic: string, withBomb: boolean): Promise<void> {
  const before = (await fetchAll(c, topic)).highWatermark;
  const bad = malformedBatches();
  if (withBomb) {
    bad.push({
      name: "a gzip batch inflating past 64 x max.message.bytes",
      bytes: gzipBomb(80 * 1024 * 1024),
      errorCode: ErrorCode.MESSAGE_TOO_LARGE,
      alsoAccepted: undefined,
    });
  }
  for (const b of bad) {
    const p = await produce(c, topic, b.bytes);
    assert(
      p.errorCode === b.errorCode || p.errorCode === b.alsoAccepted,
      `${b.name}: error ${p.errorCode} (${p.errorMessage})`,
    );
    assert(p.errorMessage !== null && p.errorMessage.length > 0, `${b.name}: no errorMessage`);
    assertEquals(Number(p.baseOffset), -1, b.name);
    assertEquals((await fetchAll(c, topic)).highWatermark, before, `${b.name} moved the end`);
  }
}

Deno.test("record validation: the malformed batches of issue 10 are refused and never read", async () => {
  await withBroker({}, async (t) => {
    const topic = "validated";
    await withConnection(t.bootstrap, async (c) => {
      await ensureTopic(c, topic);
      assertEquals((await produce(c, topic, keyed(["a", "b"], 0))).errorCode, 0);
      await refuseAll(c, topic, true);
      const p = await produce(c, topic, keyed(["c"], 1));
      assertEquals([p.errorCode, Number(p.baseOffset)], [0, 2], "the end offset did not jump");
    });
    for (const codec of ["gzip", "snappy", "lz4", "zstd"]) {
      const messages = Array.from(
        { length: 20 },
        (_, i) => ({ key: `${codec}${i}`, value: `v${i}` }),
      );
      await kcatProduce(t.bootstrap, messages, { topic, codec });
    }
    const consumed = await kcatConsume(t.bootstrap, { topic });
    assertEquals(consumed.length, 3 + 4 * 20);
    assertEquals(consumed.map((m) => m.offset), consumed.map((_, i) => i));
    assertEquals(consumed.slice(0, 3).map((m) => m.key), ["a", "b", "c"]);
    assertEquals(consumed.at(-1)?.key, "zstd19");
  });
});

Deno.test("record validation: a compacted topic refuses bad batches and keeps being cleaned", async () => {
  const topicDefaults = { "cleanup.policy": "compact", "segment.bytes": "1024" };
  await withBroker({ topicDefaults, retentionCheckIntervalMs: 50 }, async (t) => {
    const topic = "compacted";
    const keys = ["k0", "k1", "k2", "k3"];
    const rounds = 12;
    await withConnection(t.bootstrap, async (c) => {
      await ensureTopic(c, topic);
      for (let round = 0; round < rounds; round++) {
        assertEquals((await produce(c, topic, keyed(keys, round))).errorCode, 0);
        if (round === rounds / 2) await refuseAll(c, topic, false); // the bomb passes segment.bytes
      }
      const keyless = encodeRecordBatch([{ key: null, value: text.encode("x"), timestampMs: 1 }]);
      const refused = await produce(c, topic, keyless);
      assertEquals(refused.errorCode, ErrorCode.INVALID_RECORD);
      assertEquals(refused.recordErrors.map((e) => e.batchIndex), [0]);
      // The cleaner runs every 50 ms; no event tells when it did, so poll with a deadline.
      const deadlineMs = Date.now() + 20_000;
      let stored = await fetchAll(c, topic);
      while (stored.records.length >= keys.length * rounds && Date.now() < deadlineMs) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        stored = await fetchAll(c, topic);
      }
      assert(stored.records.length < keys.length * rounds, "the cleaner removed nothing");
      assertEquals(stored.highWatermark, keys.length * rounds);
      const latest = new Map(stored.records.map((r) => [textDecoder.decode(r.key!), r.value]));
      for (const k of keys) {
        assertEquals(textDecoder.decode(latest.get(k)!), `${k}-r${rounds - 1}`);
      }
    });
  });
});
