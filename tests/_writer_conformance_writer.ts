/**
 * The segment-writer conformance cases on the writer alone (append, flush,
 * truncate, short writes, ENOSPC, EIO, flushAsync), and the helpers the
 * partition-log cases share. See `tests/_writer_conformance.ts`.
 *
 * @module
 */

import type { WriterCase, WriterEnv } from "./_writer_conformance.ts";
import { Errno, IoError, type Libc, OpenFlags } from "../ffi/port.ts";
import { joinPath } from "../storage/log_files.ts";
import {
  createSegmentWriter,
  type SegmentWriter,
  type WriterKind,
} from "../storage/segment_writer.ts";
import { assert } from "../util/assert.ts";
import { concatBytes } from "../util/bytes.ts";

/** The mmap writer's chunk in these cases: small, so appends cross chunks. */
export const CHUNK_BYTES = 64 * 1024;
/** Read-write, created when missing. */
export const RW = OpenFlags.O_RDWR | OpenFlags.O_CREAT;

/** A reproducible byte pattern. */
export function bytesOf(lengthBytes: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(lengthBytes);
  for (let i = 0; i < lengthBytes; i++) bytes[i] = (i * 31 + seed * 7 + 1) & 0xff;
  return bytes;
}

/** The whole file at `path`. */
export function readFile(libc: Libc, path: string): Uint8Array {
  const fd = libc.open(path, OpenFlags.O_RDONLY);
  try {
    const bytes = new Uint8Array(libc.fileSize(fd));
    for (let done = 0; done < bytes.length;) done += libc.pread(fd, bytes.subarray(done), done);
    return bytes;
  } finally {
    libc.close(fd);
  }
}

/** Opens a writer over `name`, runs `body`, closes writer and fd. */
export function withWriter(
  env: WriterEnv,
  kind: WriterKind,
  name: string,
  sizeBytes: number,
  body: (w: SegmentWriter, fd: number) => void,
) {
  const path = joinPath(env.dir, name);
  const fd = env.libc.open(path, RW, 0o644);
  const writer = createSegmentWriter(kind, env.libc, {
    fd,
    path,
    sizeBytes,
    mmapChunkBytes: CHUNK_BYTES,
  });
  try {
    body(writer, fd);
  } finally {
    writer.close();
    env.libc.close(fd);
  }
}

/** The cases of this module, in order. */
export const WRITER_CASES: WriterCase[] = [];
const test = (
  name: string,
  run: (env: WriterEnv, kind: WriterKind) => void | Promise<void>,
  memoryOnly = false,
) => WRITER_CASES.push({ name, run, memoryOnly });

// ---------------------------------------------------------------------------------------------
// The writer alone.

test("appends, flushes, closes at the real size, reopens and reads back", (env, kind) => {
  const a = bytesOf(1000, 1);
  const b = bytesOf(CHUNK_BYTES + 123, 2); // crosses an mmap chunk
  const c = bytesOf(7, 3);
  withWriter(env, kind, "w.log", 0, (w) => {
    w.append(a);
    w.append(b);
    assert.equal(w.sizeBytes, a.length + b.length);
    w.flush();
  });
  assert.deepEqual(readFile(env.libc, joinPath(env.dir, "w.log")), concatBytes([a, b]));
  withWriter(env, kind, "w.log", a.length + b.length, (w) => {
    w.append(c);
    w.flush();
  });
  assert.deepEqual(readFile(env.libc, joinPath(env.dir, "w.log")), concatBytes([a, b, c]));
});

test("truncateTo drops the tail and appends continue there", (env, kind) => {
  const a = bytesOf(5000, 4);
  const c = bytesOf(300, 5);
  withWriter(env, kind, "t.log", 0, (w, fd) => {
    w.append(a);
    w.append(bytesOf(900, 6));
    w.truncateTo(a.length);
    assert.equal(w.sizeBytes, a.length);
    const tail = new Uint8Array(900);
    const n = env.libc.pread(fd, tail, a.length);
    assert.ok(tail.subarray(0, n).every((x) => x === 0), "truncated bytes must not stay readable");
    w.append(c);
  });
  assert.deepEqual(readFile(env.libc, joinPath(env.dir, "t.log")), concatBytes([a, c]));
});

test("opening with a shorter valid size cuts the stale tail", (env, kind) => {
  withWriter(env, kind, "s.log", 0, (w) => w.append(bytesOf(100, 7)));
  withWriter(env, kind, "s.log", 60, (w) => assert.equal(w.sizeBytes, 60));
  assert.deepEqual(readFile(env.libc, joinPath(env.dir, "s.log")), bytesOf(100, 7).subarray(0, 60));
});

test("short writes are retried until the whole append lands", (env, kind) => {
  env.memory!.addFault({ syscall: "pwrite", shortWrite: true, times: 20 });
  const a = bytesOf(10_000, 8);
  withWriter(env, kind, "short.log", 0, (w) => {
    w.append(a);
    w.append(a);
  });
  assert.deepEqual(readFile(env.libc, joinPath(env.dir, "short.log")), concatBytes([a, a]));
}, true);

test(
  "ENOSPC mid-append leaves the size unchanged, nothing partial, and a retry works",
  (env, kind) => {
    const memory = env.memory!;
    const a = bytesOf(CHUNK_BYTES - 100, 9); // the next append needs a second mmap chunk
    const b = bytesOf(5000, 10);
    withWriter(env, kind, "full.log", 0, (w, fd) => {
      w.append(a);
      memory.addFault({ syscall: "pwrite", shortWrite: true, times: 1 });
      memory.addFault({ syscall: "pwrite", errno: Errno.ENOSPC, times: 2 });
      memory.addFault({ syscall: "fallocate", errno: Errno.ENOSPC, times: 2 });
      for (let attempt = 0; attempt < 2; attempt++) {
        assert.throws(() => w.append(b), (e) => e instanceof IoError && e.errno === Errno.ENOSPC);
        assert.equal(w.sizeBytes, a.length);
        const after = new Uint8Array(b.length);
        const n = env.libc.pread(fd, after, a.length);
        assert.ok(after.subarray(0, n).every((x) => x === 0), "no partial bytes past sizeBytes");
      }
      memory.clearFaults(); // space came back
      w.append(b);
      assert.equal(w.sizeBytes, a.length + b.length);
    });
    assert.deepEqual(readFile(env.libc, joinPath(env.dir, "full.log")), concatBytes([a, b]));
  },
  true,
);

test("EIO on flush throws and poisons the writer", (env, kind) => {
  const memory = env.memory!;
  withWriter(env, kind, "eio.log", 0, (w) => {
    w.append(bytesOf(100, 11));
    memory.addFault({ syscall: "fdatasync", errno: Errno.EIO, times: 1 });
    memory.addFault({ syscall: "msync", errno: Errno.EIO, times: 1 });
    assert.throws(() => w.flush(), (e) => e instanceof IoError && e.errno === Errno.EIO);
    memory.clearFaults();
    assert.throws(() => w.flush(), IoError);
    assert.throws(() => w.append(bytesOf(1, 1)), IoError);
  });
}, true);

/** A writer over a fresh file, without the close bookkeeping of {@linkcode withWriter}. */
function openWriter(
  env: WriterEnv,
  kind: WriterKind,
  name: string,
): { w: SegmentWriter; fd: number } {
  const path = joinPath(env.dir, name);
  const fd = env.libc.open(path, RW, 0o644);
  return {
    w: createSegmentWriter(kind, env.libc, { fd, path, sizeBytes: 0, mmapChunkBytes: CHUNK_BYTES }),
    fd,
  };
}

test("flushAsync makes what came before it durable while appends go on", async (env, kind) => {
  const memory = env.memory!;
  const a = bytesOf(CHUNK_BYTES + 500, 12);
  const b = bytesOf(3000, 13);
  const { w } = openWriter(env, kind, "async.log");
  w.append(b);
  await w.flushAsync();
  w.append(a);
  const second = w.flushAsync();
  const c = bytesOf(700, 14);
  w.append(c); // during the flush: not covered by it
  await second;
  memory.crash();
  const after = readFile(memory, joinPath(env.dir, "async.log"));
  assert.deepEqual(after.subarray(0, b.length + a.length), concatBytes([b, a]));
  assert.notDeepEqual(after.subarray(b.length + a.length, b.length + a.length + c.length), c);
}, true);

test("flushAsync settles after the fd is closed (it syncs a duplicate)", async (env, kind) => {
  const a = bytesOf(5000, 15);
  const { w, fd } = openWriter(env, kind, "dup.log");
  w.append(a);
  const flushed = w.flushAsync();
  w.close();
  env.libc.close(fd);
  await flushed;
  assert.deepEqual(readFile(env.libc, joinPath(env.dir, "dup.log")), a);
});

test("EIO on flushAsync rejects and poisons the writer", async (env, kind) => {
  const memory = env.memory!;
  await (async () => {
    const { w, fd } = openWriter(env, kind, "eio-async.log");
    try {
      w.append(bytesOf(100, 16));
      memory.addFault({ syscall: "fdatasync", errno: Errno.EIO, times: 1 });
      await assert.rejects(w.flushAsync(), (e) => e instanceof IoError && e.errno === Errno.EIO);
      memory.clearFaults();
      assert.throws(() => w.flush(), IoError);
      assert.throws(() => w.append(bytesOf(1, 1)), IoError);
    } finally {
      w.close();
      env.libc.close(fd);
    }
  })();
}, true);
