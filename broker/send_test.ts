import { assert } from "../util/assert.ts";
import { Buffer } from "node:buffer";
import { denoLibc, denoRuntime } from "../ffi/deno.ts";
import { OpenFlags, type Socket } from "../ffi/port.ts";
import type { SendChunk } from "../protocol/send_plan.ts";
import {
  createSender,
  FileSliceTruncatedError,
  newSendCounters,
  type SendCounters,
  type SenderOptions,
} from "./send.ts";

const libc = denoLibc();
const MIB = 1024 * 1024;
const encoder = new TextEncoder();

interface Harness {
  /** The accepted (server-side) socket. */
  socket: Socket;
  /** The client end that receives what the sender writes. */
  client: Deno.TcpConn;
  fileFd: number;
  fileBytes: Uint8Array;
}

/** A temp file of random bytes, a loopback listener from the Runtime port, one connection. */
async function withConnection(
  fileSizeBytes: number,
  fn: (harness: Harness) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "denka-send-" });
  const fileBytes = new Uint8Array(fileSizeBytes);
  for (let i = 0; i < fileSizeBytes; i += 65536) {
    crypto.getRandomValues(fileBytes.subarray(i, i + 65536));
  }
  await Deno.writeFile(`${dir}/segment.log`, fileBytes);
  const fileFd = libc.open(`${dir}/segment.log`, OpenFlags.O_RDWR);
  const accepted = Promise.withResolvers<Socket>();
  const closed = Promise.withResolvers<void>();
  const listener = await denoRuntime().listen({ hostname: "127.0.0.1", port: 0 }, (socket) => {
    accepted.resolve(socket);
    return { onData: () => {}, onClose: () => closed.resolve() };
  });
  const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.port });
  try {
    const socket = await accepted.promise;
    try {
      await fn({ socket, client, fileFd, fileBytes });
    } finally {
      socket.close();
      await closed.promise;
    }
  } finally {
    try {
      client.close();
    } catch {
      // Already closed by the test.
    }
    await listener.close();
    libc.close(fileFd);
    await Deno.remove(dir, { recursive: true });
  }
}

/** Reads exactly `sizeBytes`; a slow reader pauses every 2 MiB so the sender meets EAGAIN. */
async function receive(conn: Deno.Conn, sizeBytes: number, slow = false): Promise<Uint8Array> {
  const out = new Uint8Array(sizeBytes);
  let pausedAtBytes = 0;
  for (let doneBytes = 0; doneBytes < sizeBytes;) {
    const countBytes = await conn.read(out.subarray(doneBytes, doneBytes + 64 * 1024));
    if (countBytes === null) throw new Error(`EOF after ${doneBytes} of ${sizeBytes} bytes`);
    doneBytes += countBytes;
    if (slow && doneBytes - pausedAtBytes >= 2 * MIB) {
      pausedAtBytes = doneBytes;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }
  return out;
}

function assertSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  assert.equal(actual.length, expected.length);
  assert.ok(Buffer.from(actual.buffer, actual.byteOffset, actual.length).equals(expected));
}

/** The bytes a plan should produce, computed from the file contents. */
function expectedBytes(plan: readonly SendChunk[], fileBytes: Uint8Array): Uint8Array {
  const parts = plan.map((chunk) =>
    chunk instanceof Uint8Array
      ? chunk
      : fileBytes.subarray(chunk.positionBytes, chunk.positionBytes + chunk.sizeBytes)
  );
  return new Uint8Array(Buffer.concat(parts));
}

/** Sends 64 MiB as 4 file slices behind a header, to a slow reader; verifies every byte. */
async function sendLargeFile(fetchPath: SenderOptions["fetchPath"]): Promise<SendCounters> {
  const counters = newSendCounters();
  const fileSizeBytes = 64 * MIB;
  await withConnection(fileSizeBytes, async ({ socket, client, fileFd, fileBytes }) => {
    const plan: SendChunk[] = [encoder.encode("header")];
    for (let positionBytes = 0; positionBytes < fileSizeBytes; positionBytes += 16 * MIB) {
      plan.push({ fd: fileFd, positionBytes, sizeBytes: 16 * MIB });
    }
    const sender = createSender(socket, libc, { fetchPath, counters });
    const startMs = performance.now();
    const [received] = await Promise.all([
      receive(client, fileSizeBytes + 6, true),
      sender.send(plan),
    ]);
    const elapsedMs = performance.now() - startMs;
    assertSameBytes(received, expectedBytes(plan, fileBytes));
    const mbPerS = (fileSizeBytes / 1e6 / (elapsedMs / 1000)).toFixed(0);
    console.log(
      `${fetchPath}: 64 MiB in ${elapsedMs.toFixed(0)} ms (${mbPerS} MB/s, slow reader)`,
      {
        ...counters,
      },
    );
  });
  return counters;
}

Deno.test("Sender sends 64 MiB of file slices through sendfile, poking on EAGAIN", async () => {
  const counters = await sendLargeFile("sendfile");
  assert.equal(counters.sendfileBytes, 64 * MIB);
  assert.equal(counters.copyBytes, 0);
  assert.ok(counters.wouldBlock > 0, "the slow reader made sendfile meet EAGAIN");
  assert.ok(counters.sendfileCalls > counters.wouldBlock);
});

Deno.test("Sender sends 64 MiB of file slices through the copy path", async () => {
  const counters = await sendLargeFile("copy");
  assert.equal(counters.copyBytes, 64 * MIB);
  assert.deepEqual([counters.sendfileBytes, counters.sendfileCalls], [0, 0]);
});

for (const fetchPath of ["sendfile", "copy"] as const) {
  Deno.test(`Sender (${fetchPath}) writes a mixed plan of buffers and slices in order`, () =>
    withConnection(1 * MIB, async ({ socket, client, fileFd, fileBytes }) => {
      const counters = newSendCounters();
      const plan: SendChunk[] = [
        encoder.encode("A"),
        { fd: fileFd, positionBytes: 0, sizeBytes: 1000 },
        encoder.encode("BB"),
        encoder.encode("CCC"),
        { fd: fileFd, positionBytes: 5000, sizeBytes: 300_000 },
        { fd: fileFd, positionBytes: 3, sizeBytes: 0 },
        { fd: fileFd, positionBytes: 700_000, sizeBytes: MIB - 700_000 },
        new Uint8Array(200_000).fill(7),
        encoder.encode("D"),
      ];
      const expected = expectedBytes(plan, fileBytes);
      const sender = createSender(socket, libc, { fetchPath, counters });
      const [received] = await Promise.all([receive(client, expected.length), sender.send(plan)]);
      assertSameBytes(received, expected);
      const sliceBytes = 1000 + 300_000 + MIB - 700_000;
      assert.equal(
        fetchPath === "sendfile" ? counters.sendfileBytes : counters.copyBytes,
        sliceBytes,
      );
    }));

  Deno.test(`Sender (${fetchPath}) does not interleave two sends`, () =>
    withConnection(16 * MIB, async ({ socket, client, fileFd, fileBytes }) => {
      const sender = createSender(socket, libc, { fetchPath, counters: newSendCounters() });
      const first: SendChunk[] = [
        encoder.encode("first"),
        { fd: fileFd, positionBytes: 0, sizeBytes: 16 * MIB },
      ];
      const second: SendChunk[] = [encoder.encode("second"), {
        fd: fileFd,
        positionBytes: 0,
        sizeBytes: 10,
      }];
      const expected = new Uint8Array(
        Buffer.concat([expectedBytes(first, fileBytes), expectedBytes(second, fileBytes)]),
      );
      const order: string[] = [];
      const sends = [
        sender.send(first).then(() => order.push("first")),
        sender.send(second).then(() => order.push("second")),
      ];
      const [received] = await Promise.all([receive(client, expected.length, true), ...sends]);
      assertSameBytes(received, expected);
      assert.deepEqual(order, ["first", "second"]);
    }));

  Deno.test(`Sender (${fetchPath}) rejects when the file is shorter than the slice`, () =>
    withConnection(100_000, async ({ socket, fileFd }) => {
      const sender = createSender(socket, libc, { fetchPath, counters: newSendCounters() });
      libc.ftruncate(fileFd, 50_000); // truncated under the sender
      await assert.rejects(
        sender.send([encoder.encode("h"), {
          fd: fileFd,
          positionBytes: 40_000,
          sizeBytes: 20_000,
        }]),
        FileSliceTruncatedError,
      );
    }));
}

/** Wraps a socket to count writes; `fd` can be hidden to force the copy fallback. */
function countingSocket(socket: Socket, hideFd = false): Socket & { writes: number } {
  const counting = {
    writes: 0,
    fd: hideFd ? undefined : socket.fd,
    remoteAddress: socket.remoteAddress,
    write(bytes: Uint8Array) {
      counting.writes++;
      return socket.write(bytes);
    },
    close: () => socket.close(),
    pause: () => socket.pause(),
    resume: () => socket.resume(),
  };
  return counting;
}

Deno.test("Sender writes a plan without file slices in one socket.write", () =>
  withConnection(0, async ({ socket, client }) => {
    const counted = countingSocket(socket);
    const sender = createSender(counted, libc, {
      fetchPath: "sendfile",
      counters: newSendCounters(),
    });
    const plan = Array.from({ length: 100 }, (_, i) => encoder.encode(`part-${i};`));
    plan.push(new Uint8Array(300_000).fill(1)); // grows the pool instead of a second write
    const expected = expectedBytes(plan, new Uint8Array(0));
    const [received] = await Promise.all([receive(client, expected.length), sender.send(plan)]);
    assertSameBytes(received, expected);
    assert.equal(counted.writes, 1);
  }));

Deno.test("Sender falls back to copying when the socket has no fd", () =>
  withConnection(1 * MIB, async ({ socket, client, fileFd, fileBytes }) => {
    const counters = newSendCounters();
    const sender = createSender(countingSocket(socket, true), libc, {
      fetchPath: "sendfile",
      counters,
    });
    const plan: SendChunk[] = [{ fd: fileFd, positionBytes: 10, sizeBytes: 5000 }];
    const [received] = await Promise.all([receive(client, 5000), sender.send(plan)]);
    assertSameBytes(received, fileBytes.subarray(10, 5010));
    assert.deepEqual([counters.copyBytes, counters.sendfileCalls], [5000, 0]);
  }));

Deno.test("Sender rejects when the peer goes away mid-send", () =>
  withConnection(32 * MIB, async ({ socket, client, fileFd }) => {
    const sender = createSender(socket, libc, {
      fetchPath: "sendfile",
      counters: newSendCounters(),
    });
    const sending = sender.send([{ fd: fileFd, positionBytes: 0, sizeBytes: 32 * MIB }]);
    await client.read(new Uint8Array(1024));
    client.close(); // unread bytes in the receive queue: the kernel resets the connection
    await assert.rejects(sending);
  }));
