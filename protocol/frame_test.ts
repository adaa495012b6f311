/**
 * Byte-exact tests against frames as real clients send them (derived by hand
 * from the specs and the clients' sources), plus header-version rules.
 */
import { assert } from "../util/assert.ts";
import {
  beginFrame,
  decodeRequestHeader,
  encodeRequestHeader,
  encodeResponseHeader,
  finishFrame,
  frameSizeBytes,
  isFlexibleVersion,
  readResponseHeader,
  requestHeaderVersion,
  responseHeaderVersion,
} from "./frame.ts";
import {
  decodeApiVersionsRequest,
  decodeMetadataRequest,
  decodeProduceRequest,
  encodeApiVersionsRequest,
  encodeApiVersionsResponse,
  encodeFetchResponse,
  encodeMetadataRequest,
  encodeProduceRequest,
} from "./messages/mod.ts";
import { Reader, Writer } from "./primitives.ts";
import { type FileSlice, sendPlanSizeBytes } from "./send_plan.ts";
import { concatBytes } from "../util/bytes.ts";

const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

/** A plan of byte arrays as one list of numbers, to compare with the captured bytes. */
const planNumbers = (plan: readonly unknown[]): number[] => [...concatBytes(plan as Uint8Array[])];

/** librdkafka 2.0.2's first request: ApiVersions v3, flexible body, header v2. */
const LIBRDKAFKA_API_VERSIONS_V3 = [
  ...[0, 0, 0, 36], // frame size
  ...[0, 18, 0, 3, 0, 0, 0, 1], // apiKey 18, version 3, correlationId 1
  ...[0, 7, ...ascii("rdkafka")], // clientId: int16 length even in header v2
  0, // header tagged fields
  ...[11, ...ascii("librdkafka")], // ClientSoftwareName: compact string (length + 1)
  ...[6, ...ascii("2.0.2")], // ClientSoftwareVersion
  0, // body tagged fields
];

Deno.test("decodes librdkafka's ApiVersions v3 request byte for byte", () => {
  const bytes = Uint8Array.from(LIBRDKAFKA_API_VERSIONS_V3);
  assert.equal(frameSizeBytes(bytes), bytes.length - 4);
  const frame = bytes.subarray(4);
  const header = decodeRequestHeader(frame);
  assert.deepEqual(header, {
    apiKey: 18,
    apiVersion: 3,
    correlationId: 1,
    clientId: "rdkafka",
    apiKnown: true,
    headerVersion: 2,
    headerSizeBytes: 18,
    error: undefined,
  });
  const r = new Reader(frame, header.headerSizeBytes);
  assert.deepEqual(decodeApiVersionsRequest(r, 3), {
    clientSoftwareName: "librdkafka",
    clientSoftwareVersion: "2.0.2",
  });
  assert.equal(r.remaining, 0);
});

Deno.test("encodes librdkafka's ApiVersions v3 request byte for byte", () => {
  const w = new Writer();
  const mark = beginFrame(w);
  encodeRequestHeader(w, { apiKey: 18, apiVersion: 3, correlationId: 1, clientId: "rdkafka" });
  encodeApiVersionsRequest(w, 3, {
    clientSoftwareName: "librdkafka",
    clientSoftwareVersion: "2.0.2",
  });
  assert.deepEqual(planNumbers(finishFrame(w, mark)), LIBRDKAFKA_API_VERSIONS_V3);
});

Deno.test("ApiVersions v3 response uses header v0 with a flexible body", () => {
  const w = new Writer();
  const mark = beginFrame(w);
  encodeResponseHeader(w, 18, 3, 1);
  encodeApiVersionsResponse(w, 3, {
    errorCode: 0,
    apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }],
    throttleTimeMs: 0,
    supportedFeatures: [],
    finalizedFeaturesEpoch: -1,
    finalizedFeatures: [],
    zkMigrationReady: false,
  });
  assert.deepEqual(planNumbers(finishFrame(w, mark)), [
    ...[0, 0, 0, 19], // size
    ...[0, 0, 0, 1], // correlationId; no tagged-field byte (header v0)
    ...[0, 0], // errorCode
    ...[2, 0, 18, 0, 0, 0, 4, 0], // ApiKeys: compact count 1+1, one entry + its tag section
    ...[0, 0, 0, 0], // throttleTimeMs
    0, // no tagged fields: defaults are not written
  ]);
});

Deno.test("Metadata v1 request (header v1): a topic list and null for all topics", () => {
  const frame = Uint8Array.from([
    ...[0, 3, 0, 1, 0, 0, 0, 9, 0, 7, ...ascii("kafkajs")],
    ...[0, 0, 0, 1, 0, 3, ...ascii("foo")],
  ]);
  const header = decodeRequestHeader(frame);
  assert.equal(header.headerVersion, 1);
  assert.equal(header.headerSizeBytes, 17);
  const body = decodeMetadataRequest(new Reader(frame, header.headerSizeBytes), 1);
  assert.deepEqual(body.topics, [{ topicId: "00000000-0000-0000-0000-000000000000", name: "foo" }]);
  assert.equal(body.allowAutoTopicCreation, true); // the spec default for v1 (field is v4+)
  const w = new Writer();
  encodeMetadataRequest(w, 1, { ...body, topics: null });
  assert.deepEqual([...w.toBytes()], [255, 255, 255, 255]);
});

Deno.test("kafkajs Produce v7: header v1, int16 strings, records as a zero-copy subarray", () => {
  const batch = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 42];
  const frame = Uint8Array.from([
    ...[0, 0, 0, 7, 0, 0, 0, 2, 0, 7, ...ascii("kafkajs")], // Produce v7, correlationId 2
    ...[255, 255], // transactionalId null
    ...[255, 255], // acks -1
    ...[0, 0, 0x75, 0x30], // timeoutMs 30000
    ...[0, 0, 0, 1, 0, 4, ...ascii("test")], // one topic "test"
    ...[0, 0, 0, 1, 0, 0, 0, 0], // one partition, index 0
    ...[0, 0, 0, batch.length, ...batch], // records: int32 size + bytes
  ]);
  const header = decodeRequestHeader(frame);
  assert.equal(header.clientId, "kafkajs");
  const r = new Reader(frame, header.headerSizeBytes);
  const produce = decodeProduceRequest(r, 7);
  assert.equal(r.remaining, 0);
  assert.equal(produce.transactionalId, null);
  assert.equal(produce.acks, -1);
  assert.equal(produce.timeoutMs, 30000);
  const records = produce.topicData[0].partitionData[0].records!;
  assert.deepEqual([...records], batch);
  assert.equal(records.buffer, frame.buffer);
  const w = new Writer();
  encodeRequestHeader(w, { apiKey: 0, apiVersion: 7, correlationId: 2, clientId: "kafkajs" });
  encodeProduceRequest(w, 7, produce);
  assert.deepEqual(w.toBytes(), frame);
});

Deno.test("Fetch v12 response frame carries a file slice by reference", () => {
  const slice: FileSlice = { fd: 9, positionBytes: 8192, sizeBytes: 1000 };
  const w = new Writer();
  const mark = beginFrame(w);
  encodeResponseHeader(w, 1, 12, 77);
  encodeFetchResponse(w, 12, {
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 0,
    responses: [{
      topic: "t",
      topicId: "00000000-0000-0000-0000-000000000000",
      partitions: [{
        partitionIndex: 0,
        errorCode: 0,
        highWatermark: 10,
        lastStableOffset: 10,
        logStartOffset: 0,
        divergingEpoch: { epoch: -1, endOffset: -1 },
        currentLeader: { leaderId: -1, leaderEpoch: -1 },
        snapshotId: { endOffset: -1, epoch: -1 },
        abortedTransactions: null,
        preferredReadReplica: -1,
        records: [slice],
      }],
    }],
    nodeEndpoints: [],
  });
  const plan = finishFrame(w, mark);
  assert.equal(plan.length, 3);
  assert.equal(plan[1], slice);
  const head = plan[0] as Uint8Array;
  assert.equal(frameSizeBytes(head), sendPlanSizeBytes(plan) - 4);
  const r = new Reader(head, 4);
  assert.equal(readResponseHeader(r, 1, 12), 77);
  assert.equal(head[8], 0); // response header v1: empty tagged fields
  assert.deepEqual([...head.subarray(head.length - 2)], [0xe9, 0x07]); // compact size 1000 + 1
  assert.deepEqual([...(plan[2] as Uint8Array)], [0, 0, 0]); // partition, topic, body tags
});

Deno.test("header versions follow the flexible versions; ApiVersions responses stay v0", () => {
  assert.equal(requestHeaderVersion(0, 8), 1);
  assert.equal(requestHeaderVersion(0, 9), 2);
  assert.equal(requestHeaderVersion(18, 2), 1);
  assert.equal(requestHeaderVersion(18, 3), 2);
  assert.equal(requestHeaderVersion(18, 99), 2); // too new, still read as flexible
  assert.equal(responseHeaderVersion(18, 4), 0);
  assert.equal(responseHeaderVersion(3, 9), 1);
  assert.equal(responseHeaderVersion(3, 8), 0);
  assert.equal(requestHeaderVersion(17, 1), 1); // SaslHandshake is never flexible
  assert.equal(isFlexibleVersion(60, 0), true);
  assert.equal(isFlexibleVersion(4, 7), false); // unknown to the table
});

Deno.test("an unknown API key still decodes with header v1 rules", () => {
  const frame = Uint8Array.from([0, 57, 0, 1, 0, 0, 0, 5, 255, 255, 1, 2, 3]);
  const header = decodeRequestHeader(frame);
  assert.equal(header.apiKnown, false);
  assert.equal(header.headerVersion, 1);
  assert.equal(header.clientId, null);
  assert.equal(header.headerSizeBytes, 10);
  assert.equal(header.error, undefined);
});

Deno.test("a truncated header reports an error instead of throwing", () => {
  const header = decodeRequestHeader(Uint8Array.from([0, 18, 0, 3, 0, 0, 0, 1, 0, 7, 0x72]));
  assert.match(header.error!, /exceeds/);
  assert.equal(frameSizeBytes(Uint8Array.of(0, 0, 1)), -1);
});
