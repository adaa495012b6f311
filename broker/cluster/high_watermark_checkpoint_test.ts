import { assert } from "../../util/assert.ts";
import { memoryLibc } from "../../ffi/memory.ts";
import {
  HIGH_WATERMARK_CHECKPOINT_FILE_NAME,
  parseHighWatermarks,
  readHighWatermarks,
  writeHighWatermarks,
} from "./high_watermark_checkpoint.ts";

Deno.test("writeHighWatermarks() writes Kafka's replication-offset-checkpoint, read back whole", () => {
  const libc = memoryLibc();
  libc.mkdirp("/data");
  assert.deepEqual(readHighWatermarks(libc, "/data"), []); // missing: empty
  const entries = [{ topic: "a", partition: 0, offset: 10 }, {
    topic: "b.c",
    partition: 3,
    offset: 0,
  }];
  writeHighWatermarks(libc, "/data", entries);
  const text = new TextDecoder().decode(
    libc.readFile(`/data/${HIGH_WATERMARK_CHECKPOINT_FILE_NAME}`),
  );
  assert.equal(text, "0\n2\na 0 10\nb.c 3 0\n");
  assert.deepEqual(readHighWatermarks(libc, "/data"), entries);
});

Deno.test("parseHighWatermarks() refuses a wrong version, a wrong count, a bad line", () => {
  assert.throws(() => parseHighWatermarks("1\n0\n"));
  assert.throws(() => parseHighWatermarks("0\n2\na 0 1\n"));
  assert.throws(() => parseHighWatermarks("0\n1\na x 1\n"));
});
