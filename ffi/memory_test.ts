import { assert } from "../util/assert.ts";
import { libcConformance, type LibcSubject } from "./_libc_conformance.ts";
import { memoryLibc } from "./memory.ts";
import { Errno, IoError, MsyncFlags, OpenFlags, SENDFILE_WOULD_BLOCK } from "./port.ts";

const RW = OpenFlags.O_RDWR | OpenFlags.O_CREAT;
const isErrno = (errno: number) => (e: unknown) => e instanceof IoError && e.errno === errno;
/** The fake socket's send buffer in the conformance suite: small, so it fills quickly. */
const SEND_BUFFER_BYTES = 256 * 1024;

function memorySubject(): LibcSubject {
  const libc = memoryLibc({ seed: 3 });
  libc.mkdirp("/conformance");
  return {
    libc,
    dir: "/conformance",
    openSocketPair() {
      const fd = libc.openSocket({ sendBufferBytes: SEND_BUFFER_BYTES });
      return Promise.resolve({
        fd,
        receive(sizeBytes: number) {
          const bytes = libc.takeSocketBytes(fd, sizeBytes);
          if (bytes.length === sizeBytes) return Promise.resolve(bytes);
          return Promise.reject(new Error(`Only ${bytes.length} of ${sizeBytes} bytes arrived`));
        },
        close() {
          libc.close(fd);
          return Promise.resolve();
        },
      });
    },
    checkNothingLeaked() {
      assert.equal(libc.openFdCount(), 0, "an fd was left open");
      assert.equal(libc.liveMappingCount(), 0, "a mapping was left live");
    },
    dispose() {},
  };
}

libcConformance({ name: "memory", newSubject: memorySubject }, Deno.test);

function setup() {
  const libc = memoryLibc({ seed: 3 });
  libc.mkdirp("/d");
  return { libc, fd: libc.open("/d/f", RW) };
}

Deno.test("memoryLibc reports a write through a mapping past EOF as SIGBUS", () => {
  const { libc, fd } = setup();
  libc.ftruncate(fd, 100);
  const m = libc.mmap(fd, 4096, true, 0);
  m.bytes[99] = 1; // inside the file: fine
  libc.fileSize(fd);
  m.bytes[100] = 1;
  assert.throws(() => libc.fileSize(fd), /SIGBUS/);
});

Deno.test("memoryLibc liveMappingCount() and openFdCount() count what is still open", () => {
  const { libc, fd } = setup();
  libc.ftruncate(fd, 8192);
  const m = libc.mmap(fd, 8192, true, 0);
  assert.equal(libc.liveMappingCount(), 1);
  assert.equal(libc.openFdCount(), 1);
  libc.munmap(m);
  libc.close(fd);
  assert.equal(libc.liveMappingCount(), 0);
  assert.equal(libc.openFdCount(), 0);
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

Deno.test("memoryLibc EIO on fdatasync fires as planned, then clears", () => {
  const { libc, fd } = setup();
  libc.addFault({ syscall: "fdatasync", times: 1 });
  assert.throws(() => libc.fdatasync(fd), isErrno(Errno.EIO));
  libc.fdatasync(fd);
});

Deno.test("memoryLibc sendfile copies into a fake socket; EAGAIN faults read as would-block", () => {
  const { libc, fd } = setup();
  libc.pwrite(fd, Uint8Array.of(1, 2, 3, 4), 0);
  const socket = libc.openSocket();
  assert.equal(libc.sendfile(socket, fd, 1, 10), 3);
  libc.addFault({ syscall: "sendfile", errno: Errno.EAGAIN, times: 1 });
  assert.equal(libc.sendfile(socket, fd, 0, 1), SENDFILE_WOULD_BLOCK);
  assert.equal(libc.sendfile(socket, fd, 4, 10), 0);
  assert.deepEqual(libc.socketBytes(socket), Uint8Array.of(2, 3, 4));
  assert.deepEqual(libc.takeSocketBytes(socket, 2), Uint8Array.of(2, 3));
  assert.deepEqual(libc.socketBytes(socket), Uint8Array.of(4));
  assert.throws(() => libc.sendfile(fd, fd, 0, 1), isErrno(Errno.EBADF), "a file is no socket");
});

Deno.test("memoryLibc sendfile fills a bounded send buffer, then would block", () => {
  const { libc, fd } = setup();
  libc.pwrite(fd, new Uint8Array(100).fill(7), 0);
  const socket = libc.openSocket({ sendBufferBytes: 30 });
  assert.equal(libc.sendfile(socket, fd, 0, 100), 30);
  assert.equal(libc.sendfile(socket, fd, 30, 70), SENDFILE_WOULD_BLOCK);
  assert.equal(libc.sendfile(socket, fd, 100, 10), 0, "end of file wins over a full buffer");
  assert.equal(libc.takeSocketBytes(socket, 20).length, 20);
  assert.equal(libc.sendfile(socket, fd, 30, 70), 20);
});
