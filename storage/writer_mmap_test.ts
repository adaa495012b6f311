import { assert } from "../util/assert.ts";
import { memoryLibc } from "../ffi/memory.ts";
import { OpenFlags } from "../ffi/port.ts";
import { MmapSegmentWriter } from "./writer_mmap.ts";

const CHUNK_BYTES = 65536;

Deno.test("MmapSegmentWriter grows and maps chunk by chunk, then trims to the real size on close", () => {
  const libc = memoryLibc();
  const fd = libc.open("/m.log", OpenFlags.O_RDWR | OpenFlags.O_CREAT);
  const writer = new MmapSegmentWriter(libc, {
    fd,
    path: "/m.log",
    sizeBytes: 0,
    mmapChunkBytes: CHUNK_BYTES,
  });
  assert.equal(libc.liveMappingCount(), 0);
  writer.append(new Uint8Array(10).fill(1));
  assert.equal(libc.fileSize(fd), CHUNK_BYTES);
  assert.equal(libc.liveMappingCount(), 1);
  writer.append(new Uint8Array(CHUNK_BYTES * 2).fill(2));
  assert.equal(libc.fileSize(fd), CHUNK_BYTES * 3);
  assert.equal(libc.liveMappingCount(), 3);
  writer.flush();
  writer.close();
  assert.equal(libc.liveMappingCount(), 0);
  assert.equal(libc.fileSize(fd), CHUNK_BYTES * 2 + 10);
  const bytes = libc.readFile("/m.log");
  assert.ok(
    bytes.subarray(0, 10).every((b) => b === 1) && bytes.subarray(10).every((b) => b === 2),
  );
});

Deno.test("MmapSegmentWriter.flush() makes the dirty range durable with msync", () => {
  const libc = memoryLibc();
  const fd = libc.open("/m.log", OpenFlags.O_RDWR | OpenFlags.O_CREAT);
  const writer = new MmapSegmentWriter(libc, {
    fd,
    path: "/m.log",
    sizeBytes: 0,
    mmapChunkBytes: CHUNK_BYTES,
  });
  writer.append(new Uint8Array(CHUNK_BYTES + 5).fill(7));
  writer.flush();
  writer.append(new Uint8Array(5).fill(8)); // not flushed
  libc.crash();
  const bytes = libc.readFile("/m.log");
  assert.ok(bytes.subarray(0, CHUNK_BYTES + 5).every((b) => b === 7));
  assert.ok(bytes.subarray(CHUNK_BYTES + 5).every((b) => b === 0));
});
