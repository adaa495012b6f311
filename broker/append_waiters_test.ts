import { assert } from "../util/assert.ts";
import { AppendWaiters, waitInterest } from "./append_waiters.ts";

Deno.test("waitInterest() builds one partition bitmap per topic", () => {
  const interest = waitInterest([
    { topic: "a", partition: 0 },
    { topic: "a", partition: 9 },
    { topic: "b", partition: 3 },
    { topic: "b", partition: -1 }, // no such partition: nothing to wait for
  ]);
  assert.deepEqual(interest, new Map([["a", new Uint8Array([1, 2])], ["b", new Uint8Array([8])]]));
});

Deno.test("AppendWaiters.notify() wakes the fetches parked on that partition only", async () => {
  const waiters = new AppendWaiters();
  const signal = new AbortController();
  const onA9 = waiters.wait(waitInterest([{ topic: "a", partition: 9 }]), 60_000, signal.signal);
  const onA0B1 = waiters.wait(
    waitInterest([{ topic: "a", partition: 0 }, { topic: "b", partition: 1 }]),
    60_000,
    signal.signal,
  );
  let woken = "";
  void onA9.then((appended) => woken += `a9:${appended} `);
  void onA0B1.then((appended) => woken += `a0b1:${appended} `);
  assert.equal(waiters.parkedCount, 2);
  waiters.notify("a", 1); // nobody reads a-1
  waiters.notify("a", 8);
  waiters.notify("c", 0);
  waiters.notify("a", 1000); // past every bitmap
  await Promise.resolve();
  assert.equal(woken, "");
  waiters.notify("b", 1);
  assert.equal(await onA0B1, true);
  assert.equal(waiters.parkedCount, 1, "a woken fetch leaves every topic it waited on");
  waiters.notify("a", 9);
  assert.equal(await onA9, true);
  assert.equal(waiters.parkedCount, 0);
  assert.equal(woken, "a0b1:true a9:true ");
});

Deno.test("AppendWaiters.wait() resolves false at its deadline and on abort", async () => {
  const waiters = new AppendWaiters();
  const interest = waitInterest([{ topic: "a", partition: 0 }]);
  const unpark = waiters.nextUnpark();
  assert.equal(await waiters.wait(interest, 1), false);
  assert.equal(await unpark, "timeout");
  const abort = new AbortController();
  const parked = waiters.wait(interest, 60_000, abort.signal);
  abort.abort();
  assert.equal(await parked, false);
  assert.equal(await waiters.wait(new Map(), 60_000), false, "nothing to wait on");
  assert.equal(waiters.parkedCount, 0);
});
