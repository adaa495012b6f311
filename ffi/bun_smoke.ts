/**
 * Bun smoke test for the Bun binding, run by CI as `bun ffi/bun_smoke.ts`:
 * bunRuntime (listen, data, write, close) and the broker's sender (64 MiB
 * through sendfile with EAGAIN + poke, and through the copy path, every byte
 * verified). Prints `bun smoke: ok`, or exits 1. The libc itself passes the
 * libc conformance suite under `bun test` (`tests/bun/`).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import process from "node:process";
import { createSender, newSendCounters, type SenderOptions } from "../broker/send.ts";
import type { SendChunk } from "../protocol/send_plan.ts";
import { assert } from "../util/assert.ts";
import { bunLibc, bunRuntime } from "./bun.ts";
import { OpenFlags, type Socket } from "./port.ts";

const MIB = 1024 * 1024;
const libc = bunLibc();

/** Receives `sizeBytes` from `port` with node:net, pausing now and then (a slow reader). */
function receive(port: number, sizeBytes: number): { done: Promise<Uint8Array>; close(): void } {
  const out = new Uint8Array(sizeBytes);
  let doneBytes = 0;
  const result = Promise.withResolvers<Uint8Array>();
  const client = net.connect({ host: "127.0.0.1", port });
  client.on("data", (chunk: Uint8Array) => {
    out.set(chunk.subarray(0, Math.min(chunk.length, sizeBytes - doneBytes)), doneBytes);
    doneBytes += chunk.length;
    if (doneBytes >= sizeBytes) result.resolve(out);
    else if (Math.random() < 0.01) {
      client.pause();
      setTimeout(() => client.resume(), 2);
    }
  });
  client.on("error", (error) => result.reject(error));
  client.on("close", () => result.reject(new Error(`closed after ${doneBytes} bytes`)));
  return { done: result.promise, close: () => client.destroy() };
}

async function checkSend(
  fileFd: number,
  fileBytes: Uint8Array,
  fetchPath: SenderOptions["fetchPath"],
) {
  const accepted = Promise.withResolvers<Socket>();
  const closed = Promise.withResolvers<void>();
  const listener = await bunRuntime().listen({ hostname: "127.0.0.1", port: 0 }, (socket) => {
    accepted.resolve(socket);
    return { onData: () => {}, onClose: () => closed.resolve() };
  });
  const header = new TextEncoder().encode("header");
  const plan: SendChunk[] = [header];
  for (let positionBytes = 0; positionBytes < fileBytes.length; positionBytes += 16 * MIB) {
    plan.push({ fd: fileFd, positionBytes, sizeBytes: 16 * MIB });
  }
  const receiver = receive(listener.port, header.length + fileBytes.length);
  const socket = await accepted.promise;
  assert.equal(typeof socket.fd, "number");
  const counters = newSendCounters();
  const sender = createSender(socket, libc, { fetchPath, counters });
  const startMs = performance.now();
  const [received] = await Promise.all([receiver.done, sender.send(plan)]);
  const elapsedMs = performance.now() - startMs;
  assert.ok(Buffer.from(received).equals(Buffer.concat([header, fileBytes])), "bytes differ");
  if (fetchPath === "sendfile") {
    assert.equal(counters.sendfileBytes, fileBytes.length);
    assert.ok(counters.wouldBlock > 0, "expected EAGAIN + poke");
  } else {
    assert.equal(counters.copyBytes, fileBytes.length);
  }
  const mbPerS = (fileBytes.length / 1e6 / (elapsedMs / 1000)).toFixed(0);
  console.log(`bun ${fetchPath}: ${elapsedMs.toFixed(0)} ms (${mbPerS} MB/s)`, counters);
  socket.close();
  await closed.promise;
  receiver.close();
  await listener.close();
}

/** onData, two unawaited writes in order, and onClose once when the peer closes. */
async function checkRuntime(): Promise<void> {
  const received: number[] = [];
  let closeCount = 0;
  const closed = Promise.withResolvers<void>();
  const listener = await bunRuntime().listen({ hostname: "127.0.0.1", port: 0 }, (socket) => ({
    onData(chunk) {
      received.push(...chunk);
      socket.write(new Uint8Array(chunk)).catch(() => {});
      socket.write(new Uint8Array([0xff])).catch(() => {});
    },
    onClose() {
      closeCount++;
      closed.resolve();
    },
  }));
  const echoed = Promise.withResolvers<number[]>();
  const echo: number[] = [];
  const client = net.connect({ host: "127.0.0.1", port: listener.port }, () => {
    client.write(new Uint8Array([1, 2, 3]));
  });
  client.on("data", (chunk: Uint8Array) => {
    echo.push(...chunk);
    if (echo.length >= 4) echoed.resolve(echo);
  });
  assert.deepEqual(await echoed.promise, [1, 2, 3, 0xff]);
  client.destroy();
  await closed.promise;
  assert.deepEqual([received, closeCount], [[1, 2, 3], 1]);
  await listener.close();
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(`${os.tmpdir()}/denka-bun-smoke-`);
  try {
    await checkRuntime();
    const fileBytes = new Uint8Array(64 * MIB);
    for (let i = 0; i < fileBytes.length; i += 65536) {
      crypto.getRandomValues(fileBytes.subarray(i, i + 65536));
    }
    fs.writeFileSync(`${dir}/segment.log`, fileBytes);
    const fileFd = libc.open(`${dir}/segment.log`, OpenFlags.O_RDONLY);
    try {
      await checkSend(fileFd, fileBytes, "sendfile");
      await checkSend(fileFd, fileBytes, "copy");
    } finally {
      libc.close(fileFd);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

try {
  await main();
  console.log("bun smoke: ok");
  process.exit(0);
} catch (error) {
  console.error("bun smoke: FAILED", error);
  process.exit(1);
}
