import { assert, assertEquals } from "../../util/assert.ts";
import { etcdInstalled, freePort, startEtcd } from "../../tests/cluster/etcd_server.ts";
import { etcdHarness } from "../../tests/cluster/etcd_harness.ts";
import { coordinatorConformanceCases } from "./_coordinator_conformance.ts";
import { CoordinatorError, decodeText, encodeText, type WatchEvent } from "./coordinator.ts";
import { EtcdCoordinator } from "./etcd.ts";

const installed = etcdInstalled();
if (!installed) {
  console.warn(
    "etcd_test.ts: /usr/bin/etcd is absent (Debian package etcd-server): the etcd cases are skipped",
  );
}

/** A TCP endpoint that accepts connections and never answers. */
function hungServer(): { url: string; acceptedCount: number; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const state = {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    acceptedCount: 0,
    close() {
      listener.close();
      for (const conn of conns) conn.close();
    },
  };
  (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      state.acceptedCount++;
    }
  })().catch(() => {});
  return state;
}

Deno.test({
  name: "EtcdCoordinator conformance against a real etcd",
  ignore: !installed,
  fn: async (t) => {
    const server = await startEtcd();
    try {
      for (const { name, fn } of coordinatorConformanceCases) {
        await t.step(name, async () => {
          const harness = etcdHarness(server);
          try {
            await fn(harness);
          } finally {
            await harness.close();
          }
        });
      }
      await t.step("a dead first endpoint fails over to the live one", async () => {
        const dead = `http://127.0.0.1:${freePort()}`;
        const harness = etcdHarness(server, [dead, server.clientUrl]);
        try {
          const c = await harness.connect();
          // A write may go to the next endpoint only because the connection was refused.
          assert((await c.put("failover/a", encodeText("1"))).succeeded);
          assertEquals(decodeText((await c.get("failover/a"))!.value), "1");
        } finally {
          await harness.close();
        }
      });
      await t.step(
        "a hung endpoint times out: reads fail over, a write is not resent",
        async () => {
          const hung = hungServer();
          const harness = etcdHarness(server, [hung.url, server.clientUrl], 300);
          try {
            const c = await harness.connect();
            const write = await c.put("hung/a", encodeText("1")).catch((e) => e);
            assert(write instanceof CoordinatorError, String(write));
            assertEquals(write.reason, "timeout");
            assertEquals(hung.acceptedCount, 1);
            // The failed write moved the client to the live endpoint; then a read from the hung one.
            assert((await c.put("hung/a", encodeText("2"))).succeeded);
            const reader = await harness.connect();
            assertEquals(decodeText((await reader.get("hung/a"))!.value), "2");
            assertEquals(hung.acceptedCount, 2);
          } finally {
            await harness.close();
            hung.close();
          }
        },
      );
      await t.step("an etcd that stops answering loses a kept-alive lease at its TTL", async () => {
        const harness = etcdHarness(server, [server.clientUrl], 1_000);
        try {
          const c = await harness.connect();
          // The lease counts its TTL from when the grant was sent (the safe side), so
          // measure from before the request: under load the answer may come much later.
          const grantSentAtMs = Date.now();
          const lease = await c.grantLease(1_000);
          server.kill("SIGSTOP");
          try {
            const lost = await harness.until(lease.lost, "lease lost", lease.ttlMs);
            assertEquals(lost.reason, "expired");
            assert(Date.now() - grantSentAtMs >= lease.ttlMs - 50, "not before its TTL");
          } finally {
            server.kill("SIGCONT");
          }
        } finally {
          await harness.close();
        }
      });
      await t.step("close() ends a waiting watch and observer and fails a campaign", async () => {
        const harness = etcdHarness(server);
        try {
          const c = await harness.connect();
          const other = await harness.connect();
          const otherLease = await other.grantLease(10_000);
          await other.campaign("controller", encodeText("other"), otherLease);
          const lease = await c.grantLease(10_000);
          const watch = c.watch("w/", (await c.range("")).revision + 1);
          const observer = c.observe("controller");
          assertEquals(decodeText((await observer.next()).value!.value), "other");
          const waitingWatch = watch.next();
          const waitingObserver = observer.next();
          const campaign = c.campaign("controller", encodeText("me"), lease).catch((e) => e);
          await c.close();
          assertEquals((await harness.until(waitingWatch, "watch ends", 5_000)).done, true);
          assertEquals((await harness.until(waitingObserver, "observer ends", 5_000)).done, true);
          const error = await harness.until(campaign, "campaign fails", 5_000);
          assert(error instanceof CoordinatorError && error.reason === "closed", String(error));
          assertEquals((await lease.lost).reason, "closed");
        } finally {
          await harness.close();
        }
      });
      await t.step("a watch survives an etcd restart without losing an event", async () => {
        const harness = etcdHarness(server);
        try {
          const c = await harness.connect();
          const from = (await c.range("")).revision + 1;
          const watch = c.watch("r/", from);
          await c.put("r/before", encodeText("1"));
          const first = await harness.until(watch.next(), "before restart", 5_000);
          assertEquals(first.value?.kind, "events");
          // Settled into a value at once: a rejection during the restart is reported below.
          const next = watch.next().then((value) => value, (error) => ({ error }));
          await server.restart();
          await c.put("r/after", encodeText("2"));
          const settled = await harness.until(next, "after restart", 10_000);
          if ("error" in settled) throw settled.error;
          const second = settled;
          const batch = second.value;
          assert(batch?.kind === "events", JSON.stringify(batch));
          assertEquals(batch.events.map((e: WatchEvent) => e.kv.key), ["r/after"]);
          await watch.return!();
        } finally {
          await harness.close();
        }
      });
    } finally {
      await server.close();
    }
  },
});

Deno.test("EtcdCoordinator maps an unreachable etcd to CoordinatorError unavailable", async () => {
  const c = new EtcdCoordinator({
    endpoints: [`http://127.0.0.1:${freePort()}`, `http://127.0.0.1:${freePort()}`],
    rootPrefix: "/denka/x/",
  });
  try {
    const error = await c.get("k").catch((e) => e);
    assert(error instanceof CoordinatorError, String(error));
    assertEquals(error.reason, "unavailable");
  } finally {
    await c.close();
  }
  const closed = await c.get("k").catch((e) => e);
  assert(closed instanceof CoordinatorError && closed.reason === "closed");
});
