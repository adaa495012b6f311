import { assert, assertEquals, assertRejects } from "../../util/assert.ts";
import {
  decodeKeyValue,
  fromBase64,
  gatewayError,
  int64,
  isConnectRefused,
  jsonLines,
  keyFromBase64,
  keyToBase64,
  prefixRangeEnd,
  toBase64,
} from "./_etcd_http.ts";
import { CoordinatorError } from "./coordinator.ts";

Deno.test("toBase64() and fromBase64() round-trip every byte value and large values", () => {
  const bytes = new Uint8Array(100_000).map((_, i) => (i * 7) & 0xff);
  assertEquals(fromBase64(toBase64(bytes)), bytes);
  assertEquals(toBase64(new TextEncoder().encode("foo")), "Zm9v");
  assertEquals(fromBase64(undefined), new Uint8Array(0));
  assertEquals(keyFromBase64(keyToBase64("/denka/ключ/")), "/denka/ключ/");
});

Deno.test("prefixRangeEnd() is the prefix with its last byte below 0xff incremented", () => {
  assertEquals(prefixRangeEnd("foo"), toBase64(new TextEncoder().encode("fop")));
  assertEquals(prefixRangeEnd("/a/"), toBase64(new TextEncoder().encode("/a0")));
  // "ÿ" is 0xc3 0xbf in UTF-8: the last byte is incremented, not dropped.
  assertEquals(prefixRangeEnd("\u00ff"), toBase64(new Uint8Array([0xc3, 0xc0])));
});

Deno.test("int64() reads decimal strings and absent fields, and refuses unsafe integers", () => {
  assertEquals(int64("42"), 42);
  assertEquals(int64(undefined), 0);
  assertThrowsReason(() => int64("4111120445112668188"), "protocol");
});

Deno.test("decodeKeyValue() fills proto3's omitted zero fields and cuts the root prefix", () => {
  const kv = decodeKeyValue({ key: keyToBase64("/r/a"), mod_revision: "5" }, "/r/");
  assertEquals(kv, {
    key: "a",
    value: new Uint8Array(0),
    createRevision: 0,
    modRevision: 5,
    version: 0,
    leaseId: undefined,
  });
  const leased = decodeKeyValue({ key: keyToBase64("/r/b"), lease: "4111120445112668188" }, "/r/");
  assertEquals(leased.leaseId, "4111120445112668188");
});

Deno.test("gatewayError() maps etcd's answers to reasons", () => {
  const reason = (status: number, json: Record<string, unknown>) =>
    gatewayError(status, json).reason;
  const notFound = "etcdserver: requested lease not found";
  assertEquals(reason(404, { error: notFound, message: notFound, code: 5 }), "lease_not_found");
  assertEquals(reason(500, { error: notFound, code: 2 }), "lease_not_found"); // campaign
  const compacted = "etcdserver: mvcc: required revision has been compacted";
  assertEquals(reason(400, { error: compacted, code: 11 }), "compacted");
  assertEquals(reason(503, { error: "etcdserver: no leader", code: 14 }), "unavailable");
  assertEquals(reason(200, { error: { grpc_code: 14, message: "gone" } }), "unavailable");
  assertEquals(reason(400, { error: "unexpected EOF", code: 3 }), "server");
  assert(gatewayError(400, { error: "x", code: 3 }).message.includes(`"x"`));
});

Deno.test("isConnectRefused() knows Deno's and Bun's refused connections, nothing else", () => {
  const deno = new TypeError("fetch failed", {
    cause: new Error(
      "client error (Connect): tcp connect error: Connection refused (os error 111)",
    ),
  });
  const bun = Object.assign(new TypeError("Unable to connect"), { code: "ECONNREFUSED" });
  assertEquals(isConnectRefused(deno), true);
  assertEquals(isConnectRefused(bun), true);
  assertEquals(isConnectRefused(new TypeError("connection reset by peer")), false);
  assertEquals(isConnectRefused(undefined), false);
});

Deno.test("jsonLines() parses objects split across chunks and refuses a garbled line", async () => {
  const chunks = ['{"result":{"a":1}}\n{"res', 'ult":{"b":2}}\n', '\n{"result":{"c":3}}'];
  const stream = (parts: string[]) =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (const part of parts) controller.enqueue(new TextEncoder().encode(part));
        controller.close();
      },
    });
  const seen = [];
  for await (const line of jsonLines(stream(chunks))) seen.push(line.result);
  assertEquals(seen, [{ a: 1 }, { b: 2 }, { c: 3 }]);
  await assertRejects(async () => {
    for await (const _ of jsonLines(stream(["{not json}\n"]))) { /* drain */ }
  }, (e: unknown) => e instanceof CoordinatorError && e.reason === "protocol");
});

Deno.test("jsonLines() ends at once when its signal aborts during a read that never completes", async () => {
  // A body that sends one line and then nothing: the read after it waits forever, as a watch's
  // does when the runtime does not end it on abort (a broker's stop then waited for ever).
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('{"result":{"a":1}}\n'));
    },
  });
  const aborting = new AbortController();
  const seen: unknown[] = [];
  const reading = (async () => {
    for await (const line of jsonLines(body, aborting.signal)) {
      seen.push(line.result);
      aborting.abort(); // the read that follows would never complete
    }
  })();
  const BOUND_MS = 5_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    reading.then(() => "ended", (e) => e instanceof CoordinatorError ? e.reason : String(e)),
    new Promise<string>((resolve) => timer = setTimeout(() => resolve("still reading"), BOUND_MS)),
  ]);
  clearTimeout(timer);
  assertEquals(seen, [{ a: 1 }]);
  assertEquals(outcome, "closed");
});

function assertThrowsReason(fn: () => unknown, reason: string): void {
  try {
    fn();
  } catch (error) {
    assert(error instanceof CoordinatorError, String(error));
    assertEquals(error.reason, reason);
    return;
  }
  throw new Error(`Expected a CoordinatorError "${reason}"`);
}
