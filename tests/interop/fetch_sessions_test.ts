/**
 * Fetch sessions (KIP-227) over a real socket, by name (Fetch v12) and by
 * topic id (v17): a full fetch with epoch 0 creates a session, incremental
 * fetches answer only partitions with something new, forgotten partitions
 * stay quiet, a wrong epoch or an unknown id is refused, and a long-poll
 * incremental fetch is woken by an append to any partition of its session.
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import {
  createTopicsApi,
  defaultFetchRequest,
  defaultFetchRequestPartition,
  defaultProduceRequest,
  deleteRecordsApi,
  fetchApi,
  type FetchRequest,
  produceApi,
} from "../../protocol/messages/mod.ts";
import { decodeRecordBatches, encodeRecordBatch } from "../../protocol/records.ts";
import { assert, assertEquals } from "../../util/assert.ts";
import { TEST_RUNTIME } from "./bun_broker.ts";
import { type TestBroker, withBroker } from "./harness.ts";
import { type RawConnection, withConnection } from "./raw_client.ts";

const TOPIC = "sessions";
const PARTITIONS = 3;
const INITIAL_EPOCH = 0;
const FINAL_EPOCH = -1;

/** How a test addresses the topic: Fetch v12 by name, v17 by topic id. */
interface Addressing {
  readonly version: number;
  readonly topicId: string;
}

async function createTopic(c: RawConnection): Promise<string> {
  const created = await c.request(createTopicsApi, 7, {
    topics: [{
      name: TOPIC,
      numPartitions: PARTITIONS,
      replicationFactor: 1,
      assignments: [],
      configs: [],
    }],
    timeoutMs: 1000,
    validateOnly: false,
  });
  assertEquals(created.topics[0].errorCode, ErrorCode.NONE);
  return created.topics[0].topicId;
}

async function produce(c: RawConnection, partition: number, value: string): Promise<void> {
  const records = encodeRecordBatch([{
    key: null,
    value: new TextEncoder().encode(value),
    timestampMs: Date.now(),
  }]);
  const produced = await c.request(produceApi, 9, {
    ...defaultProduceRequest(),
    acks: -1,
    timeoutMs: 1000,
    topicData: [{ name: TOPIC, partitionData: [{ index: partition, records }] }],
  });
  assertEquals(produced.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
}

/** What a fetch should carry besides its session metadata. */
interface FetchShape {
  /** `[partition, fetchOffset]` to list. */
  readonly partitions?: [number, number][];
  readonly forgotten?: number[];
  readonly maxWaitMs?: number;
}

function fetchBody(
  at: Addressing,
  sessionId: number,
  sessionEpoch: number,
  shape: FetchShape = {},
): FetchRequest {
  const topic = { topic: at.version <= 12 ? TOPIC : "", topicId: at.topicId };
  const listed = shape.partitions ?? [];
  const forgotten = shape.forgotten ?? [];
  return {
    ...defaultFetchRequest(),
    maxWaitMs: shape.maxWaitMs ?? 0,
    minBytes: 1,
    maxBytes: 1 << 20,
    sessionId,
    sessionEpoch,
    topics: listed.length === 0 ? [] : [{
      ...topic,
      partitions: listed.map(([partition, fetchOffset]) => ({
        ...defaultFetchRequestPartition(),
        partition,
        fetchOffset,
        partitionMaxBytes: 1 << 20,
      })),
    }],
    forgottenTopicsData: forgotten.length === 0 ? [] : [{ ...topic, partitions: forgotten }],
  };
}

/** A fetch response, flattened: each partition with its record values. */
interface Fetched {
  readonly errorCode: number;
  readonly sessionId: number;
  readonly partitions: {
    partition: number;
    errorCode: number;
    highWatermark: number;
    logStartOffset: number;
    values: string[];
  }[];
}

async function fetch(
  c: RawConnection,
  at: Addressing,
  sessionId: number,
  sessionEpoch: number,
  shape: FetchShape = {},
): Promise<Fetched> {
  const body = fetchBody(at, sessionId, sessionEpoch, shape);
  const response = await c.request(fetchApi, at.version, body);
  const partitions = response.responses.flatMap((t) => {
    assertEquals(at.version <= 12 ? t.topic : t.topicId, at.version <= 12 ? TOPIC : at.topicId);
    return t.partitions.map((p) => ({
      partition: p.partitionIndex,
      errorCode: p.errorCode,
      highWatermark: p.highWatermark,
      logStartOffset: p.logStartOffset,
      values: decodeRecordBatches(p.records as Uint8Array).flatMap((b) =>
        b.records.map((r) => new TextDecoder().decode(r.value!))
      ),
    }));
  });
  return { errorCode: response.errorCode, sessionId: response.sessionId, partitions };
}

/** Partition indexes of a response, with the values each carried. */
function summary(f: Fetched): [number, string[]][] {
  return f.partitions.map((p) => [p.partition, p.values]);
}

/** Runs `fn` with a connection to a broker holding TOPIC, once by name and once by topic id. */
function withSessionTopic(
  fn: (c: RawConnection, at: Addressing, t: TestBroker) => Promise<void>,
): (version: number) => Promise<void> {
  return (version) =>
    withBroker({}, (t) =>
      withConnection(t.bootstrap, async (c) => {
        const topicId = await createTopic(c);
        await fn(c, { version, topicId }, t);
      }));
}

const ALL: [number, number][] = [[0, 0], [1, 0], [2, 0]];

const incrementalRoundTrip = withSessionTopic(async (c, at) => {
  await produce(c, 0, "a0");
  const full = await fetch(c, at, 0, INITIAL_EPOCH, { partitions: ALL });
  assertEquals(full.errorCode, ErrorCode.NONE);
  const id = full.sessionId;
  assert(id !== 0, "a full fetch with epoch 0 creates a session");
  assertEquals(summary(full), [[0, ["a0"]], [1, []], [2, []]]);
  assertEquals(full.partitions.map((p) => p.highWatermark), [1, 0, 0]);
  // Nothing new: the answer lists no partition at all.
  const quiet = await fetch(c, at, id, 1, { partitions: [[0, 1]] });
  assertEquals([quiet.errorCode, quiet.sessionId, summary(quiet)], [ErrorCode.NONE, id, []]);
  // Only the partition that got a record is answered, at the offset the session holds.
  await produce(c, 1, "b0");
  const news = await fetch(c, at, id, 2);
  assertEquals(summary(news), [[1, ["b0"]]]);
  assertEquals(news.partitions[0].highWatermark, 1);
  // Forgotten partitions are dropped: p2's new record is not answered.
  await produce(c, 2, "c0");
  await produce(c, 0, "a1");
  const forgot = await fetch(c, at, id, 3, { partitions: [[1, 1]], forgotten: [2] });
  assertEquals(summary(forgot), [[0, ["a1"]]]);
  await produce(c, 2, "c1");
  const after = await fetch(c, at, id, 4, { partitions: [[0, 2]] });
  assertEquals(summary(after), []);
  // Epochs must follow on; an unknown id is refused.
  const stale = await fetch(c, at, id, 4);
  assertEquals([stale.errorCode, stale.sessionId], [ErrorCode.INVALID_FETCH_SESSION_EPOCH, 0]);
  const ahead = await fetch(c, at, id, 9);
  assertEquals(ahead.errorCode, ErrorCode.INVALID_FETCH_SESSION_EPOCH);
  const unknown = await fetch(c, at, id === 1 ? 2 : id - 1, 5);
  assertEquals(unknown.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
  assertEquals((await fetch(c, at, id, 5)).errorCode, ErrorCode.NONE, "errors keep the session");
  // A full fetch naming the session replaces it; epoch -1 closes one.
  const replaced = await fetch(c, at, id, INITIAL_EPOCH, { partitions: [[2, 0]] });
  assert(replaced.sessionId !== 0 && replaced.sessionId !== id);
  assertEquals(summary(replaced), [[2, ["c0", "c1"]]]);
  assertEquals((await fetch(c, at, id, 6)).errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
  const closed = await fetch(c, at, replaced.sessionId, FINAL_EPOCH);
  assertEquals([closed.errorCode, closed.sessionId], [ErrorCode.NONE, 0]);
  const gone = await fetch(c, at, replaced.sessionId, 1);
  assertEquals(gone.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
});

const logStartMoved = withSessionTopic(async (c, at) => {
  await produce(c, 0, "x0");
  await produce(c, 0, "x1");
  const full = await fetch(c, at, 0, INITIAL_EPOCH, { partitions: [[0, 0]] });
  assertEquals(summary(full), [[0, ["x0", "x1"]]]);
  assertEquals(summary(await fetch(c, at, full.sessionId, 1, { partitions: [[0, 2]] })), []);
  const deleted = await c.request(deleteRecordsApi, 2, {
    topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, offset: 1 }] }],
    timeoutMs: 1000,
  });
  assertEquals(deleted.topics[0].partitions[0].errorCode, ErrorCode.NONE);
  const moved = await fetch(c, at, full.sessionId, 2);
  assertEquals(summary(moved), [[0, []]]);
  assertEquals([moved.partitions[0].logStartOffset, moved.partitions[0].highWatermark], [1, 2]);
  assertEquals(summary(await fetch(c, at, full.sessionId, 3)), [], "told once");
});

const longPollWakes = withSessionTopic(async (c, at, t) => {
  const full = await fetch(c, at, 0, INITIAL_EPOCH, { partitions: ALL });
  assertEquals(summary(full), [[0, []], [1, []], [2, []]]);
  await withConnection(t.bootstrap, async (producer) => {
    const parked = t.broker.nextFetchPark();
    const startedMs = performance.now();
    const polling = fetch(c, at, full.sessionId, 1, { maxWaitMs: 60_000 });
    await parked;
    await produce(producer, 2, "wake");
    const woken = await polling;
    const tookMs = performance.now() - startedMs;
    assertEquals([woken.errorCode, woken.sessionId], [ErrorCode.NONE, full.sessionId]);
    assertEquals(summary(woken), [[2, ["wake"]]]);
    assert(tookMs < 30_000, `the fetch waited ${tookMs} ms: it was not woken`);
  });
});

const notUnderBun = TEST_RUNTIME === "bun"; // the Bun subprocess broker has no park hooks

for (const version of [12, 17]) {
  const by = version <= 12 ? "by name (v12)" : "by topic id (v17)";
  Deno.test(`fetch session ${by}: answers only what is new, forgets, refuses bad epochs`, () =>
    incrementalRoundTrip(version));
  Deno.test(`fetch session ${by}: a log start moved by DeleteRecords is reported once`, () =>
    logStartMoved(version));
  Deno.test({
    name: `fetch session ${by}: a long-poll incremental fetch wakes on an append`,
    ignore: notUnderBun,
    fn: () => longPollWakes(version),
  });
}

Deno.test("a v17 session refuses a v12 incremental fetch (FETCH_SESSION_TOPIC_ID_ERROR)", () =>
  withSessionTopic(async (c, at) => {
    const full = await fetch(c, at, 0, INITIAL_EPOCH, { partitions: ALL });
    const byName = await fetch(c, { ...at, version: 12 }, full.sessionId, 1);
    assertEquals(byName.errorCode, ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR);
    assertEquals((await fetch(c, at, full.sessionId, 1)).errorCode, ErrorCode.NONE);
  })(17));
