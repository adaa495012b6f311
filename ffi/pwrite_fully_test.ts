import { assert } from "../util/assert.ts";
import { memoryLibc } from "./memory.ts";
import { Errno, IoError, type Libc, OpenFlags } from "./port.ts";
import { pwriteFully } from "./pwrite_fully.ts";

const RW = OpenFlags.O_RDWR | OpenFlags.O_CREAT;

function pattern(sizeBytes: number): Uint8Array {
  return Uint8Array.from({ length: sizeBytes }, (_, i) => (i * 13 + 5) & 0xff);
}

Deno.test("pwriteFully() loops over short writes until every byte lands at its position", () => {
  const libc = memoryLibc({ seed: 9, faults: [{ syscall: "pwrite", shortWrite: true, times: 6 }] });
  const fd = libc.open("/f", RW);
  const bytes = pattern(5000);
  pwriteFully(libc, { fd, bytes, positionBytes: 100 });
  assert.equal(libc.faultsFiredCount, 6, "the short writes happened");
  assert.equal(libc.fileSize(fd), 5100);
  const read = new Uint8Array(5000);
  assert.equal(libc.pread(fd, read, 100), 5000);
  assert.deepEqual(read, bytes);
  pwriteFully(libc, { fd, bytes: new Uint8Array(0), positionBytes: 0 }); // nothing to write
  assert.equal(libc.fileSize(fd), 5100);
});

Deno.test("pwriteFully() throws IoError(EIO) when pwrite returns 0 instead of looping", () => {
  const memory = memoryLibc();
  const fd = memory.open("/f", RW);
  let callCount = 0;
  // One short write of 10 bytes, then no progress at all.
  const stalling: Libc = {
    ...memory,
    pwrite: (fd, buf, positionBytes) =>
      ++callCount === 1 ? memory.pwrite(fd, buf.subarray(0, 10), positionBytes) : 0,
  };
  try {
    pwriteFully(stalling, { fd, bytes: pattern(100), positionBytes: 0, path: "/f" });
    assert.fail("pwriteFully() returned although pwrite made no progress");
  } catch (error) {
    assert.ok(error instanceof IoError, `expected IoError, got ${error}`);
    assert.deepEqual([error.syscall, error.errno, error.path], ["pwrite", Errno.EIO, "/f"]);
  }
  assert.equal(callCount, 2);
  assert.equal(memory.fileSize(fd), 10, "the bytes written before the stall stay");
});

Deno.test("pwriteFully() passes the libc's IoError through", () => {
  const libc = memoryLibc({ faults: [{ syscall: "pwrite", errno: Errno.ENOSPC, after: 1 }] });
  const fd = libc.open("/f", RW);
  pwriteFully(libc, { fd, bytes: pattern(10), positionBytes: 0 });
  assert.throws(
    () => pwriteFully(libc, { fd, bytes: pattern(10), positionBytes: 10 }),
    (e) => e instanceof IoError && e.errno === Errno.ENOSPC,
  );
});
