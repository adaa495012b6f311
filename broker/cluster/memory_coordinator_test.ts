import { assert, assertEquals } from "../../util/assert.ts";
import { ManualClock } from "../groups/timers.ts";
import {
  coordinatorConformanceCases,
  type CoordinatorHarness,
} from "./_coordinator_conformance.ts";
import {
  CoordinatorError,
  decodeText,
  encodeText,
  type KeyValue,
  type WatchBatch,
} from "./coordinator.ts";
import {
  type CoordinatorFaultRule,
  type MemoryCoordinator,
  MemoryCoordinatorServer,
} from "./memory_coordinator.ts";

/** Clock steps of `until()`: small enough for keepalives (TTL / 3) to go out in time. */
const STEP_MS = 50;

/** Lets every pending promise reaction and I/O callback run. */
function turn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function memoryHarness(
  options: { seed?: number; faults?: readonly CoordinatorFaultRule[] } = {},
): CoordinatorHarness & { server: MemoryCoordinatorServer; clock: ManualClock } {
  const clock = new ManualClock();
  const server = new MemoryCoordinatorServer({ ...options, clock });
  const clients: MemoryCoordinator[] = [];
  return {
    server,
    clock,
    connect: () => {
      const client = server.connect("/denka/test/");
      clients.push(client);
      return Promise.resolve(client);
    },
    async until<T>(promise: Promise<T>, label: string, maxMs: number): Promise<T> {
      let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
      promise.then((value) => (outcome = { ok: true, value }), (error) => {
        outcome = { ok: false, error };
      });
      for (let elapsedMs = 0;; elapsedMs += STEP_MS) {
        await turn();
        if (outcome?.ok) return outcome.value;
        if (outcome !== undefined) throw (outcome as { error: unknown }).error;
        if (elapsedMs >= maxMs) throw new Error(`"${label}" did not happen within ${maxMs} ms`);
        clock.advance(STEP_MS);
      }
    },
    compact: (revision) => Promise.resolve(server.compact(revision)),
    close: async () => {
      for (const client of clients) await client.close();
    },
  };
}

for (const { name, fn } of coordinatorConformanceCases) {
  Deno.test(`MemoryCoordinator conformance: ${name}`, async () => {
    const harness = memoryHarness();
    try {
      await fn(harness);
    } finally {
      await harness.close();
    }
  });
}

Deno.test("MemoryCoordinator fault lease_lost: a keepalive finds the lease gone and its keys deleted", async () => {
  const h = memoryHarness({
    faults: [{ op: "keepAlive", fault: "lease_lost", after: 2, times: 1 }],
  });
  const c = await h.connect();
  const lease = await c.grantLease(3_000);
  await c.put("brokers/ids/1", encodeText("b1"), { leaseId: lease.id });
  const lost = await h.until(lease.lost, "lease lost", 10 * lease.ttlMs);
  assertEquals(lost.reason, "expired");
  // Two keepalives passed (at 1 s and 2 s), the third lost it.
  assertEquals(h.clock.nowMs() - 1_000_000, 3_000);
  assertEquals(await c.get("brokers/ids/1"), undefined);
  assertEquals(h.server.faults.firedCount, 1);
  await h.close();
});

Deno.test("MemoryCoordinator fault compare_failed: a racing writer fails the CAS, the retry wins", async () => {
  const h = memoryHarness({ faults: [{ op: "txn", fault: "compare_failed", times: 1 }] });
  const c = await h.connect();
  const key = "partitions/t/0/state";
  const created = await c.put(key, encodeText("leader=1"));
  const swap = (equals: number) =>
    c.txn({
      compares: [{ key, target: "modRevision", equals }],
      ops: [{ op: "put", key, value: encodeText("leader=2") }],
    });
  const failed = await swap(created.revision);
  assert(!failed.succeeded);
  const raced = failed.current[0];
  assertEquals(decodeText(raced.value), "leader=1", "the racing writer kept the value");
  assert(raced.modRevision > created.revision);
  const retried = await swap(raced.modRevision);
  assert(retried.succeeded);
  assertEquals(decodeText((await c.get(key))!.value), "leader=2");
  await h.close();
});

Deno.test("MemoryCoordinator fault compacted: a watch gap ends the watch, a re-list recovers every key", async () => {
  const h = memoryHarness({ faults: [{ op: "watch", fault: "compacted", after: 2, times: 1 }] });
  const c = await h.connect();
  const from = (await c.range("")).revision + 1;
  const watch = c.watch("topics/", from);
  const seen = new Map<string, string>();
  const batches: WatchBatch[] = [];
  for (let i = 0; i < 5; i++) await c.put(`topics/t${i}`, encodeText(`${i}`));
  for (let next = await watch.next(); !next.done; next = await watch.next()) {
    batches.push(next.value);
    if (next.value.kind === "events") {
      for (const e of next.value.events) seen.set(e.kv.key, decodeText(e.kv.value));
    }
  }
  assertEquals(batches.map((b) => b.kind), ["events", "events", "compacted"]);
  assertEquals([...seen.keys()], ["topics/t0", "topics/t1"]);
  const relisted = await c.range("topics/");
  for (const kv of relisted.kvs) seen.set(kv.key, decodeText(kv.value));
  assertEquals(seen.size, 5);
  const resumed = c.watch("topics/", relisted.revision + 1);
  await c.put("topics/t5", encodeText("5"));
  const next = await resumed.next();
  assertEquals(next.value?.kind, "events");
  await resumed.return!();
  await h.close();
});

Deno.test("MemoryCoordinator fault slow: a call completes only when the clock passes its delay", async () => {
  const h = memoryHarness({ faults: [{ op: "put", fault: "slow", delayMs: 500, times: 1 }] });
  const c = await h.connect();
  let done = false;
  const put = c.put("k", encodeText("v")).then((r) => (done = true, r));
  await turn();
  h.clock.advance(499);
  await turn();
  assertEquals(done, false);
  assertEquals(await c.get("k"), undefined, "nothing applied while the call is in flight");
  h.clock.advance(1);
  assert((await put).succeeded);
  assertEquals(decodeText((await c.get("k"))!.value), "v");
  await h.close();
});

Deno.test("MemoryCoordinator fault unavailable: keepalives failing for a whole TTL lose the lease", async () => {
  const h = memoryHarness({ faults: [{ op: "keepAlive", fault: "unavailable" }] });
  const c = await h.connect();
  const lease = await c.grantLease(2_000);
  const error = await c.keepAlive(lease).catch((e) => e);
  assert(error instanceof CoordinatorError && error.reason === "unavailable");
  const lost = await h.until(lease.lost, "lease lost", 3_000);
  assertEquals(lost.reason, "expired");
  assertEquals(h.clock.nowMs() - 1_000_000, 2_000, "lost at the TTL deadline, not later");
  await h.close();
});

Deno.test("MemoryCoordinator faults with a probability fail the same calls for the same seed", async () => {
  const failedCalls = async (seed: number) => {
    const rules: CoordinatorFaultRule[] = [{ op: "put", fault: "unavailable", probability: 0.5 }];
    const h = memoryHarness({ seed, faults: rules });
    const c = await h.connect();
    const failed: number[] = [];
    for (let i = 0; i < 32; i++) {
      await c.put(`k${i}`, encodeText("v")).catch(() => failed.push(i));
    }
    const stored = (await c.range("")).kvs.map((kv: KeyValue) => Number(kv.key.slice(1)));
    assertEquals(stored.length + failed.length, 32, "a failed put changed nothing");
    await h.close();
    return failed;
  };
  const first = await failedCalls(7);
  assertEquals(await failedCalls(7), first);
  assert(first.length > 0 && first.length < 32, `failed ${first.length} of 32`);
  assert(JSON.stringify(await failedCalls(8)) !== JSON.stringify(first));
});

Deno.test("MemoryCoordinator.close() ends watches and observers and marks leases lost", async () => {
  const h = memoryHarness();
  const c = await h.connect();
  const lease = await c.grantLease(5_000);
  const watch = c.watch("x/", 1);
  const observer = c.observe("controller");
  const campaignOther = await h.connect();
  const otherLease = await campaignOther.grantLease(5_000);
  await campaignOther.campaign("controller", encodeText("other"), otherLease);
  const pending = c.campaign("controller", encodeText("me"), lease).catch((e) => e);
  await observer.next();
  await c.close();
  assertEquals((await watch.next()).done, true);
  assertEquals((await observer.next()).done, true);
  assertEquals((await lease.lost).reason, "closed");
  const error = await pending;
  assert(error instanceof CoordinatorError && error.reason === "closed");
  const after = await c.get("x/1").catch((e) => e);
  assert(after instanceof CoordinatorError && after.reason === "closed");
  await h.close();
});
