import { assert, assertEquals, assertRejects } from "../util/assert.ts";
import { makeTestCertificates } from "../tests/interop/tls_certs.ts";
import { denoRuntime } from "./deno.ts";
import type { Socket, TlsServerOptions } from "./port.ts";

const certs = await makeTestCertificates();
const tls: TlsServerOptions = {
  certPem: await Deno.readTextFile(certs.certFile),
  keyPem: await Deno.readTextFile(certs.keyFile),
  caPem: undefined,
  clientAuth: "none",
};
const caPem = await Deno.readTextFile(certs.caFile);

/** TCP_NODELAY of the server side of the connection accepted on `port` (found through /proc). */
function acceptedNoDelay(port: number): number[] {
  const { symbols } = Deno.dlopen("libc.so.6", {
    getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  });
  const established = new Set<string>();
  for (const row of Deno.readTextFileSync("/proc/self/net/tcp").split("\n").slice(1)) {
    const cols = row.trim().split(/\s+/);
    if (cols[3] === "01" && parseInt(cols[1]?.split(":")[1] ?? "", 16) === port) {
      established.add(cols[9]);
    }
  }
  const values: number[] = [];
  for (const entry of Deno.readDirSync("/proc/self/fd")) {
    const link = (() => {
      try {
        return Deno.readLinkSync(`/proc/self/fd/${entry.name}`);
      } catch {
        return "";
      }
    })();
    const m = /^socket:\[(\d+)\]$/.exec(link);
    if (m === null || !established.has(m[1])) continue;
    const value = new Int32Array(1);
    const length = new Uint32Array([4]);
    const IPPROTO_TCP = 6, TCP_NODELAY = 1;
    symbols.getsockopt(
      Number(entry.name),
      IPPROTO_TCP,
      TCP_NODELAY,
      new Uint8Array(value.buffer),
      new Uint8Array(length.buffer),
    );
    values.push(value[0]);
  }
  return values;
}

Deno.test("denoRuntime().listen() over TLS: no fd (no sendfile), data both ways, TCP_NODELAY", async () => {
  const accepted = Promise.withResolvers<Socket>();
  const listener = await denoRuntime().listen({ hostname: "127.0.0.1", port: 0, tls }, (socket) => {
    accepted.resolve(socket);
    return {
      onData: (chunk) => void socket.write(chunk.slice()),
      onClose() {},
    };
  });
  const conn = await Deno.connectTls({
    hostname: "127.0.0.1",
    port: listener.port,
    caCerts: [caPem],
  });
  try {
    await conn.write(new TextEncoder().encode("ping"));
    const socket = await accepted.promise;
    assertEquals(socket.fd, undefined);
    assertEquals(socket.peerCertificate, undefined);
    const buffer = new Uint8Array(4);
    let filled = 0;
    while (filled < 4) filled += (await conn.read(buffer.subarray(filled)))!;
    assertEquals(new TextDecoder().decode(buffer), "ping");
    assertEquals(acceptedNoDelay(listener.port), [1]);
  } finally {
    conn.close();
    await listener.close();
  }
});

Deno.test("denoRuntime().listen() refuses TLS client authentication", async () => {
  assert(denoRuntime().tlsClientAuthUnsupported?.includes("Deno.listenTls"));
  await assertRejects(
    async () =>
      await denoRuntime().listen(
        { hostname: "127.0.0.1", port: 0, tls: { ...tls, caPem, clientAuth: "required" } },
        () => ({ onData() {}, onClose() {} }),
      ),
    (e: Error) => e.message.includes("cannot ask clients for certificates"),
  );
});

Deno.test("Listener.reloadTls() keeps the port and, refused, the old certificate", async () => {
  const listener = await denoRuntime().listen(
    { hostname: "127.0.0.1", port: 0, tls },
    (socket) => ({ onData: (chunk) => void socket.write(chunk.slice()), onClose() {} }),
  );
  try {
    await assertRejects(() => listener.reloadTls!({ ...tls, keyPem: "not a key" }));
    await listener.reloadTls!(tls);
    const conn = await Deno.connectTls({
      hostname: "127.0.0.1",
      port: listener.port,
      caCerts: [caPem],
    });
    try {
      await conn.write(new Uint8Array([7]));
      const one = new Uint8Array(1);
      assert((await conn.read(one)) === 1 && one[0] === 7);
    } finally {
      conn.close();
    }
  } finally {
    await listener.close();
  }
});

Deno.test({
  name: "deno_listener test certificates are removed",
  fn: () => Deno.remove(certs.dir, { recursive: true }),
});
