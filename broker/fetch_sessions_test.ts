import { ErrorCode } from "../protocol/error_codes.ts";
import { defaultFetchRequest, type FetchRequest } from "../protocol/messages/fetch.ts";
import { assert, assertEquals, assertThrows } from "../util/assert.ts";
import {
  type FetchContext,
  FetchSessionCache,
  type FetchTarget,
  FINAL_EPOCH,
  INITIAL_EPOCH,
  mustRespond,
  nextEpoch,
  type SentPartition,
  SESSIONLESS_ID,
} from "./fetch_sessions.ts";

const INT32_MAX = 2147483647;
const NO_ID = "00000000-0000-0000-0000-000000000000";

/** `[topic, partition, fetchOffset]`; a topic starting with "id:" is sent as a topic id. */
type Wanted = [string, number, number];

function request(
  sessionId: number,
  sessionEpoch: number,
  wanted: Wanted[] = [],
  forgotten: [string, number[]][] = [],
): FetchRequest {
  const field = (topic: string) =>
    topic.startsWith("id:") ? { topic: "", topicId: topic.slice(3) } : { topic, topicId: NO_ID };
  return {
    ...defaultFetchRequest(),
    sessionId,
    sessionEpoch,
    topics: wanted.map(([topic, partition, fetchOffset]) => ({
      ...field(topic),
      partitions: [{
        partition,
        currentLeaderEpoch: -1,
        fetchOffset,
        lastFetchedEpoch: -1,
        logStartOffset: -1,
        partitionMaxBytes: 1024,
        replicaDirectoryId: NO_ID,
      }],
    })),
    forgottenTopicsData: forgotten.map(([topic, partitions]) => ({ ...field(topic), partitions })),
  };
}

/** Every target answered: no error, high watermark `hwm`, log start 0, `sizeBytes` of records. */
function answerAll(fetch: FetchContext, hwm: number, sizeBytes = 0): SentPartition[] {
  return fetch.targets.map((target) => ({
    target,
    errorCode: ErrorCode.NONE,
    highWatermark: hwm,
    logStartOffset: 0,
    sizeBytes,
  }));
}

function names(targets: readonly FetchTarget[]): string[] {
  return targets.map((t) => `${t.topic || t.topicId}-${t.partition}@${t.fetchOffset}`);
}

/** A cache with a hand-driven clock and ids 101, 102, ... */
function cacheOf(slotsMax: number, evictionMs = 1000) {
  const clock = { nowMs: 0 };
  let nextId = 101;
  const cache = new FetchSessionCache({
    slotsMax,
    evictionMs,
    nowMs: () => clock.nowMs,
    randomId: () => nextId++,
  });
  return { cache, clock };
}

/** Opens a session over `wanted` (a full fetch with epoch 0) and returns its id. */
function open(cache: FetchSessionCache, wanted: Wanted[], usesTopicIds = false): number {
  const fetch = cache.begin(request(SESSIONLESS_ID, INITIAL_EPOCH, wanted), usesTopicIds);
  return fetch.complete(answerAll(fetch, 0), false);
}

Deno.test("nextEpoch() counts up and wraps from INT32_MAX to 1", () => {
  assertEquals(nextEpoch(INITIAL_EPOCH), 1);
  assertEquals(nextEpoch(41), 42);
  assertEquals(nextEpoch(INT32_MAX - 1), INT32_MAX);
  assertEquals(nextEpoch(INT32_MAX), 1);
  assertThrows(() => nextEpoch(FINAL_EPOCH));
});

Deno.test("FetchSessionCache.begin() creates a session for epoch 0 and none for epoch -1", () => {
  const { cache } = cacheOf(10);
  const full = cache.begin(request(0, INITIAL_EPOCH, [["a", 0, 5], ["a", 1, 7]]), false);
  assertEquals(full.errorCode, ErrorCode.NONE);
  assertEquals(full.incremental, false);
  assertEquals(names(full.targets), ["a-0@5", "a-1@7"]);
  assertEquals(cache.size, 0, "the session is created when the response is ready");
  const id = full.complete(answerAll(full, 9), false);
  assertEquals(id, 101);
  assertEquals(cache.get(id)?.epoch, 1);
  assertEquals(cache.get(id)?.targets().map((t) => t.sentHighWatermark), [9, 9]);
  const sessionless = cache.begin(request(0, FINAL_EPOCH, [["a", 0, 5]]), false);
  assertEquals(sessionless.incremental, false);
  assertEquals(sessionless.complete(answerAll(sessionless, 9), false), SESSIONLESS_ID);
  assertEquals(cache.size, 1);
});

Deno.test("FetchSessionCache.begin() wants the next epoch of a known session", () => {
  const { cache } = cacheOf(10);
  const id = open(cache, [["a", 0, 0]]);
  assertEquals(cache.begin(request(id, 2), false).errorCode, ErrorCode.INVALID_FETCH_SESSION_EPOCH);
  const first = cache.begin(request(id, 1), false);
  assertEquals(first.errorCode, ErrorCode.NONE);
  assertEquals(first.incremental, true);
  assertEquals(names(first.targets), ["a-0@0"]);
  assertEquals(cache.get(id)?.epoch, 2);
  assertEquals(cache.begin(request(id, 1), false).errorCode, ErrorCode.INVALID_FETCH_SESSION_EPOCH);
  assertEquals(
    cache.begin(request(id + 1, 2), false).errorCode,
    ErrorCode.FETCH_SESSION_ID_NOT_FOUND,
  );
  assertEquals(cache.begin(request(0, 1), false).errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
  assertEquals(cache.begin(request(id, 2), false).errorCode, ErrorCode.NONE, "errors keep it");
});

Deno.test("FetchSessionCache.begin() follows epoch INT32_MAX with 1", () => {
  const { cache } = cacheOf(10);
  const id = open(cache, [["a", 0, 0]]);
  cache.get(id)!.epoch = INT32_MAX;
  assertEquals(cache.begin(request(id, INT32_MAX), false).errorCode, ErrorCode.NONE);
  assertEquals(cache.get(id)?.epoch, 1);
  assertEquals(cache.begin(request(id, 1), false).errorCode, ErrorCode.NONE);
});

Deno.test("an incremental fetch updates listed partitions, adds new ones, drops forgotten ones", () => {
  const { cache } = cacheOf(10);
  const id = open(cache, [["a", 0, 0], ["a", 1, 0], ["b", 0, 0]]);
  const fetch = cache.begin(request(id, 1, [["a", 1, 5], ["c", 3, 2]], [["a", [0, 9]]]), false);
  assertEquals(names(fetch.targets), ["a-1@5", "b-0@0", "c-3@2"]);
  const sentHwm = fetch.targets.map((t) => t.sentHighWatermark);
  assertEquals(sentHwm, [0, 0, -1], "a new partition has told the client nothing yet");
});

Deno.test("a partition both forgotten and listed comes back as new", () => {
  const { cache } = cacheOf(10);
  const id = open(cache, [["a", 0, 0], ["a", 1, 0]]);
  const fetch = cache.begin(request(id, 1, [["a", 0, 3]], [["a", [0]]]), false);
  assertEquals(names(fetch.targets), ["a-1@0", "a-0@3"]);
  assertEquals(fetch.targets[1].sentHighWatermark, -1);
});

Deno.test("mustRespond() wants records, an error, or a new high watermark or log start", () => {
  const { cache } = cacheOf(10);
  const id = open(cache, [["a", 0, 0]]);
  const target = cache.get(id)!.targets()[0];
  const quiet = { errorCode: ErrorCode.NONE, highWatermark: 0, logStartOffset: 0, sizeBytes: 0 };
  assertEquals(mustRespond(target, quiet), false);
  assertEquals(mustRespond(target, { ...quiet, sizeBytes: 70 }), true);
  assertEquals(mustRespond(target, { ...quiet, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE }), true);
  assertEquals(mustRespond(target, { ...quiet, highWatermark: 1 }), true);
  assertEquals(mustRespond(target, { ...quiet, logStartOffset: 1 }), true);
});

Deno.test("complete() records only what was sent and moves partitions with records last", () => {
  const { cache } = cacheOf(10);
  const id = open(cache, [["a", 0, 0], ["a", 1, 0], ["a", 2, 0]]);
  const fetch = cache.begin(request(id, 1), false);
  const [p0, p1, p2] = fetch.targets;
  const sent: SentPartition[] = [
    { target: p0, errorCode: ErrorCode.NONE, highWatermark: 4, logStartOffset: 0, sizeBytes: 300 },
    {
      target: p2,
      errorCode: ErrorCode.KAFKA_STORAGE_ERROR,
      highWatermark: 7,
      logStartOffset: 2,
      sizeBytes: 0,
    },
  ];
  assertEquals(fetch.complete(sent, false), id);
  assertEquals([p0.sentHighWatermark, p0.sentLogStartOffset], [4, 0]);
  assertEquals([p1.sentHighWatermark, p1.sentLogStartOffset], [0, 0], "not sent: unchanged");
  assertEquals(p2.sentHighWatermark, -1, "an error is sent again until it clears");
  assertEquals(p2.sentLogStartOffset, 2);
  assertEquals(names(cache.get(id)!.targets()), ["a-1@0", "a-2@0", "a-0@0"]);
});

Deno.test("forgetting every partition closes the session", () => {
  const { cache } = cacheOf(10);
  const id = open(cache, [["a", 0, 0]]);
  const fetch = cache.begin(request(id, 1, [], [["a", [0]]]), false);
  assertEquals(fetch.errorCode, ErrorCode.NONE);
  assertEquals(fetch.targets.length, 0);
  assertEquals(fetch.complete([], false), SESSIONLESS_ID);
  assertEquals(cache.get(id), undefined);
});

Deno.test("a full fetch naming a session closes it (epoch -1) or replaces it (epoch 0)", () => {
  const { cache } = cacheOf(10);
  const first = open(cache, [["a", 0, 0]]);
  const replacing = cache.begin(request(first, INITIAL_EPOCH, [["a", 0, 3]]), false);
  assertEquals(cache.get(first), undefined, "closed when the request arrives");
  const second = replacing.complete(answerAll(replacing, 3), false);
  assert(second !== first && second !== SESSIONLESS_ID);
  assertEquals(names(cache.get(second)!.targets()), ["a-0@3"]);
  const closing = cache.begin(request(second, FINAL_EPOCH), false);
  assertEquals(closing.complete([], false), SESSIONLESS_ID);
  assertEquals(cache.size, 0);
});

Deno.test("a session keeps to the topic addressing it was created with", () => {
  const { cache } = cacheOf(10);
  const topicId = "2f0e5d4c-1b2a-4c3d-8e9f-0a1b2c3d4e5f";
  const id = open(cache, [[`id:${topicId}`, 0, 0], [`id:${topicId}`, 1, 0]], true);
  const byName = cache.begin(request(id, 1, [["a", 0, 0]]), false);
  assertEquals(byName.errorCode, ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR);
  const byId = cache.begin(
    request(id, 1, [[`id:${topicId}`, 1, 8]], [[`id:${topicId}`, [0]]]),
    true,
  );
  assertEquals(byId.errorCode, ErrorCode.NONE);
  assertEquals(names(byId.targets), [`${topicId}-1@8`]);
  const named = open(cache, [["a", 0, 0]], false);
  assertEquals(
    cache.begin(request(named, 1), true).errorCode,
    ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR,
  );
});

Deno.test("interest() is kept until the session's partitions change", () => {
  const { cache } = cacheOf(10);
  const id = open(cache, [["a", 0, 0], ["a", 1, 0]]);
  let calls = 0;
  const topicOf = (t: FetchTarget) => {
    calls++;
    return t.topic;
  };
  const first = cache.begin(request(id, 1, [["a", 0, 4]]), false).interest(topicOf);
  assertEquals(first, new Map([["a", new Uint8Array([0b11])]]));
  assertEquals(cache.begin(request(id, 2), false).interest(topicOf) === first, true);
  assertEquals(calls, 2, "an offset change keeps the interest");
  const grown = cache.begin(request(id, 3, [["b", 0, 0]], [["a", [0]]]), false);
  assertEquals(
    grown.interest(topicOf),
    new Map([["a", new Uint8Array([0b10])], ["b", new Uint8Array([1])]]),
  );
});

Deno.test("a full cache evicts its least recently used session once it is stale", () => {
  const { cache, clock } = cacheOf(2, 1000);
  const s1 = open(cache, [["a", 0, 0]]);
  const s2 = open(cache, [["b", 0, 0]]);
  clock.nowMs = 500;
  cache.begin(request(s1, 1), false).complete([], false); // s2 is now the least recently used
  clock.nowMs = 999;
  assertEquals(open(cache, [["c", 0, 0]]), SESSIONLESS_ID, "s2 idle 999 ms: kept");
  clock.nowMs = 1000;
  const s3 = open(cache, [["c", 0, 0]]);
  assert(s3 !== SESSIONLESS_ID);
  assertEquals([cache.get(s1)?.id, cache.get(s2), cache.get(s3)?.id], [s1, undefined, s3]);
  assertEquals(cache.evictions, 1);
});

Deno.test("a full cache of busy sessions gives way only to a larger one, and not while young", () => {
  const { cache, clock } = cacheOf(2, 1000);
  const small = open(cache, [["a", 0, 0]]);
  const large = open(cache, [["b", 0, 0], ["b", 1, 0], ["b", 2, 0]]);
  const two: Wanted[] = [["c", 0, 0], ["c", 1, 0]];
  clock.nowMs = 900;
  assertEquals(open(cache, two), SESSIONLESS_ID, "both younger than the eviction time");
  clock.nowMs = 1400;
  cache.begin(request(small, 1), false).complete([], false);
  cache.begin(request(large, 1), false).complete([], false);
  clock.nowMs = 1500;
  const newer = open(cache, two);
  assert(newer !== SESSIONLESS_ID);
  assertEquals(cache.get(small), undefined, "the smaller settled session gave way");
  assertEquals(cache.get(large)?.id, large);
  assertEquals(open(cache, [["d", 0, 0]]), SESSIONLESS_ID, "nothing smaller to evict");
  assertEquals(cache.size, 2);
});

Deno.test("zero slots turn sessions off; an abandoned full fetch creates none", () => {
  const off = cacheOf(0).cache;
  assertEquals(open(off, [["a", 0, 0]]), SESSIONLESS_ID);
  assertEquals(off.size, 0);
  const { cache } = cacheOf(10);
  const fetch = cache.begin(request(0, INITIAL_EPOCH, [["a", 0, 0]]), false);
  assertEquals(fetch.complete(answerAll(fetch, 0), true), SESSIONLESS_ID);
  assertEquals(cache.size, 0);
});
