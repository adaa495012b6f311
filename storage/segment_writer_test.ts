import { assert } from "../util/assert.ts";
import { memoryLibc } from "../ffi/memory.ts";
import { OpenFlags } from "../ffi/port.ts";
import { createSegmentWriter } from "./segment_writer.ts";

Deno.test("createSegmentWriter() builds each kind (behaviour: tests/writer_conformance_test.ts)", () => {
  const libc = memoryLibc();
  const fd = libc.open("/w.log", OpenFlags.O_RDWR | OpenFlags.O_CREAT);
  for (const kind of ["pwrite", "mmap"] as const) {
    const writer = createSegmentWriter(kind, libc, {
      fd,
      path: "/w.log",
      sizeBytes: 0,
      mmapChunkBytes: 65536,
    });
    assert.equal(writer.kind, kind);
    assert.equal(writer.sizeBytes, 0);
    writer.close();
  }
  assert.throws(() =>
    createSegmentWriter("mmap", libc, { fd, path: "/w.log", sizeBytes: 0, mmapChunkBytes: 1000 })
  );
  assert.throws(() => createSegmentWriter("pwrite", libc, { fd, path: "/w.log", sizeBytes: 10 }));
});
