import { assert, assertEquals, assertThrows } from "../util/assert.ts";
import { type RequestMemoryCounters, RequestMemoryPool } from "./request_memory.ts";

function counters(): RequestMemoryCounters {
  return { queuedRequestBytes: 0, queuedRequestBytesPeak: 0, queuedRequestWaits: 0 };
}

Deno.test("RequestMemoryPool.reserve() grants what fits and queues the rest in order", () => {
  const c = counters();
  const pool = new RequestMemoryPool(100, c);
  const granted: string[] = [];
  assertEquals(pool.reserve(60, () => granted.push("a")), undefined);
  assert(pool.reserve(50, () => granted.push("b")) !== undefined);
  // Fits, but waits behind "b": a large frame is not starved by small ones.
  assert(pool.reserve(10, () => granted.push("c")) !== undefined);
  assertEquals(c.queuedRequestWaits, 2);
  pool.release(60);
  assertEquals(granted, ["b", "c"]);
  assertEquals(c.queuedRequestBytes, 60);
  assertEquals(c.queuedRequestBytesPeak, 60);
});

Deno.test("RequestMemoryPool never holds more than its cap", () => {
  const c = counters();
  const pool = new RequestMemoryPool(100, c);
  const held: number[] = [];
  for (let i = 0; i < 50; i++) {
    const size = 1 + (i * 37) % 100;
    if (pool.reserve(size, () => held.push(size)) === undefined) held.push(size);
    if (held.length > 0 && i % 3 === 0) pool.release(held.shift()!);
    assert(c.queuedRequestBytes <= 100);
  }
  while (held.length > 0) pool.release(held.shift()!);
  assertEquals(c.queuedRequestBytes, 0);
  assert(c.queuedRequestBytesPeak <= 100);
});

Deno.test("RequestMemoryPool: a cancelled reservation is never granted and lets the next one in", () => {
  const c = counters();
  const pool = new RequestMemoryPool(100, c);
  const granted: string[] = [];
  pool.reserve(90, () => {});
  const big = pool.reserve(50, () => granted.push("big"))!;
  pool.reserve(10, () => granted.push("small"));
  assertEquals(granted, []);
  big.cancel();
  assertEquals(granted, ["small"]);
  assertEquals(c.queuedRequestBytes, 100);
});

Deno.test("RequestMemoryPool refuses a reservation larger than the cap and a release past what is held", () => {
  const pool = new RequestMemoryPool(100, counters());
  assertThrows(() => pool.reserve(101, () => {}));
  assertThrows(() => pool.release(1));
});
