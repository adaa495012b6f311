import { assert } from "../util/assert.ts";
import {
  joinPath,
  parsePartitionDirName,
  parseSegmentFileName,
  partitionDirName,
  segmentFileName,
} from "./log_files.ts";

Deno.test("segmentFileName() zero-pads the base offset to 20 digits", () => {
  assert.equal(segmentFileName(0, ".log"), "00000000000000000000.log");
  assert.equal(segmentFileName(1234, ".index"), "00000000000000001234.index");
  assert.equal(segmentFileName(2 ** 53 - 1, ".timeindex"), "00009007199254740991.timeindex");
  assert.throws(() => segmentFileName(-1, ".log"));
});

Deno.test("parseSegmentFileName() inverts segmentFileName() and ignores other files", () => {
  for (const suffix of [".log", ".index", ".timeindex"] as const) {
    assert.deepEqual(parseSegmentFileName(segmentFileName(2 ** 32 + 5, suffix)), {
      baseOffset: 2 ** 32 + 5,
      suffix,
    });
  }
  for (
    const name of [
      "0.log",
      "00000000000000000000.log.deleted",
      "leader-epoch-checkpoint",
      "99999999999999999999.log",
    ]
  ) {
    assert.equal(parseSegmentFileName(name), undefined, name);
  }
});

Deno.test("partition directory names round-trip, topics with dashes included", () => {
  assert.equal(partitionDirName("orders", 3), "orders-3");
  assert.deepEqual(parsePartitionDirName("my-topic-12"), { topic: "my-topic", partition: 12 });
  assert.equal(parsePartitionDirName("nodash"), undefined);
  assert.equal(parsePartitionDirName("-1"), undefined);
  assert.equal(parsePartitionDirName("t-x"), undefined);
  assert.throws(() => partitionDirName("a/b", 0));
  assert.equal(joinPath("/d/", "f"), "/d/f");
  assert.equal(joinPath("/d", "f"), "/d/f");
});
