import { ErrorCode } from "../protocol/error_codes.ts";
import { assertEquals, assertThrows } from "../util/assert.ts";
import { FetchSessionClient, nextEpoch, type SessionFetch } from "./fetch_session.ts";

const OK = ErrorCode.NONE;

function plain(f: SessionFetch) {
  return [f.sessionId, f.sessionEpoch, [...f.partitions], [...f.forgotten]];
}

Deno.test("FetchSessionClient sends a full fetch, then only changed partitions", () => {
  const client = new FetchSessionClient();
  const wanted = new Map([[0, 0], [1, 0], [2, 0]]);
  const full = client.next(wanted);
  assertEquals(plain(full), [0, 0, [[0, 0], [1, 0], [2, 0]], []]);
  assertEquals(client.onResponse(full, { errorCode: OK, sessionId: 77 }), "ok");
  wanted.set(1, 5);
  const first = client.next(wanted);
  assertEquals(plain(first), [77, 1, [[1, 5]], []]);
  assertEquals(client.onResponse(first, { errorCode: OK, sessionId: 77 }), "ok");
  wanted.delete(2);
  const second = client.next(wanted);
  assertEquals(plain(second), [77, 2, [], [2]]);
  client.onResponse(second, { errorCode: OK, sessionId: 77 });
  wanted.set(2, 9);
  assertEquals(plain(client.next(wanted)), [77, 3, [[2, 9]], []], "re-added after forgetting");
  assertEquals(client.incrementalCount, 2);
});

Deno.test("FetchSessionClient starts over after a session error or a sessionless answer", () => {
  const client = new FetchSessionClient();
  const wanted = new Map([[0, 4]]);
  const full = client.next(wanted);
  client.onResponse(full, { errorCode: OK, sessionId: 9 });
  const inc = client.next(wanted);
  assertEquals(
    client.onResponse(inc, { errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH, sessionId: 0 }),
    "retry",
  );
  const closing = client.next(wanted);
  assertEquals(plain(closing), [9, 0, [[0, 4]], []], "a full fetch that closes session 9");
  client.onResponse(closing, { errorCode: OK, sessionId: 10 });
  const lost = client.next(wanted);
  assertEquals(
    client.onResponse(lost, { errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0 }),
    "retry",
  );
  const fresh = client.next(wanted);
  assertEquals(plain(fresh), [0, 0, [[0, 4]], []]);
  assertEquals(client.onResponse(fresh, { errorCode: OK, sessionId: 0 }), "ok");
  assertEquals(plain(client.next(wanted)), [0, 0, [[0, 4]], []], "no session kept: full again");
  assertThrows(() =>
    client.onResponse(fresh, { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, sessionId: 0 })
  );
});

Deno.test("nextEpoch() follows INT32_MAX with 1", () => {
  assertEquals(nextEpoch(0), 1);
  assertEquals(nextEpoch(2147483646), 2147483647);
  assertEquals(nextEpoch(2147483647), 1);
});

Deno.test("FetchSessionClient without sessions sends full sessionless fetches", () => {
  const client = new FetchSessionClient({ sessions: false });
  const wanted = new Map([[0, 0], [1, 0]]);
  const first = client.next(wanted);
  assertEquals(plain(first), [0, -1, [[0, 0], [1, 0]], []]);
  assertEquals(client.onResponse(first, { errorCode: OK, sessionId: 0 }), "ok");
  wanted.set(1, 4);
  wanted.delete(0);
  assertEquals(plain(client.next(wanted)), [0, -1, [[1, 4]], []], "lists all, forgets none");
  assertEquals(client.incrementalCount, 0);
  assertThrows(
    () => client.onResponse(first, { errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, sessionId: 0 }),
    /error code 1$/,
  );
});
