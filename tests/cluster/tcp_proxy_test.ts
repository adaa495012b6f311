import { assert, assertEquals } from "../../util/assert.ts";
import { startTcpProxy } from "./tcp_proxy.ts";

/** An echo server on loopback: what the proxy stands in front of. */
function startEcho(): { port: number; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      conn.readable.pipeTo(conn.writable).catch(() => {}).finally(() => conns.delete(conn));
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
    },
  };
}

async function readExactly(conn: Deno.Conn, size: number): Promise<Uint8Array | null> {
  const out = new Uint8Array(size);
  let filled = 0;
  while (filled < size) {
    const n = await conn.read(out.subarray(filled));
    if (n === null) return null;
    filled += n;
  }
  return out;
}

/** Resolves once `condition` holds, polling the proxy's counters (no event exists for them). */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test("tcp proxy: forwards, cuts, refuses while cut, heals", async () => {
  const echo = startEcho();
  const proxy = startTcpProxy({ hostname: "127.0.0.1", port: echo.port });
  try {
    const a = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
    await a.write(new TextEncoder().encode("ping"));
    assertEquals(new TextDecoder().decode((await readExactly(a, 4))!), "ping");
    assertEquals(proxy.connectionsOpen, 1);

    proxy.cut();
    assertEquals(await readExactly(a, 1).catch(() => null), null, "a cut connection ends");
    a.close();
    const b = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
    assertEquals(await readExactly(b, 1).catch(() => null), null, "a new connection is closed");
    b.close();

    proxy.heal();
    const c = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
    await c.write(new TextEncoder().encode("back"));
    assertEquals(new TextDecoder().decode((await readExactly(c, 4))!), "back");
    c.close();
    assertEquals(proxy.connectionsAccepted, 3);
  } finally {
    await proxy.close();
    echo.close();
  }
});

Deno.test("tcp proxy: a blackhole holds bytes until healed", async () => {
  const echo = startEcho();
  const proxy = startTcpProxy({ hostname: "127.0.0.1", port: echo.port });
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
    await conn.write(new Uint8Array([1]));
    assertEquals(await readExactly(conn, 1), new Uint8Array([1]));
    const forwarded = proxy.bytesForwarded;

    proxy.blackhole();
    await conn.write(new Uint8Array([2, 3]));
    await until(() => proxy.bytesReceived === forwarded + 2, "the proxy to read the bytes");
    assertEquals(proxy.bytesForwarded, forwarded, "nothing crosses a blackhole");
    assertEquals(proxy.connectionsOpen, 1, "the connection stays open");

    proxy.heal();
    assertEquals(await readExactly(conn, 2), new Uint8Array([2, 3]));
    assert(proxy.bytesForwarded >= forwarded + 4);
    conn.close();
  } finally {
    await proxy.close();
    echo.close();
  }
});
