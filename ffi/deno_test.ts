import assert from "node:assert/strict";
import { denoConnFd, denoLibc, denoRuntime } from "./deno.ts";
import { loadLibc, loadRuntime } from "./load.ts";
import {
  Errno,
  IoError,
  Madvice,
  MsyncFlags,
  OpenFlags,
  SENDFILE_WOULD_BLOCK,
  type Socket,
} from "./port.ts";

const libc = denoLibc();
const { O_RDWR, O_CREAT, O_RDONLY } = OpenFlags;

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

Deno.test("denoLibc() pwrite/pread/fdatasync/ftruncate/fallocate/fileSize round-trip", () =>
  withTempDir((dir) => {
    const fd = libc.open(`${dir}/a.log`, O_RDWR | O_CREAT);
    try {
      assert.equal(libc.fileSize(fd), 0);
      const written = pattern(10_000, 7);
      assert.equal(libc.pwrite(fd, written, 100), written.length);
      libc.fdatasync(fd);
      assert.equal(libc.fileSize(fd), 10_100);
      const read = new Uint8Array(written.length);
      assert.equal(libc.pread(fd, read, 100), written.length);
      assert.deepEqual(read, written);
      // A subarray reads into its own window of the buffer.
      const window = new Uint8Array(16);
      assert.equal(libc.pread(fd, window.subarray(8), 100), 8);
      assert.deepEqual(window.subarray(8), written.subarray(0, 8));
      assert.deepEqual(window.subarray(0, 8), new Uint8Array(8));
      assert.equal(libc.pread(fd, read, 1_000_000), 0, "pread at EOF returns 0");
      libc.fallocate(fd, 0, 1 << 20);
      assert.equal(libc.fileSize(fd), 1 << 20);
      libc.ftruncate(fd, 50);
      assert.equal(libc.fileSize(fd), 50);
    } finally {
      libc.close(fd);
    }
  }));

Deno.test("denoLibc() mmap writes reach the file; munmap detaches the view", () =>
  withTempDir((dir) => {
    const fd = libc.open(`${dir}/index`, O_RDWR | O_CREAT);
    try {
      const sizeBytes = 64 * 1024;
      libc.ftruncate(fd, sizeBytes);
      const mapping = libc.mmap(fd, sizeBytes, true);
      assert.equal(mapping.lengthBytes, sizeBytes);
      assert.equal(mapping.bytes.length, sizeBytes);
      libc.madvise(mapping, 0, sizeBytes, Madvice.MADV_SEQUENTIAL);
      const record = pattern(1000, 3);
      mapping.bytes.set(record, 5000);
      libc.msync(mapping, 5000, record.length, MsyncFlags.MS_SYNC); // unaligned: rounded to pages
      const read = new Uint8Array(record.length);
      libc.pread(fd, read, 5000);
      assert.deepEqual(read, record);
      // A second, read-only mapping at a page-aligned offset sees the same bytes.
      const tail = libc.mmap(fd, 4096, false, 4096);
      assert.deepEqual(tail.bytes.subarray(5000 - 4096, 5000 - 4096 + 8), record.subarray(0, 8));
      libc.munmap(tail);
      const view = mapping.bytes.subarray(10);
      libc.munmap(mapping);
      assert.equal(mapping.bytes.length, 0, "bytes detached");
      assert.equal(view.length, 0, "every view detached");
      assert.throws(() => libc.munmap(mapping), TypeError);
      assert.throws(() => libc.msync(mapping, 0, 1, MsyncFlags.MS_SYNC), TypeError);
    } finally {
      libc.close(fd);
    }
  }));

Deno.test("denoLibc() errors carry syscall, errno and path", () =>
  withTempDir((dir) => {
    const missing = `${dir}/missing.log`;
    try {
      libc.open(missing, O_RDONLY);
      assert.fail("open of a missing file succeeded");
    } catch (error) {
      assert.ok(error instanceof IoError);
      assert.equal(error.syscall, "open");
      assert.equal(error.errno, Errno.ENOENT);
      assert.equal(error.path, missing);
      assert.match(error.message, /ENOENT/);
    }
    const fd = libc.open(`${dir}/ro`, O_RDWR | O_CREAT);
    libc.close(fd);
    const readOnlyFd = libc.open(`${dir}/ro`, O_RDONLY);
    try {
      const error = catchIoError(() => libc.pwrite(readOnlyFd, new Uint8Array(1), 0));
      assert.deepEqual([error.syscall, error.errno, error.path], [
        "pwrite",
        Errno.EBADF,
        `${dir}/ro`,
      ]);
      const mmapError = catchIoError(() => libc.mmap(readOnlyFd, 4096, false, 1));
      assert.equal(mmapError.errno, Errno.EINVAL);
    } finally {
      libc.close(readOnlyFd);
    }
    assert.equal(catchIoError(() => libc.close(readOnlyFd)).errno, Errno.EBADF);
    assert.equal(catchIoError(() => libc.readFile(missing)).errno, Errno.ENOENT);
    assert.equal(catchIoError(() => libc.unlink(missing)).errno, Errno.ENOENT);
    assert.equal(catchIoError(() => libc.readdir(missing)).errno, Errno.ENOENT);
  }));

function catchIoError(fn: () => unknown): IoError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof IoError, `expected IoError, got ${error}`);
    return error;
  }
  assert.fail("expected an IoError");
}

Deno.test("denoLibc() directory operations and writeFileAtomic", () =>
  withTempDir((dir) => {
    libc.mkdirp(`${dir}/topic-0/sub`);
    libc.mkdirp(`${dir}/topic-0/sub`); // idempotent
    libc.writeFileAtomic(`${dir}/topic-0/meta`, new TextEncoder().encode("v1"));
    libc.writeFileAtomic(`${dir}/topic-0/meta`, new TextEncoder().encode("v2"));
    assert.equal(new TextDecoder().decode(libc.readFile(`${dir}/topic-0/meta`)), "v2");
    assert.deepEqual(libc.readdir(`${dir}/topic-0`), [
      { name: "meta", isDirectory: false },
      { name: "sub", isDirectory: true },
    ]);
    libc.rename(`${dir}/topic-0/meta`, `${dir}/topic-0/meta2`);
    assert.ok(libc.exists(`${dir}/topic-0/meta2`));
    assert.ok(!libc.exists(`${dir}/topic-0/meta`));
    libc.unlink(`${dir}/topic-0/meta2`);
    libc.removeTree(`${dir}/topic-0`);
    libc.removeTree(`${dir}/topic-0`); // a missing path is not an error
    assert.ok(!libc.exists(`${dir}/topic-0`));
  }));

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

Deno.test("denoLibc().fdatasyncAsync() runs off the JS thread on a dup: the fd may close first", () =>
  withTempDir(async (dir) => {
    const fd = libc.open(`${dir}/async.log`, O_RDWR | O_CREAT);
    const written = pattern(4096, 3);
    assert.equal(libc.pwrite(fd, written, 0), written.length);
    const flushed = libc.fdatasyncAsync(fd);
    libc.close(fd); // the sync holds its own duplicate
    await flushed;
    assert.deepEqual(await Deno.readFile(`${dir}/async.log`), written);
    await assert.rejects(
      libc.fdatasyncAsync(fd),
      (e) => e instanceof IoError && e.syscall === "dup" && e.errno === Errno.EBADF,
    );
  }));
