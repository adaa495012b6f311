import { assert } from "../util/assert.ts";
import { memoryLibc } from "../ffi/memory.ts";
import { OpenFlags } from "../ffi/port.ts";
import { RecordBatchView, validateBatches } from "../protocol/record_batch.ts";
import { testBatch } from "./_test_util.ts";
import { logConfig } from "./log_config.ts";
import { Segment } from "./segment.ts";

const config = logConfig({
  indexIntervalBytes: 150,
  segmentIndexBytes: 400,
  segmentBytes: 100_000,
});

function setup() {
  const libc = memoryLibc();
  libc.mkdirp("/d");
  const open = (baseOffset = 100, active = true, recover = false) =>
    Segment.open(libc, { dir: "/d", baseOffset, config, nowMs: 0, active, recover });
  return { libc, open };
}

/** Appends batches of the given record counts from `segment.nextOffset`; returns their positions. */
function appendAll(segment: Segment, counts: number[], timestampMs = 1000): number[] {
  const positions: number[] = [];
  for (const count of counts) {
    const bytes = testBatch(count, timestampMs);
    timestampMs += 100;
    new RecordBatchView(bytes).setBaseOffset(segment.nextOffset);
    const validation = validateBatches(bytes, { maxMessageBytes: 1 << 20 });
    assert.ok(validation.ok);
    positions.push(segment.sizeBytes);
    segment.append(bytes, validation.batches);
  }
  return positions;
}

Deno.test("Segment.append() writes, indexes every index.interval.bytes and tracks offsets", () => {
  const { open } = setup();
  const segment = open();
  const positions = appendAll(segment, [1, 2, 3, 1, 2, 3, 1, 2, 3]);
  assert.equal(segment.nextOffset, 118);
  assert.ok(segment.offsetIndex.entryCount >= 2);
  assert.deepEqual(segment.maxTimestamp, { timestampMs: 1802, offset: 117 });
  const e = segment.offsetIndex.entry(0);
  assert.ok(positions.includes(e.positionBytes));
  assert.deepEqual(segment.findBatch(100), {
    positionBytes: 0,
    sizeBytes: positions[1],
    baseOffset: 100,
    lastOffset: 100,
  });
  assert.equal(segment.findBatch(102)?.baseOffset, 101);
  assert.equal(segment.findBatch(117)?.positionBytes, positions[8]);
  assert.equal(segment.findBatch(118), undefined);
  segment.close();
});

Deno.test("Segment.batchEndAtOrBelow() stops at whole batches and names the next offset", () => {
  const { open } = setup();
  const segment = open();
  const positions = appendAll(segment, [1, 1, 1, 1, 1, 1]);
  const first = segment.findBatch(0)!.baseOffset;
  assert.deepEqual(segment.batchEndAtOrBelow(0, positions[3] + 5), {
    positionBytes: positions[3],
    nextOffset: first + 3,
  });
  assert.deepEqual(segment.batchEndAtOrBelow(positions[1], positions[2] - 1), {
    positionBytes: positions[1],
    nextOffset: first + 1,
  });
  assert.deepEqual(segment.batchEndAtOrBelow(0, 1 << 30), {
    positionBytes: segment.sizeBytes,
    nextOffset: first + 6,
  });
  assert.equal(segment.nextOffset, first + 6);
  segment.close();
});

Deno.test("Segment.findOffsetByTimestamp() finds the first record at or after the timestamp", () => {
  const { open } = setup();
  const segment = open();
  appendAll(segment, [3, 3, 3, 3, 3, 3]); // timestamps 1000..1002, 1100..1102, ...
  assert.deepEqual(segment.findOffsetByTimestamp(0, 0), { offset: 100, timestampMs: 1000 });
  assert.deepEqual(segment.findOffsetByTimestamp(1101, 0), { offset: 104, timestampMs: 1101 });
  assert.deepEqual(segment.findOffsetByTimestamp(1150, 0), { offset: 106, timestampMs: 1200 });
  assert.deepEqual(segment.findOffsetByTimestamp(1000, 108), { offset: 108, timestampMs: 1202 });
  assert.equal(segment.findOffsetByTimestamp(1503, 0), undefined);
  segment.close();
});

Deno.test("Segment.shouldRoll() on size, segment.ms, full index and relative offset overflow", () => {
  const { open } = setup();
  const segment = open();
  const append = { sizeBytes: 100, lastOffset: 100, maxTimestampMs: 1000, nowMs: 0 };
  assert.ok(!segment.shouldRoll(append));
  assert.ok(!segment.shouldRoll({ ...append, nowMs: 10 ** 12 })); // empty: never on time
  assert.ok(segment.shouldRoll({ ...append, sizeBytes: 100_001 }));
  assert.ok(segment.shouldRoll({ ...append, lastOffset: 100 + 2 ** 31 }));
  assert.ok(!segment.shouldRoll({ ...append, lastOffset: 100 + 2 ** 31 - 1 }));
  appendAll(segment, [1], 5000);
  assert.ok(!segment.shouldRoll({ ...append, maxTimestampMs: 5000 + config.segmentMs }));
  assert.ok(segment.shouldRoll({ ...append, maxTimestampMs: 5001 + config.segmentMs }));
  segment.close();
});

Deno.test("Segment.open() rebuilds a corrupt index from the log", () => {
  const { libc, open } = setup();
  const segment = open();
  appendAll(segment, [1, 2, 3, 1, 2, 3, 1, 2, 3]);
  const entries = segment.offsetIndex.entryCount;
  const lookup = segment.offsetIndex.lookup(110);
  segment.close();
  const fd = libc.open("/d/00000000000000000100.index", OpenFlags.O_RDWR);
  libc.pwrite(fd, Uint8Array.of(0xff, 0xff, 0xff, 0xff), 0); // entry 0 now out of order
  libc.close(fd);
  const reopened = open(100, false);
  assert.equal(reopened.offsetIndex.entryCount, entries);
  assert.deepEqual(reopened.offsetIndex.lookup(110), lookup);
  assert.equal(reopened.nextOffset, 118);
  reopened.close();
});

Deno.test("Segment recovery cuts a batch with a bad CRC and everything after it", () => {
  const { libc, open } = setup();
  const segment = open();
  const positions = appendAll(segment, [2, 2, 2, 2]);
  const totalBytes = segment.sizeBytes;
  segment.close();
  const fd = libc.open("/d/00000000000000000100.log", OpenFlags.O_RDWR);
  libc.pwrite(fd, Uint8Array.of(0x55), positions[2] + 70);
  libc.close(fd);
  const recovered = open(100, true, true);
  assert.equal(recovered.sizeBytes, positions[2]);
  assert.equal(recovered.nextOffset, 104);
  assert.equal(recovered.truncatedBytes, totalBytes - positions[2]);
  recovered.close();
});

Deno.test("Segment.delete() removes its three files", () => {
  const { libc, open } = setup();
  const segment = open(0);
  appendAll(segment, [1]);
  segment.delete();
  assert.deepEqual(libc.readdir("/d"), []);
  assert.equal(libc.openFdCount(), 0);
  assert.equal(libc.liveMappingCount(), 0);
});
