/**
 * The libc conformance suite's cases on mappings (mmap, munmap, msync,
 * madvise) and on sendfile to a connected socket. See
 * `ffi/_libc_conformance.ts`.
 *
 * @module
 */

import { assert } from "../util/assert.ts";
import type { ConformanceCase, LibcSubject } from "./_libc_conformance.ts";
import {
  ioErrorOf,
  MIB,
  PAGE_BYTES,
  pattern,
  readAt,
  RW,
  withFile,
  writeAll,
} from "./_libc_conformance_files.ts";
import { Errno, type Libc, Madvice, MsyncFlags, SENDFILE_WOULD_BLOCK } from "./port.ts";

/** How much the would-block case may send before the socket must be full. */
const SOCKET_FILL_BYTES_MAX = 512 * MIB;

/** The cases of this module, in order. */
export const MAPPING_CASES: ConformanceCase[] = [];
const conformance = (title: string, run: (s: LibcSubject) => void | Promise<void>) =>
  MAPPING_CASES.push([title, run]);

// ---------------------------------------------------------------------------------------------
// mmap / munmap / msync / madvise

conformance("mmap() is coherent with pread and pwrite both ways", (s) => {
  const { libc } = s;
  withFile(s, "map", RW, (fd) => {
    libc.ftruncate(fd, 4 * PAGE_BYTES);
    const mapping = libc.mmap(fd, 4 * PAGE_BYTES, true);
    assert.equal(mapping.lengthBytes, 4 * PAGE_BYTES);
    assert.equal(mapping.bytes.length, 4 * PAGE_BYTES);
    const record = pattern(1000, 9);
    mapping.bytes.set(record, 5000);
    assert.deepEqual(readAt(libc, fd, 5000, 1000), record, "mapping → pread");
    writeAll(libc, fd, pattern(10, 10), 2 * PAGE_BYTES);
    assert.deepEqual(
      mapping.bytes.subarray(2 * PAGE_BYTES, 2 * PAGE_BYTES + 10),
      pattern(10, 10),
      "pwrite → mapping",
    );
    // A second, read-only mapping at a page-aligned offset sees the same bytes.
    const tail = libc.mmap(fd, PAGE_BYTES, false, PAGE_BYTES);
    assert.deepEqual(
      tail.bytes.subarray(5000 - PAGE_BYTES, 5000 - PAGE_BYTES + 8),
      record.subarray(0, 8),
    );
    libc.munmap(tail);
    libc.munmap(mapping);
    assert.deepEqual(readAt(libc, fd, 5000, 1000), record, "bytes outlive the mapping");
  });
});

conformance("munmap() detaches the bytes and every view; a dead mapping is a TypeError", (s) => {
  const { libc } = s;
  withFile(s, "unmap", RW, (fd) => {
    libc.ftruncate(fd, 2 * PAGE_BYTES);
    const mapping = libc.mmap(fd, 2 * PAGE_BYTES, true);
    const view = mapping.bytes.subarray(10, 20);
    libc.munmap(mapping);
    assert.equal(mapping.bytes.length, 0, "bytes detached");
    assert.equal(view.length, 0, "every view detached");
    assert.equal(mapping.bytes[0], undefined, "reading a detached view touches no memory");
    assert.throws(() => libc.munmap(mapping), TypeError);
    assert.throws(() => libc.msync(mapping, 0, 1, MsyncFlags.MS_SYNC), TypeError);
    assert.throws(() => libc.madvise(mapping, 0, 1, Madvice.MADV_NORMAL), TypeError);
  });
});

conformance("mmap() of an unaligned offset or of zero bytes is EINVAL", (s) => {
  const { libc } = s;
  withFile(s, "bad-map", RW, (fd) => {
    libc.ftruncate(fd, 2 * PAGE_BYTES);
    const error = ioErrorOf(() => libc.mmap(fd, PAGE_BYTES, false, 100), Errno.EINVAL);
    assert.equal(error.syscall, "mmap");
    ioErrorOf(() => libc.mmap(fd, 0, false), Errno.EINVAL);
  });
});

conformance("msync() and madvise() round a range to pages and refuse one past the mapping", (s) => {
  const { libc } = s;
  withFile(s, "sync-map", RW, (fd) => {
    libc.ftruncate(fd, 4 * PAGE_BYTES);
    const mapping = libc.mmap(fd, 4 * PAGE_BYTES, true);
    try {
      libc.madvise(mapping, 0, 4 * PAGE_BYTES, Madvice.MADV_SEQUENTIAL);
      libc.madvise(mapping, 5, 3, Madvice.MADV_WILLNEED);
      mapping.bytes.set([9, 9, 9], 5000);
      libc.msync(mapping, 5000, 3, MsyncFlags.MS_SYNC); // unaligned: from the page holding 5000
      libc.msync(mapping, 0, 4 * PAGE_BYTES, MsyncFlags.MS_ASYNC);
      assert.deepEqual(readAt(libc, fd, 5000, 3), Uint8Array.of(9, 9, 9));
      assert.throws(
        () => libc.msync(mapping, 0, 4 * PAGE_BYTES + 1, MsyncFlags.MS_SYNC),
        RangeError,
      );
      assert.throws(() => libc.madvise(mapping, PAGE_BYTES, 4 * PAGE_BYTES, 0), RangeError);
    } finally {
      libc.munmap(mapping);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// sendfile

conformance("sendfile() sends a file range to a socket, short at EOF and 0 past it", async (s) => {
  const { libc } = s;
  const bytes = pattern(100_000, 11);
  const fd = libc.open(`${s.dir}/send`, RW);
  const pair = await s.openSocketPair();
  let fdOpen = true;
  try {
    writeAll(libc, fd, bytes, 0);
    const sentBytes = libc.sendfile(pair.fd, fd, 1000, 5000);
    assert.equal(sentBytes, 5000);
    assert.deepEqual(await pair.receive(5000), bytes.subarray(1000, 6000));
    assert.equal(libc.sendfile(pair.fd, fd, 99_990, 5000), 10, "short at end of file");
    assert.deepEqual(await pair.receive(10), bytes.subarray(99_990));
    assert.equal(libc.sendfile(pair.fd, fd, 100_000, 5000), 0, "0 at end of file");
    assert.equal(libc.sendfile(pair.fd, fd, 200_000, 5000), 0, "0 past end of file");
    libc.close(fd);
    fdOpen = false;
    ioErrorOf(() => libc.sendfile(pair.fd, fd, 0, 1), Errno.EBADF);
  } finally {
    if (fdOpen) libc.close(fd);
    await pair.close();
  }
});

conformance("sendfile() returns SENDFILE_WOULD_BLOCK on a full socket and resumes", async (s) => {
  const { libc } = s;
  const bytes = pattern(MIB, 12);
  const fd = libc.open(`${s.dir}/fill`, RW);
  const pair = await s.openSocketPair();
  try {
    writeAll(libc, fd, bytes, 0);
    let sentBytes = 0;
    for (;;) {
      const positionBytes = sentBytes % MIB;
      const n = libc.sendfile(pair.fd, fd, positionBytes, MIB - positionBytes);
      if (n === SENDFILE_WOULD_BLOCK) break;
      assert.ok(n > 0, `sendfile returned ${n}`);
      sentBytes += n;
      assert.ok(sentBytes < SOCKET_FILL_BYTES_MAX, "the socket never filled up");
    }
    const received = await pair.receive(sentBytes);
    for (let at = 0; at < sentBytes; at += MIB) {
      const part = received.subarray(at, Math.min(at + MIB, sentBytes));
      assert.deepEqual(part, bytes.subarray(0, part.length), `bytes at ${at}`);
    }
    // The peer read everything: the socket takes bytes again.
    const n = await sendWhenWritable(libc, pair.fd, fd, 100);
    assert.deepEqual(await pair.receive(n), bytes.subarray(0, n));
  } finally {
    libc.close(fd);
    await pair.close();
  }
});

/**
 * `sendfile` of `countBytes` from position 0, retried while it would block:
 * the peer has read everything, but the kernel frees the send buffer as the
 * peer's acknowledgements come in, an event this side cannot wait on.
 */
async function sendWhenWritable(
  libc: Libc,
  socketFd: number,
  fileFd: number,
  countBytes: number,
): Promise<number> {
  const deadlineMs = Date.now() + 10_000;
  for (;;) {
    const n = libc.sendfile(socketFd, fileFd, 0, countBytes);
    if (n !== SENDFILE_WOULD_BLOCK) return n;
    assert.ok(Date.now() < deadlineMs, "the socket stayed full after the peer read everything");
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
