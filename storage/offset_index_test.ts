import { assert } from "../util/assert.ts";
import { memoryLibc } from "../ffi/memory.ts";
import { OpenFlags } from "../ffi/port.ts";
import { IndexCorruptError, WINDOW_BYTES_MIN } from "./_index_file.ts";
import { OffsetIndex, RELATIVE_OFFSET_MAX } from "./offset_index.ts";

function setup(maxIndexBytes = 80) {
  const libc = memoryLibc();
  libc.mkdirp("/d");
  const open = (writable = true) =>
    OffsetIndex.open(libc, "/d/0.index", { baseOffset: 1000, maxIndexBytes, writable });
  return { libc, open };
}

Deno.test("OffsetIndex preallocates segment.index.bytes rounded down to whole entries", () => {
  const { libc, open } = setup(85);
  const index = open();
  assert.equal(index.maxEntryCount, 10);
  const fd = libc.open("/d/0.index", OpenFlags.O_RDONLY);
  assert.equal(libc.fileSize(fd), 80);
  libc.close(fd);
  index.close();
});

Deno.test("OffsetIndex.lookup() returns the floor entry", () => {
  const { open } = setup();
  const index = open();
  assert.deepEqual(index.lookup(5000), { offset: 1000, positionBytes: 0 }); // empty
  index.append(1010, 100);
  index.append(1020, 200);
  assert.deepEqual(index.lookup(999), { offset: 1000, positionBytes: 0 });
  assert.deepEqual(index.lookup(1009), { offset: 1000, positionBytes: 0 });
  assert.deepEqual(index.lookup(1010), { offset: 1010, positionBytes: 100 });
  assert.deepEqual(index.lookup(1015), { offset: 1010, positionBytes: 100 });
  assert.deepEqual(index.lookup(1_000_000), { offset: 1020, positionBytes: 200 });
  assert.deepEqual(index.lookupByPosition(150), { offset: 1010, positionBytes: 100 });
  assert.deepEqual(index.lookupByPosition(50), { offset: 1000, positionBytes: 0 });
  index.close();
});

Deno.test("OffsetIndex.append() asserts offsets and positions grow and stay in range", () => {
  const { open } = setup();
  const index = open();
  index.append(1010, 100);
  assert.throws(() => index.append(1010, 200));
  assert.throws(() => index.append(1011, 100));
  assert.throws(() => index.append(999, 300));
  assert.throws(() => index.append(1000 + RELATIVE_OFFSET_MAX + 1, 300));
  assert.ok(index.canHoldOffset(1000 + RELATIVE_OFFSET_MAX));
  assert.ok(!index.canHoldOffset(999));
  index.append(1000 + RELATIVE_OFFSET_MAX, 300);
  index.close();
});

Deno.test("OffsetIndex isFull at maxEntryCount; full appends trip an assertion", () => {
  const { open } = setup(16);
  const index = open();
  index.append(1001, 1);
  index.append(1002, 2);
  assert.ok(index.isFull);
  assert.throws(() => index.append(1003, 3));
  index.close();
});

Deno.test("OffsetIndex trimmed on close reopens with size / 8 entries", () => {
  const { libc, open } = setup();
  const index = open();
  index.append(1010, 100);
  index.append(1020, 200);
  index.trimToValidSize();
  index.close();
  const fd = libc.open("/d/0.index", OpenFlags.O_RDONLY);
  assert.equal(libc.fileSize(fd), 16);
  libc.close(fd);
  const reopened = open(false);
  assert.equal(reopened.entryCount, 2);
  reopened.sanityCheck(201);
  reopened.close();
});

Deno.test("OffsetIndex left untrimmed (a crash) finds its end at the first empty entry", () => {
  const { open } = setup();
  const index = open();
  for (let i = 1; i <= 7; i++) index.append(1000 + i * 3, i * 50);
  index.close(); // no trim
  const reopened = open();
  assert.equal(reopened.entryCount, 7);
  reopened.append(1100, 1000);
  reopened.close();
});

Deno.test("OffsetIndex.sanityCheck() rejects out-of-order entries and positions past the log", () => {
  const { libc, open } = setup();
  const index = open();
  index.append(1010, 100);
  index.append(1020, 200);
  index.trimToValidSize();
  index.close();
  assert.throws(() => open(false).sanityCheck(150), IndexCorruptError);
  const fd = libc.open("/d/0.index", OpenFlags.O_RDWR);
  libc.pwrite(fd, Uint8Array.of(0, 0, 0, 5), 8); // second relative offset 5 < 10
  libc.close(fd);
  assert.throws(() => open(false).sanityCheck(1000), IndexCorruptError);
});

Deno.test("OffsetIndex.open() rejects a size that is not whole entries", () => {
  const { libc, open } = setup();
  const fd = libc.open("/d/0.index", OpenFlags.O_RDWR | OpenFlags.O_CREAT);
  libc.ftruncate(fd, 13);
  libc.close(fd);
  assert.throws(() => open(), IndexCorruptError);
});

Deno.test("OffsetIndex.truncateTo() drops entries at or above the offset", () => {
  const { open } = setup();
  const index = open();
  index.append(1010, 100);
  index.append(1020, 200);
  index.append(1030, 300);
  index.truncateTo(1020);
  assert.equal(index.entryCount, 1);
  assert.deepEqual(index.lookup(1025), { offset: 1010, positionBytes: 100 });
  index.append(1015, 150);
  index.close();
});

Deno.test("OffsetIndex maps a window of its preallocated file and doubles it as it fills", () => {
  const { libc, open } = setup(1024 * 1024);
  const index = open();
  assert.equal(index.mappedBytes, WINDOW_BYTES_MIN); // not the whole 1 MiB
  const entries = (3 * WINDOW_BYTES_MIN) / 8 + 5; // past two doublings
  for (let i = 1; i <= entries; i++) index.append(1000 + i, i * 10);
  assert.equal(index.mappedBytes, 4 * WINDOW_BYTES_MIN);
  assert.equal(libc.liveMappingCount(), 1, "the old windows are unmapped");
  for (const i of [1, WINDOW_BYTES_MIN / 8, WINDOW_BYTES_MIN / 8 + 1, entries]) {
    assert.deepEqual(index.lookup(1000 + i), { offset: 1000 + i, positionBytes: i * 10 });
  }
  const fd = libc.open("/d/0.index", OpenFlags.O_RDONLY);
  assert.equal(libc.fileSize(fd), 1024 * 1024, "the file stays preallocated");
  libc.close(fd);
  index.close();
  const reopened = open(false); // trimmed on close: every entry is still there
  assert.equal(reopened.entryCount, entries);
  assert.deepEqual(reopened.lookup(1000 + entries), {
    offset: 1000 + entries,
    positionBytes: entries * 10,
  });
  reopened.close();
});

Deno.test("OffsetIndex left untrimmed past its first window finds its end on reopen", () => {
  const { libc, open } = setup(1024 * 1024);
  const index = open();
  const entries = WINDOW_BYTES_MIN / 8 + 3;
  for (let i = 1; i <= entries; i++) index.append(1000 + i, i);
  index.flush();
  libc.crash(); // no trim: the file keeps its preallocated size
  const reopened = open();
  assert.equal(reopened.entryCount, entries);
  assert.ok(reopened.mappedBytes >= entries * 8 + 8);
  reopened.append(1000 + entries + 1, entries + 1);
  assert.deepEqual(reopened.lookup(1_000_000), {
    offset: 1000 + entries + 1,
    positionBytes: entries + 1,
  });
  reopened.close();
});
