import { fetchApi, produceApi } from "../protocol/messages/mod.ts";
import { Reader } from "../protocol/primitives.ts";
import { decodeRequestHeader } from "../protocol/frame.ts";
import { assertEquals, assertThrows } from "../util/assert.ts";
import { buildBatch, fetchFrame, produceFrame } from "./client_ops.ts";
import {
  type BrokerApiRange,
  chooseVersions,
  describeVersions,
  newestVersions,
  parseMaxVersions,
} from "./client_versions.ts";

/** ApiVersions as an Apache Kafka 2.4-2.6 broker answers it (the APIs the bench uses). */
const KAFKA_2_X: BrokerApiRange[] = [
  { apiKey: 0, minVersion: 0, maxVersion: 8 },
  { apiKey: 1, minVersion: 0, maxVersion: 11 },
  { apiKey: 3, minVersion: 0, maxVersion: 9 },
  { apiKey: 18, minVersion: 0, maxVersion: 3 },
  { apiKey: 19, minVersion: 0, maxVersion: 5 },
];

const range = (apiKey: number, minVersion: number, maxVersion: number) => ({
  apiKey,
  minVersion,
  maxVersion,
});

Deno.test("chooseVersions() picks the highest versions an old non-flexible broker serves", () => {
  const versions = chooseVersions(KAFKA_2_X);
  assertEquals(versions, {
    Produce: 8,
    Fetch: 11,
    Metadata: 9,
    CreateTopics: 5,
    ApiVersions: 3,
  });
  assertEquals(
    describeVersions(versions),
    "Produce 8 (non-flexible), Fetch 11 (non-flexible), Metadata 9, CreateTopics 5, ApiVersions 3",
  );
});

Deno.test("chooseVersions() takes the bench's newest versions from a broker with newer ones", () => {
  const huge = [0, 1, 3, 18, 19].map((k) => range(k, 0, 99));
  assertEquals(chooseVersions(huge), newestVersions());
  assertEquals(newestVersions(), {
    Produce: produceApi.maxVersion,
    Fetch: fetchApi.maxVersion,
    Metadata: 12,
    CreateTopics: 7,
    ApiVersions: 4,
  });
});

Deno.test("chooseVersions() holds Fetch below topic ids when Metadata reports none", () => {
  const ranges = [range(0, 0, 9), range(1, 0, 13), range(3, 0, 9), range(18, 0, 3)];
  assertEquals(chooseVersions(ranges).Fetch, 12);
  assertEquals(chooseVersions([...ranges.slice(0, 2), range(3, 0, 10), range(18, 0, 3)]).Fetch, 13);
});

Deno.test("chooseVersions() refuses a broker without Produce 3 or Fetch 4", () => {
  assertThrows(
    () => chooseVersions([range(0, 0, 2), range(1, 0, 11), range(3, 0, 9), range(18, 0, 3)]),
    /no usable "Produce" version: the bench needs 3-11, the broker serves 0-2/,
  );
  assertThrows(
    () => chooseVersions([range(0, 0, 8), range(1, 0, 3), range(3, 0, 9), range(18, 0, 3)]),
    /no usable "Fetch" version/,
  );
  assertThrows(
    () => chooseVersions([range(0, 0, 8), range(3, 0, 9), range(18, 0, 3)]),
    /no usable "Fetch" version: .* the broker does not serve it/,
  );
});

Deno.test("chooseVersions() leaves CreateTopics out when absent or capped below its range", () => {
  const without = KAFKA_2_X.filter((r) => r.apiKey !== 19);
  assertEquals(chooseVersions(without).CreateTopics, undefined);
  assertEquals(chooseVersions(KAFKA_2_X, { CreateTopics: -1 }).CreateTopics, undefined);
  assertEquals(chooseVersions(KAFKA_2_X, { CreateTopics: 4, Produce: 7 }).CreateTopics, 4);
  assertEquals(chooseVersions(KAFKA_2_X, { CreateTopics: 4, Produce: 7 }).Produce, 7);
});

Deno.test("parseMaxVersions() reads NAME=VERSION lists and refuses others", () => {
  assertEquals(parseMaxVersions("produce=8, Fetch=11,"), { Produce: 8, Fetch: 11 });
  assertEquals(parseMaxVersions(""), {});
  assertThrows(() => parseMaxVersions("Produce"), /Bad max version "Produce"/);
  assertThrows(() => parseMaxVersions("Join=3"), /Bad max version "Join=3"/);
  assertThrows(() => parseMaxVersions("Fetch=x"), /Bad max version "Fetch=x"/);
});

Deno.test("produceFrame() and fetchFrame() encode non-flexible frames at Produce 8 and Fetch 11", () => {
  const versions = chooseVersions(KAFKA_2_X);
  const batch = buildBatch({ recordBytes: 10, batchBytes: 200, keyed: false });
  for (const version of [versions.Produce, 9]) {
    const { frame } = produceFrame("t", [3], batch, { acks: 1, version });
    const header = decodeRequestHeader(frame.subarray(4));
    assertEquals([header.apiKey, header.apiVersion, header.headerVersion], [
      0,
      version,
      version >= 9 ? 2 : 1,
    ]);
    // transactionalId null: int16 -1 (non-flexible), compact 0 after an empty tag section (flexible).
    const body = [...frame.subarray(4 + header.headerSizeBytes, 4 + header.headerSizeBytes + 2)];
    assertEquals(body, version >= 9 ? [0, 0] : [0xff, 0xff]);
    const r = new Reader(frame.subarray(4 + header.headerSizeBytes));
    const decoded = produceApi.decodeRequest(r, version);
    assertEquals(r.error, undefined);
    assertEquals(decoded.topicData[0].name, "t");
    assertEquals(decoded.topicData[0].partitionData[0].index, 3);
  }
  const session = { sessionId: 0, sessionEpoch: -1, partitions: new Map([[2, 40]]), forgotten: [] };
  const limits = { maxWaitMs: 5, minBytes: 1, maxBytes: 1000, partitionMaxBytes: 100 };
  const topic = { name: "t", topicId: "00000000-0000-0000-0000-000000000000" };
  const frame = fetchFrame(topic, session, { ...limits, version: versions.Fetch });
  const header = decodeRequestHeader(frame.subarray(4));
  assertEquals([header.apiKey, header.apiVersion, header.headerVersion], [1, 11, 1]);
  const r = new Reader(frame.subarray(4 + header.headerSizeBytes));
  const decoded = fetchApi.decodeRequest(r, 11);
  assertEquals(r.error, undefined);
  assertEquals(decoded.topics[0].topic, "t");
  assertEquals(decoded.topics[0].partitions[0].partition, 2);
  assertEquals(decoded.topics[0].partitions[0].fetchOffset, 40);
  assertThrows(
    () => fetchFrame(topic, session, { ...limits, version: 13 }),
    /Fetch 13 needs the id of topic "t"/,
  );
});
