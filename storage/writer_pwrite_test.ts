import { assert } from "../util/assert.ts";
import { memoryLibc } from "../ffi/memory.ts";
import { Errno, IoError, OpenFlags } from "../ffi/port.ts";
import { PwriteSegmentWriter } from "./writer_pwrite.ts";

Deno.test("PwriteSegmentWriter keeps the file exactly sizeBytes long, also after a failed append", () => {
  const libc = memoryLibc({ seed: 5 });
  const fd = libc.open("/p.log", OpenFlags.O_RDWR | OpenFlags.O_CREAT);
  const writer = new PwriteSegmentWriter(libc, { fd, path: "/p.log", sizeBytes: 0 });
  writer.append(new Uint8Array(100).fill(1));
  assert.equal(libc.fileSize(fd), 100);
  libc.addFault({ syscall: "pwrite", shortWrite: true, times: 3 });
  libc.addFault({ syscall: "pwrite", errno: Errno.EFBIG, times: 1 });
  assert.throws(
    () => writer.append(new Uint8Array(1000).fill(2)),
    (e) => e instanceof IoError && e.errno === Errno.EFBIG,
  );
  assert.equal(libc.fileSize(fd), 100);
  assert.equal(writer.sizeBytes, 100);
  writer.append(new Uint8Array(10).fill(3));
  assert.equal(libc.fileSize(fd), 110);
  writer.close();
});
