import { strict as assert } from "node:assert";
import { memoryLibc } from "./memory.ts";
import { Errno, IoError, MsyncFlags, OpenFlags } from "./port.ts";

const RW = OpenFlags.O_RDWR | OpenFlags.O_CREAT;
const isErrno = (errno: number) => (e: unknown) => e instanceof IoError && e.errno === errno;

function setup() {
  const libc = memoryLibc({ seed: 3 });
  libc.mkdirp("/d");
  return { libc, fd: libc.open("/d/f", RW) };
}

Deno.test("memoryLibc pwrite/pread/fileSize/ftruncate behave like files", () => {
  const { libc, fd } = setup();
  assert.equal(libc.pwrite(fd, Uint8Array.of(1, 2, 3), 5), 3);
  assert.equal(libc.fileSize(fd), 8);
  const buf = new Uint8Array(10);
  assert.equal(libc.pread(fd, buf, 0), 8);
  assert.deepEqual(buf, Uint8Array.of(0, 0, 0, 0, 0, 1, 2, 3, 0, 0));
  assert.equal(libc.pread(fd, buf, 8), 0);
  libc.ftruncate(fd, 6);
  libc.ftruncate(fd, 8);
  assert.equal(libc.pread(fd, buf, 0), 8);
  assert.deepEqual(buf.subarray(5, 8), Uint8Array.of(1, 0, 0));
  libc.close(fd);
  assert.throws(() => libc.fileSize(fd), isErrno(Errno.EBADF));
});

Deno.test("memoryLibc open() honours O_CREAT, O_EXCL, O_TRUNC and missing parents", () => {
  const { libc, fd } = setup();
  libc.pwrite(fd, Uint8Array.of(1), 0);
  assert.throws(() => libc.open("/d/missing", OpenFlags.O_RDWR), isErrno(Errno.ENOENT));
  assert.throws(() => libc.open("/nope/f", RW), isErrno(Errno.ENOENT));
  assert.throws(() => libc.open("/d/f", RW | OpenFlags.O_EXCL), isErrno(Errno.EEXIST));
  assert.throws(() => libc.open("/d", RW), isErrno(Errno.EISDIR));
  const again = libc.open("/d/f", OpenFlags.O_RDWR | OpenFlags.O_TRUNC);
  assert.equal(libc.fileSize(again), 0);
});

Deno.test("memoryLibc mappings are coherent with pread/pwrite and detach on munmap", () => {
  const { libc, fd } = setup();
  libc.ftruncate(fd, 8192);
  const m = libc.mmap(fd, 8192, true, 0);
  m.bytes.set([9, 8, 7], 4096);
  const buf = new Uint8Array(3);
  libc.pread(fd, buf, 4096);
  assert.deepEqual(buf, Uint8Array.of(9, 8, 7));
  libc.pwrite(fd, Uint8Array.of(5), 10);
  assert.equal(m.bytes[10], 5);
  assert.equal(libc.liveMappingCount(), 1);
  libc.munmap(m);
  assert.equal(m.bytes.length, 0);
  assert.equal(libc.liveMappingCount(), 0);
  assert.throws(() => libc.munmap(m), isErrno(Errno.EINVAL));
  assert.throws(() => libc.mmap(fd, 4096, true, 100), isErrno(Errno.EINVAL));
});

Deno.test("memoryLibc reports a write through a mapping past EOF as SIGBUS", () => {
  const { libc, fd } = setup();
  libc.ftruncate(fd, 100);
  const m = libc.mmap(fd, 4096, true, 0);
  m.bytes[99] = 1; // inside the file: fine
  libc.fileSize(fd);
  m.bytes[100] = 1;
  assert.throws(() => libc.fileSize(fd), /SIGBUS/);
});

Deno.test("memoryLibc faults fire after N calls, for M times, on matching paths only", () => {
  const { libc, fd } = setup();
  const other = libc.open("/d/other.log", RW);
  libc.addFault({
    syscall: "pwrite",
    pathIncludes: ".log",
    after: 2,
    times: 2,
    errno: Errno.ENOSPC,
  });
  const one = Uint8Array.of(1);
  libc.pwrite(fd, one, 0); // not a .log path: does not count
  libc.pwrite(other, one, 0);
  libc.pwrite(other, one, 1);
  assert.throws(() => libc.pwrite(other, one, 2), isErrno(Errno.ENOSPC));
  assert.throws(() => libc.pwrite(other, one, 2), isErrno(Errno.ENOSPC));
  libc.pwrite(other, one, 2);
  assert.equal(libc.faultsFiredCount, 2);
  assert.equal(libc.fileSize(other), 3);
});

Deno.test("memoryLibc short writes are partial and deterministic by seed", () => {
  const run = () => {
    const libc = memoryLibc({ seed: 11, faults: [{ syscall: "pwrite", shortWrite: true }] });
    const fd = libc.open("/f", RW);
    return [1, 2, 3].map(() => libc.pwrite(fd, new Uint8Array(1000), 0));
  };
  const counts = run();
  assert.deepEqual(run(), counts);
  for (const n of counts) assert.ok(n >= 1 && n < 1000);
});

Deno.test("memoryLibc crash() keeps only fdatasync'd and msync'd bytes", () => {
  const { libc, fd } = setup();
  libc.pwrite(fd, Uint8Array.of(1, 2), 0);
  libc.fdatasync(fd);
  libc.pwrite(fd, Uint8Array.of(3, 4), 2);
  const g = libc.open("/d/g", RW);
  libc.ftruncate(g, 8192);
  const m = libc.mmap(g, 8192, true);
  m.bytes[0] = 7;
  m.bytes[4096] = 8;
  libc.msync(m, 0, 4096, MsyncFlags.MS_SYNC);
  libc.crash();
  assert.equal(libc.openFdCount(), 0);
  assert.equal(m.bytes.length, 0);
  assert.deepEqual(libc.readFile("/d/f"), Uint8Array.of(1, 2));
  const after = libc.readFile("/d/g");
  assert.equal(after[0], 7);
  assert.equal(after[4096], 0);
});

Deno.test("memoryLibc EIO on fdatasync and msync", () => {
  const { libc, fd } = setup();
  libc.addFault({ syscall: "fdatasync", times: 1 });
  assert.throws(() => libc.fdatasync(fd), isErrno(Errno.EIO));
  libc.fdatasync(fd);
});

Deno.test("memoryLibc directory operations", () => {
  const libc = memoryLibc();
  libc.mkdirp("/a/b/c");
  libc.writeFileAtomic("/a/b/x", Uint8Array.of(1));
  assert.deepEqual(libc.readdir("/a/b"), [{ name: "c", isDirectory: true }, {
    name: "x",
    isDirectory: false,
  }]);
  libc.rename("/a/b/x", "/a/y");
  assert.ok(libc.exists("/a/y") && !libc.exists("/a/b/x"));
  assert.deepEqual(libc.readFile("/a/y"), Uint8Array.of(1));
  libc.unlink("/a/y");
  assert.throws(() => libc.unlink("/a/y"), isErrno(Errno.ENOENT));
  assert.throws(() => libc.readFile("/a/y"), isErrno(Errno.ENOENT));
  libc.removeTree("/a");
  libc.removeTree("/missing");
  assert.ok(!libc.exists("/a/b/c"));
});

Deno.test("memoryLibc sendfile copies into a fake socket", () => {
  const { libc, fd } = setup();
  libc.pwrite(fd, Uint8Array.of(1, 2, 3, 4), 0);
  const socket = libc.openSocket();
  assert.equal(libc.sendfile(socket, fd, 1, 10), 3);
  assert.equal(libc.sendfile(socket, fd, 4, 10), 0);
  assert.deepEqual(libc.socketBytes(socket), Uint8Array.of(2, 3, 4));
});
