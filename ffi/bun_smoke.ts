/**
 * Bun smoke test for the Bun binding, run by CI as `bun ffi/bun_smoke.ts`:
 * bunLibc (files, mmap, errno), bunRuntime (listen, data, write, close) and
 * the broker's sender (64 MiB through sendfile with EAGAIN + poke, and through
 * the copy path, every byte verified). Prints `bun smoke: ok`, or exits 1.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import process from "node:process";
import { createSender, newSendCounters, type SenderOptions } from "../broker/send.ts";
import type { SendChunk } from "../protocol/send_plan.ts";
import { bunLibc, bunRuntime } from "./bun.ts";
import { gzipSync, zstdCompressSync } from "node:zlib";
import { loadLibc, loadNativeCompressors, loadNativeDecoders, loadRuntime } from "./load.ts";
import { Codec, inflateJs, type NativeDecoder } from "../protocol/decompress.ts";
import { Errno, IoError, Madvice, MsyncFlags, OpenFlags, type Socket } from "./port.ts";

const MIB = 1024 * 1024;
const libc = bunLibc();

function checkLibc(dir: string): void {
  assert.equal(loadLibc().kind, "bun");
  assert.equal(loadRuntime().name, "bun");
  const path = `${dir}/a.log`;
  const fd = libc.open(path, OpenFlags.O_RDWR | OpenFlags.O_CREAT);
  const bytes = new Uint8Array(10_000).map((_, i) => i * 7);
  assert.equal(libc.pwrite(fd, bytes, 4096), bytes.length);
  libc.fdatasync(fd);
  assert.equal(libc.fileSize(fd), 14_096);
  const read = new Uint8Array(bytes.length);
  assert.equal(libc.pread(fd, read.subarray(0), 4096), bytes.length);
  assert.deepEqual(read, bytes);
  const mapping = libc.mmap(fd, 16_384, true);
  libc.madvise(mapping, 0, 16_384, Madvice.MADV_SEQUENTIAL);
  assert.deepEqual(mapping.bytes.subarray(4096, 4106), bytes.subarray(0, 10));
  mapping.bytes.set([9, 9, 9], 5);
  libc.msync(mapping, 5, 3, MsyncFlags.MS_SYNC);
  const check = new Uint8Array(3);
  libc.pread(fd, check, 5);
  assert.deepEqual(check, new Uint8Array([9, 9, 9]));
  libc.munmap(mapping);
  assert.equal(mapping.bytes.length, 0);
  libc.fallocate(fd, 0, MIB);
  assert.equal(libc.fileSize(fd), MIB);
  libc.ftruncate(fd, 10);
  assert.equal(libc.fileSize(fd), 10);
  libc.close(fd);
  try {
    libc.open(`${dir}/missing`, OpenFlags.O_RDONLY);
    assert.fail("open of a missing file succeeded");
  } catch (error) {
    assert.ok(error instanceof IoError);
    assert.deepEqual([error.errno, error.path], [Errno.ENOENT, `${dir}/missing`]);
  }
  libc.writeFileAtomic(`${dir}/meta`, new Uint8Array([1, 2]));
  assert.deepEqual(libc.readFile(`${dir}/meta`), new Uint8Array([1, 2]));
}

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

/** fdatasyncAsync runs on Bun's thread pool (node:fs) on a dup: the fd may close first. */
async function checkFdatasyncAsync(dir: string): Promise<void> {
  const fd = libc.open(`${dir}/async.log`, OpenFlags.O_RDWR | OpenFlags.O_CREAT);
  const bytes = new Uint8Array(4096).map((_, i) => i * 3);
  assert.equal(libc.pwrite(fd, bytes, 0), bytes.length);
  const flushed = libc.fdatasyncAsync(fd);
  libc.close(fd);
  await flushed;
  await assert.rejects(
    libc.fdatasyncAsync(fd),
    (e: unknown) => e instanceof IoError && e.errno === Errno.EBADF,
  );
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(`${os.tmpdir()}/denka-bun-smoke-`);
  try {
    checkLibc(dir);
    checkCodecs();
    await checkFdatasyncAsync(dir);
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

/** The FFI codec bindings: every library opened, output as the JS decoders', errors as results. */
function checkCodecs(): void {
  const d = loadNativeDecoders();
  const c = loadNativeCompressors();
  const data = new TextEncoder().encode("bun codec smoke ".repeat(20_000));
  const cases: [number, NativeDecoder | undefined, Uint8Array][] = [
    [Codec.GZIP, d.gzip, new Uint8Array(gzipSync(data))],
    [Codec.ZSTD, d.zstd, new Uint8Array(zstdCompressSync(data))],
    [Codec.LZ4, d.lz4, c.lz4!(data)],
    [Codec.SNAPPY, d.snappyBlock, c.snappy!(data)],
  ];
  for (const [codec, native, packed] of cases) {
    assert.ok(native !== undefined, `no native decoder for codec ${codec}`);
    const out = native(packed, data.length);
    assert.ok(out.ok, `codec ${codec}: ${out.ok ? "" : out.message}`);
    assert.deepEqual(out.bytes, data);
    const js = inflateJs(codec, packed, data.length);
    assert.ok(js.ok && Buffer.compare(js.bytes, out.bytes) === 0, `codec ${codec}: JS differs`);
    const capped = native(packed, data.length - 1);
    assert.ok(!capped.ok && capped.tooLarge, `codec ${codec}: the bound did not hold`);
    for (const bad of [packed.subarray(0, packed.length >> 1), new Uint8Array(0)]) {
      const result = native(bad, data.length);
      assert.ok(!result.ok && !result.tooLarge, `codec ${codec}: bad input not refused`);
    }
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
