import { assert } from "../util/assert.ts";
import { hostLibcSubject, libcConformance } from "./_libc_conformance.ts";
import { denoConnFd, denoLibc, denoRuntime } from "./deno.ts";
import { loadLibc, loadRuntime } from "./load.ts";
import { OpenFlags, SENDFILE_WOULD_BLOCK, type Socket } from "./port.ts";

const libc = denoLibc();
const { O_RDONLY } = OpenFlags;

libcConformance(
  { name: "deno", newSubject: () => hostLibcSubject(libc, denoRuntime()) },
  Deno.test,
);

async function withTempDir(fn: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "denka-ffi-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function pattern(sizeBytes: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(sizeBytes);
  for (let i = 0; i < sizeBytes; i++) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
}

Deno.test("loadLibc() and loadRuntime() pick the Deno binding", () => {
  assert.equal(loadLibc().kind, "deno");
  assert.equal(loadRuntime().name, "deno");
});

Deno.test("an accepted Deno conn exposes its OS fd, and sendfile to it works", () =>
  withTempDir(async (dir) => {
    const file = pattern(100_000, 11);
    const path = `${dir}/seg.log`;
    await Deno.writeFile(path, file);
    const fileFd = libc.open(path, O_RDONLY);
    const accepted = Promise.withResolvers<Socket>();
    const closed = Promise.withResolvers<void>();
    const listener = await denoRuntime().listen({ hostname: "127.0.0.1", port: 0 }, (socket) => {
      accepted.resolve(socket);
      return { onData: () => {}, onClose: () => closed.resolve() };
    });
    const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.port });
    assert.equal(denoConnFd(client), undefined, "Deno.connect() conns carry no fd");
    try {
      const socket = await accepted.promise;
      assert.equal(typeof socket.fd, "number");
      const sentBytes = libc.sendfile(socket.fd!, fileFd, 1000, 5000);
      assert.ok(sentBytes > 0 && sentBytes !== SENDFILE_WOULD_BLOCK);
      const received = await readExactly(client, sentBytes);
      assert.deepEqual(received, file.subarray(1000, 1000 + sentBytes));
      socket.close();
      await closed.promise;
    } finally {
      client.close();
      await listener.close();
      libc.close(fileFd);
    }
  }));

Deno.test("denoRuntime() delivers data, writes in order, and calls onClose once", async () => {
  const chunks: number[] = [];
  let closeCount = 0;
  const closed = Promise.withResolvers<void>();
  const listener = await denoRuntime().listen({ hostname: "127.0.0.1", port: 0 }, (socket) => ({
    onData(chunk) {
      chunks.push(...chunk);
      // Echo in two writes issued without waiting: they must not interleave.
      socket.write(new Uint8Array(chunk)).catch(() => {});
      socket.write(new Uint8Array([0xff])).catch(() => {});
    },
    onClose() {
      closeCount++;
      closed.resolve();
    },
  }));
  const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.port });
  try {
    await client.write(new Uint8Array([1, 2, 3]));
    assert.deepEqual(await readExactly(client, 4), new Uint8Array([1, 2, 3, 0xff]));
    client.close();
    await closed.promise;
    assert.deepEqual(chunks, [1, 2, 3]);
    assert.equal(closeCount, 1);
  } finally {
    await listener.close();
  }
});

async function readExactly(conn: Deno.Conn, sizeBytes: number): Promise<Uint8Array> {
  const out = new Uint8Array(sizeBytes);
  for (let doneBytes = 0; doneBytes < sizeBytes;) {
    const countBytes = await conn.read(out.subarray(doneBytes));
    if (countBytes === null) throw new Error(`EOF after ${doneBytes} of ${sizeBytes} bytes`);
    doneBytes += countBytes;
  }
  return out;
}
