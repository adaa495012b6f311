import { assert } from "../util/assert.ts";
import { memoryLibc } from "../ffi/memory.ts";
import { testBatch } from "./_test_util.ts";
import { floorSegmentIndex, readSlices } from "./fetch_pipeline.ts";
import { PartitionLog } from "./partition_log.ts";

function setup() {
  const libc = memoryLibc();
  const log = PartitionLog.open(libc, "/d/t-0", { segmentBytes: 1000, indexIntervalBytes: 100 });
  const sizes: number[] = [];
  for (let i = 0; i < 20; i++) {
    const bytes = testBatch(2, 1000 + i);
    sizes.push(bytes.length);
    assert.ok(log.append(bytes, { nowMs: 0 }).ok);
  }
  return { log, sizes };
}

Deno.test("floorSegmentIndex() binary-searches base offsets", () => {
  const { log } = setup();
  const bases = log.segments.map((s) => s.baseOffset);
  assert.ok(bases.length >= 3);
  assert.equal(floorSegmentIndex(log.segments, 0), 0);
  assert.equal(floorSegmentIndex(log.segments, bases[1]), 1);
  assert.equal(floorSegmentIndex(log.segments, bases[1] - 1), 0);
  assert.equal(floorSegmentIndex(log.segments, 10 ** 9), bases.length - 1);
});

Deno.test("readSlices() returns whole batches bounded by maxBytes", () => {
  const { log, sizes } = setup();
  const result = readSlices(log.segments, 0, sizes[0] * 3 + 10);
  assert.equal(result.sizeBytes, sizes[0] * 3);
  assert.equal(result.slices.length, 1);
  assert.equal(result.slices[0].positionBytes, 0);
});

Deno.test("readSlices() returns one whole batch when maxBytes is smaller (KIP-74)", () => {
  const { log, sizes } = setup();
  for (const maxBytes of [0, 1, sizes[0] - 1]) {
    const result = readSlices(log.segments, 3, maxBytes);
    assert.equal(result.sizeBytes, sizes[1]);
    assert.equal(result.slices[0].positionBytes, sizes[0]);
  }
});

Deno.test("readSlices() continues across segment boundaries to fill maxBytes", () => {
  const { log } = setup();
  const first = log.segments[0];
  const result = readSlices(log.segments, first.nextOffset - 1, first.sizeBytes + 1000);
  assert.ok(result.slices.length >= 2);
  assert.equal(result.slices[0].fd, first.logFd);
  assert.equal(result.slices[1].fd, log.segments[1].logFd);
  assert.equal(result.slices[1].positionBytes, 0);
  const all = readSlices(log.segments, 0, 1 << 30);
  assert.equal(all.sizeBytes, log.sizeBytes);
  assert.equal(all.slices.length, log.segments.length);
});
