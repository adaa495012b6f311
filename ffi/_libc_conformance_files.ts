/**
 * The libc conformance suite's cases on files and directories (open, close,
 * pread, pwrite, sizes, syncs, directory operations, whole files), and the
 * helpers the cases share. See `ffi/_libc_conformance.ts`.
 *
 * @module
 */

import { assert } from "../util/assert.ts";
import type { ConformanceCase, LibcSubject } from "./_libc_conformance.ts";
import { Errno, errnoName, IoError, type Libc, OpenFlags } from "./port.ts";

const { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_TRUNC } = OpenFlags;
/** Read-write, created when missing. */
export const RW = O_RDWR | O_CREAT;
/** One mebibyte. */
export const MIB = 1024 * 1024;
/** The page size the cases assume (x86_64 and aarch64 Linux defaults). */
export const PAGE_BYTES = 4096;

/** A reproducible byte pattern. */
export function pattern(sizeBytes: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(sizeBytes);
  for (let i = 0; i < sizeBytes; i++) bytes[i] = (i * 31 + seed * 7 + 1) & 0xff;
  return bytes;
}

/** The IoError `fn` throws; fails unless it throws one with `errno`. */
export function ioErrorOf(fn: () => unknown, errno: number): IoError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof IoError, `expected IoError(${errnoName(errno)}), got ${error}`);
    assert.equal(errnoName(error.errno), errnoName(errno), error.message);
    return error;
  }
  assert.fail(`expected IoError(${errnoName(errno)}), but the call returned`);
}

/** Fails unless `promise` rejects with an IoError of `errno`. */
export async function rejectsWithErrno(promise: Promise<unknown>, errno: number): Promise<void> {
  await assert.rejects(promise, (e) => e instanceof IoError && e.errno === errno);
}

/** Opens `name` in the subject's directory, runs `body`, closes. */
export function withFile<T>(
  s: LibcSubject,
  name: string,
  flags: number,
  body: (fd: number, path: string) => T,
): T {
  const path = `${s.dir}/${name}`;
  const fd = s.libc.open(path, flags);
  try {
    return body(fd, path);
  } finally {
    s.libc.close(fd);
  }
}

/** One pwrite that must write all of `bytes`. */
export function writeAll(libc: Libc, fd: number, bytes: Uint8Array, positionBytes: number): void {
  assert.equal(libc.pwrite(fd, bytes, positionBytes), bytes.length, "a whole pwrite");
}

/** One pread that must fill `sizeBytes`. */
export function readAt(
  libc: Libc,
  fd: number,
  positionBytes: number,
  sizeBytes: number,
): Uint8Array {
  const bytes = new Uint8Array(sizeBytes);
  assert.equal(libc.pread(fd, bytes, positionBytes), sizeBytes, "a whole pread");
  return bytes;
}

/** UTF-8 bytes of `s`. */
export const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** The cases of this module, in order. */
export const FILE_CASES: ConformanceCase[] = [];
const conformance = (title: string, run: (s: LibcSubject) => void | Promise<void>) =>
  FILE_CASES.push([title, run]);

// ---------------------------------------------------------------------------------------------
// open / close

conformance("open() creates with O_CREAT; O_CREAT|O_EXCL on an existing file is EEXIST", (s) => {
  const { libc, dir } = s;
  const fd = libc.open(`${dir}/a`, O_RDWR | O_CREAT | O_EXCL);
  assert.equal(libc.fileSize(fd), 0);
  libc.close(fd);
  assert.ok(libc.exists(`${dir}/a`));
  const error = ioErrorOf(() => libc.open(`${dir}/a`, RW | O_EXCL), Errno.EEXIST);
  assert.deepEqual([error.syscall, error.path], ["open", `${dir}/a`]);
  libc.close(libc.open(`${dir}/a`, RW)); // without O_EXCL: opens the existing file
});

conformance("open() of a missing file or below a missing directory is ENOENT", (s) => {
  const { libc, dir } = s;
  const error = ioErrorOf(() => libc.open(`${dir}/missing`, O_RDONLY), Errno.ENOENT);
  assert.deepEqual([error.syscall, error.path], ["open", `${dir}/missing`]);
  assert.match(error.message, /ENOENT/);
  assert.match(error.message, new RegExp(`"${dir}/missing"`));
  ioErrorOf(() => libc.open(`${dir}/no-dir/f`, RW), Errno.ENOENT);
  assert.ok(!libc.exists(`${dir}/no-dir`));
});

conformance("open() with O_TRUNC empties the file; a directory opened to write is EISDIR", (s) => {
  const { libc, dir } = s;
  withFile(s, "t", RW, (fd) => writeAll(libc, fd, pattern(100, 1), 0));
  withFile(s, "t", O_RDWR | O_TRUNC, (fd) => assert.equal(libc.fileSize(fd), 0));
  libc.mkdirp(`${dir}/sub`);
  ioErrorOf(() => libc.open(`${dir}/sub`, O_RDWR), Errno.EISDIR);
});

conformance("close() releases the fd: every call on it afterwards is EBADF", (s) => {
  const { libc } = s;
  const fd = libc.open(`${s.dir}/c`, RW);
  writeAll(libc, fd, pattern(10, 2), 0);
  libc.close(fd);
  ioErrorOf(() => libc.pread(fd, new Uint8Array(1), 0), Errno.EBADF);
  ioErrorOf(() => libc.pwrite(fd, new Uint8Array(1), 0), Errno.EBADF);
  ioErrorOf(() => libc.fileSize(fd), Errno.EBADF);
  ioErrorOf(() => libc.fdatasync(fd), Errno.EBADF);
  ioErrorOf(() => libc.ftruncate(fd, 0), Errno.EBADF);
  ioErrorOf(() => libc.close(fd), Errno.EBADF);
});

// ---------------------------------------------------------------------------------------------
// pread / pwrite / sizes

conformance("pwrite() and pread() round-trip at any position; a hole reads as zeros", (s) => {
  const { libc } = s;
  withFile(s, "rw", RW, (fd) => {
    const bytes = pattern(10_000, 3);
    writeAll(libc, fd, bytes, 100);
    assert.equal(libc.fileSize(fd), 10_100);
    assert.deepEqual(readAt(libc, fd, 100, bytes.length), bytes);
    assert.deepEqual(readAt(libc, fd, 0, 100), new Uint8Array(100), "the hole reads as zeros");
    // Subarrays read and write their own window of the buffer only.
    const window = new Uint8Array(16);
    assert.equal(libc.pread(fd, window.subarray(8), 100), 8);
    assert.deepEqual(window.subarray(8), bytes.subarray(0, 8));
    assert.deepEqual(window.subarray(0, 8), new Uint8Array(8));
    const source = pattern(32, 4);
    assert.equal(libc.pwrite(fd, source.subarray(16, 24), 0), 8);
    assert.deepEqual(readAt(libc, fd, 0, 8), source.subarray(16, 24));
    assert.equal(libc.pwrite(fd, new Uint8Array(0), 50), 0, "an empty write writes nothing");
    assert.equal(libc.fileSize(fd), 10_100);
  });
});

conformance("pread() stops short at end of file and returns 0 at or past it", (s) => {
  const { libc } = s;
  withFile(s, "eof", RW, (fd) => {
    writeAll(libc, fd, pattern(1000, 5), 0);
    const buf = new Uint8Array(300);
    assert.equal(libc.pread(fd, buf, 900), 100, "a short read at end of file");
    assert.deepEqual(buf.subarray(0, 100), pattern(1000, 5).subarray(900));
    assert.equal(libc.pread(fd, buf, 1000), 0);
    assert.equal(libc.pread(fd, buf, 1_000_000), 0);
    assert.equal(libc.pread(fd, new Uint8Array(0), 0), 0);
  });
});

conformance("a negative or unsafe position is a RangeError, not an IoError", (s) => {
  const { libc } = s;
  withFile(s, "range", RW, (fd) => {
    assert.throws(() => libc.pread(fd, new Uint8Array(1), -1), RangeError);
    assert.throws(() => libc.pwrite(fd, new Uint8Array(1), 2 ** 53), RangeError);
    assert.throws(() => libc.ftruncate(fd, -5), RangeError);
    assert.throws(() => libc.fallocate(fd, 0.5, 10), RangeError);
    assert.equal(libc.fileSize(fd), 0, "nothing happened");
  });
});

conformance("a read-only fd refuses writes: pwrite EBADF, ftruncate EINVAL, mmap EACCES", (s) => {
  const { libc, dir } = s;
  libc.close(libc.open(`${dir}/ro`, RW));
  withFile(s, "ro", O_RDONLY, (fd) => {
    const error = ioErrorOf(() => libc.pwrite(fd, new Uint8Array(1), 0), Errno.EBADF);
    assert.deepEqual([error.syscall, error.path], ["pwrite", `${dir}/ro`]);
    ioErrorOf(() => libc.ftruncate(fd, 10), Errno.EINVAL);
    ioErrorOf(() => libc.fallocate(fd, 0, 10), Errno.EBADF);
    ioErrorOf(() => libc.mmap(fd, PAGE_BYTES, true), Errno.EACCES);
    assert.equal(libc.fileSize(fd), 0);
  });
  withFile(s, "ro", O_WRONLY, (fd) => {
    ioErrorOf(() => libc.pread(fd, new Uint8Array(1), 0), Errno.EBADF);
  });
});

conformance("ftruncate() grows with zeros and shrinks; cut bytes do not come back", (s) => {
  const { libc } = s;
  withFile(s, "trunc", RW, (fd) => {
    writeAll(libc, fd, pattern(1000, 6), 0);
    libc.ftruncate(fd, 600);
    assert.equal(libc.fileSize(fd), 600);
    const buf = new Uint8Array(1000);
    assert.equal(libc.pread(fd, buf, 0), 600);
    libc.ftruncate(fd, 1000);
    assert.equal(libc.fileSize(fd), 1000);
    assert.deepEqual(readAt(libc, fd, 600, 400), new Uint8Array(400), "zeros, not the old bytes");
    assert.deepEqual(readAt(libc, fd, 0, 600), pattern(1000, 6).subarray(0, 600));
    libc.ftruncate(fd, 0);
    assert.equal(libc.fileSize(fd), 0);
  });
});

conformance("fallocate() extends the file size, never shrinks it, and keeps the data", (s) => {
  const { libc } = s;
  withFile(s, "alloc", RW, (fd) => {
    writeAll(libc, fd, pattern(1000, 7), 0);
    libc.fallocate(fd, 0, 100);
    assert.equal(libc.fileSize(fd), 1000, "inside the file: no change");
    libc.fallocate(fd, 512, MIB);
    assert.equal(libc.fileSize(fd), 512 + MIB);
    assert.deepEqual(readAt(libc, fd, 0, 1000), pattern(1000, 7));
    assert.deepEqual(readAt(libc, fd, 1000, 4096), new Uint8Array(4096));
  });
});

conformance(
  "fdatasync() and fdatasyncAsync() succeed; on a closed fd they are EBADF",
  async (s) => {
    const { libc, dir } = s;
    const fd = libc.open(`${dir}/sync`, RW);
    const bytes = pattern(8192, 8);
    writeAll(libc, fd, bytes, 0);
    libc.fdatasync(fd);
    writeAll(libc, fd, bytes, 8192);
    const synced = libc.fdatasyncAsync(fd);
    libc.close(fd); // the async sync works on a duplicate: closing first is allowed
    await synced;
    const all = libc.readFile(`${dir}/sync`);
    assert.equal(all.length, 16_384);
    assert.deepEqual(all.subarray(8192), bytes);
    ioErrorOf(() => libc.fdatasync(fd), Errno.EBADF);
    await rejectsWithErrno(libc.fdatasyncAsync(fd), Errno.EBADF);
  },
);

// ---------------------------------------------------------------------------------------------
// Directories and whole files

conformance("mkdirp() creates parents and is idempotent; a file in the way is refused", (s) => {
  const { libc, dir } = s;
  libc.mkdirp(`${dir}/a/b/c`);
  libc.mkdirp(`${dir}/a/b/c`);
  libc.mkdirp(`${dir}/a`);
  assert.ok(libc.exists(`${dir}/a/b/c`));
  libc.writeFileAtomic(`${dir}/a/f`, text("x"));
  ioErrorOf(() => libc.mkdirp(`${dir}/a/f`), Errno.EEXIST);
  ioErrorOf(() => libc.mkdirp(`${dir}/a/f/sub`), Errno.ENOTDIR);
});

conformance("readdir() lists names in order with their kind; missing ENOENT, file ENOTDIR", (s) => {
  const { libc, dir } = s;
  libc.mkdirp(`${dir}/p/sub`);
  libc.writeFileAtomic(`${dir}/p/b.log`, text("b"));
  libc.writeFileAtomic(`${dir}/p/a.log`, text("a"));
  assert.deepEqual(libc.readdir(`${dir}/p`), [
    { name: "a.log", isDirectory: false },
    { name: "b.log", isDirectory: false },
    { name: "sub", isDirectory: true },
  ]);
  assert.deepEqual(libc.readdir(`${dir}/p/sub`), []);
  const error = ioErrorOf(() => libc.readdir(`${dir}/missing`), Errno.ENOENT);
  assert.equal(error.path, `${dir}/missing`);
  ioErrorOf(() => libc.readdir(`${dir}/p/a.log`), Errno.ENOTDIR);
});

conformance("unlink() removes a file; a missing one is ENOENT, a directory EISDIR", (s) => {
  const { libc, dir } = s;
  libc.writeFileAtomic(`${dir}/u`, text("u"));
  libc.unlink(`${dir}/u`);
  assert.ok(!libc.exists(`${dir}/u`));
  const error = ioErrorOf(() => libc.unlink(`${dir}/u`), Errno.ENOENT);
  assert.equal(error.path, `${dir}/u`);
  libc.mkdirp(`${dir}/d`);
  ioErrorOf(() => libc.unlink(`${dir}/d`), Errno.EISDIR);
  assert.ok(libc.exists(`${dir}/d`));
});

conformance(
  "rename() moves a file and replaces an existing target; a missing source is ENOENT",
  (s) => {
    const { libc, dir } = s;
    libc.writeFileAtomic(`${dir}/from`, text("new"));
    libc.writeFileAtomic(`${dir}/to`, text("old"));
    libc.rename(`${dir}/from`, `${dir}/to`);
    assert.ok(!libc.exists(`${dir}/from`));
    assert.deepEqual(libc.readFile(`${dir}/to`), text("new"));
    const error = ioErrorOf(() => libc.rename(`${dir}/from`, `${dir}/x`), Errno.ENOENT);
    assert.equal(error.path, `${dir}/from`);
    ioErrorOf(() => libc.rename(`${dir}/to`, `${dir}/no-dir/to`), Errno.ENOENT);
    assert.ok(libc.exists(`${dir}/to`), "a failed rename leaves the source");
  },
);

conformance("rename() moves a directory tree; onto a non-empty one it is ENOTEMPTY", (s) => {
  const { libc, dir } = s;
  libc.mkdirp(`${dir}/a/sub`);
  libc.writeFileAtomic(`${dir}/a/sub/f`, text("f"));
  libc.mkdirp(`${dir}/empty`);
  libc.rename(`${dir}/a`, `${dir}/empty`); // an empty target directory is replaced
  assert.ok(!libc.exists(`${dir}/a`));
  assert.deepEqual(libc.readFile(`${dir}/empty/sub/f`), text("f"));
  libc.mkdirp(`${dir}/full/x`);
  const error = ioErrorOf(() => libc.rename(`${dir}/empty`, `${dir}/full`), Errno.ENOTEMPTY);
  assert.equal(error.path, `${dir}/empty`);
  ioErrorOf(() => libc.rename(`${dir}/empty/sub/f`, `${dir}/full`), Errno.EISDIR);
  ioErrorOf(() => libc.rename(`${dir}/full`, `${dir}/empty/sub/f`), Errno.ENOTDIR);
  ioErrorOf(() => libc.rename(`${dir}/full`, `${dir}/full/x/y`), Errno.EINVAL);
  assert.deepEqual(libc.readdir(`${dir}/full`), [{ name: "x", isDirectory: true }]);
});

conformance("removeTree() removes everything below a path; a missing path is no error", (s) => {
  const { libc, dir } = s;
  libc.mkdirp(`${dir}/t/x/y`);
  libc.writeFileAtomic(`${dir}/t/x/y/f`, text("f"));
  libc.writeFileAtomic(`${dir}/t/g`, text("g"));
  libc.writeFileAtomic(`${dir}/keep`, text("k"));
  libc.removeTree(`${dir}/t`);
  assert.ok(!libc.exists(`${dir}/t`));
  assert.ok(!libc.exists(`${dir}/t/x/y/f`));
  assert.deepEqual(libc.readdir(dir), [{ name: "keep", isDirectory: false }]);
  libc.removeTree(`${dir}/t`);
  libc.removeTree(`${dir}/keep`); // a file is a tree of one
  assert.ok(!libc.exists(`${dir}/keep`));
});

conformance("exists() sees files and directories, and nothing else", (s) => {
  const { libc, dir } = s;
  assert.ok(libc.exists(dir));
  assert.ok(!libc.exists(`${dir}/e`));
  libc.close(libc.open(`${dir}/e`, RW));
  assert.ok(libc.exists(`${dir}/e`));
  libc.mkdirp(`${dir}/ed`);
  assert.ok(libc.exists(`${dir}/ed`));
});

conformance("readFile() reads a whole file; a missing one is ENOENT, a directory EISDIR", (s) => {
  const { libc, dir } = s;
  const bytes = pattern(70_000, 13);
  withFile(s, "whole", RW, (fd) => writeAll(libc, fd, bytes, 0));
  assert.deepEqual(libc.readFile(`${dir}/whole`), bytes);
  assert.deepEqual(libc.readFile(`${dir}/whole`).length, 70_000);
  withFile(s, "empty", RW, () => {});
  assert.deepEqual(libc.readFile(`${dir}/empty`), new Uint8Array(0));
  const error = ioErrorOf(() => libc.readFile(`${dir}/missing`), Errno.ENOENT);
  assert.equal(error.path, `${dir}/missing`);
  ioErrorOf(() => libc.readFile(dir), Errno.EISDIR);
});

conformance("writeFileAtomic() replaces a file whole and leaves no temporary file", (s) => {
  const { libc, dir } = s;
  libc.writeFileAtomic(`${dir}/meta`, text("version one, longer"));
  libc.writeFileAtomic(`${dir}/meta`, text("v2"));
  assert.deepEqual(libc.readFile(`${dir}/meta`), text("v2"));
  libc.writeFileAtomic(`${dir}/meta`, new Uint8Array(0));
  assert.deepEqual(libc.readFile(`${dir}/meta`), new Uint8Array(0));
  assert.deepEqual(libc.readdir(dir).map((e) => e.name), ["meta"]);
  ioErrorOf(() => libc.writeFileAtomic(`${dir}/no-dir/meta`, text("x")), Errno.ENOENT);
});
