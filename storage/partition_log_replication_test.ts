import { assert } from "../util/assert.ts";
import { concatBytes } from "../util/bytes.ts";
import { memoryLibc } from "../ffi/memory.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { RecordBatchView } from "../protocol/record_batch.ts";
import { encodeRecordBatch } from "../protocol/records.ts";
import { testBatch } from "./_test_util.ts";
import { PartitionLog } from "./partition_log.ts";
import { LEADER_EPOCH_CHECKPOINT_FILE_NAME } from "./leader_epoch_cache.ts";

/** The bytes of the log's batches from `offset` to the log end. */
function logBytes(log: PartitionLog, libc: ReturnType<typeof memoryLibc>, offset = 0): Uint8Array {
  const read = log.readToLogEnd(offset, 1 << 30);
  return concatBytes(read.slices.map((s) => {
    const out = new Uint8Array(s.sizeBytes);
    libc.pread(s.fd, out, s.positionBytes);
    return out;
  }));
}

Deno.test("PartitionLog.append() stamps the leader epoch and records where each epoch starts", () => {
  const libc = memoryLibc();
  const log = PartitionLog.open(libc, "/d/t-0");
  const first = testBatch(3);
  log.append(first, { nowMs: 0, leaderEpoch: 4 });
  assert.equal(new RecordBatchView(first).partitionLeaderEpoch, 4);
  log.append(testBatch(2), { nowMs: 0, leaderEpoch: 4 });
  log.append(testBatch(1), { nowMs: 0, leaderEpoch: 6 });
  assert.deepEqual(log.leaderEpochCache.entries, [
    { epoch: 4, startOffset: 0 },
    { epoch: 6, startOffset: 5 },
  ]);
  assert.deepEqual(log.endOffsetForEpoch(4), { epoch: 4, endOffset: 5 });
  log.close();
  const reopened = PartitionLog.open(libc, "/d/t-0");
  assert.deepEqual(reopened.leaderEpochCache.entries.map((e) => e.epoch), [4, 6]);
  reopened.close();
});

Deno.test("PartitionLog.appendAsFollower() keeps the leader's offsets and epochs, refuses a gap", () => {
  const libc = memoryLibc();
  const leader = PartitionLog.open(libc, "/l/t-0");
  leader.append(testBatch(3), { nowMs: 0, leaderEpoch: 1 });
  leader.append(testBatch(2), { nowMs: 0, leaderEpoch: 2 });
  const bytes = logBytes(leader, libc);
  const follower = PartitionLog.open(libc, "/f/t-0");
  const ok = follower.appendAsFollower(bytes.slice(), 0);
  assert.ok(ok.ok && ok.baseOffset === 0 && ok.lastOffset === 4);
  assert.deepEqual(logBytes(follower, libc), bytes); // byte-identical
  assert.deepEqual(follower.leaderEpochCache.entries, leader.leaderEpochCache.entries);
  const gap = encodeRecordBatch([{ key: null, value: new Uint8Array(1), timestampMs: 0 }]);
  new RecordBatchView(gap).setBaseOffset(9);
  const refused = follower.appendAsFollower(gap, 0);
  assert.equal(refused.ok, false);
  assert.equal(!refused.ok && refused.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
  leader.close();
  follower.close();
});

Deno.test("PartitionLog.read() stops at the high watermark unless asked for the log end", () => {
  const libc = memoryLibc();
  const log = PartitionLog.open(libc, "/d/t-0");
  log.append(testBatch(3), { nowMs: 0 });
  log.append(testBatch(2), { nowMs: 0 });
  log.append(testBatch(4), { nowMs: 0 });
  log.updateHighWatermark(5);
  assert.equal(log.highWatermark, 5);
  const consumer = log.read(0, 1 << 20);
  assert.deepEqual([consumer.firstOffset, consumer.nextOffset], [0, 5]);
  assert.equal(log.read(5, 1 << 20).slices.length, 0);
  assert.equal(log.read(7, 1 << 20).errorCode, ErrorCode.NONE); // above the HW: empty
  const replica = log.readToLogEnd(0, 1 << 20);
  assert.deepEqual([replica.firstOffset, replica.nextOffset], [0, 9]);
  log.updateHighWatermark(undefined);
  assert.equal(log.highWatermark, 9);
  log.close();
});

Deno.test("PartitionLog.truncateTo() cuts at a batch, across segments, and rebuilds what follows", () => {
  const libc = memoryLibc();
  const log = PartitionLog.open(libc, "/d/t-0", { segmentBytes: 300 });
  for (let i = 0; i < 6; i++) log.append(testBatch(2), { nowMs: 0, leaderEpoch: i < 3 ? 1 : 2 });
  assert.ok(log.segmentCount > 1);
  assert.equal(log.logEndOffset, 12);
  const kept = logBytes(log, libc).slice(0, logBytes(log, libc).length); // whole log
  const end = log.truncateTo(5); // inside the batch 4..5: cut before it
  assert.equal(end, 4);
  assert.equal(log.logEndOffset, 4);
  assert.deepEqual(log.leaderEpochCache.entries, [{ epoch: 1, startOffset: 0 }]);
  const after = log.append(testBatch(1), { nowMs: 0, leaderEpoch: 3 });
  assert.ok(after.ok && after.baseOffset === 4);
  assert.deepEqual(
    logBytes(log, libc).subarray(0, 2 * testBatch(2).length),
    kept.subarray(0, 2 * testBatch(2).length),
  );
  assert.equal(log.truncateTo(10), 5); // past the end: nothing
  log.close();
  const reopened = PartitionLog.open(libc, "/d/t-0", { segmentBytes: 300 });
  assert.equal(reopened.logEndOffset, 5);
  assert.deepEqual(reopened.leaderEpochCache.entries.map((e) => e.epoch), [1, 3]);
  reopened.close();
});

Deno.test("PartitionLog.truncateFullyAndStartAt() empties the log to start over at an offset", () => {
  const libc = memoryLibc();
  const log = PartitionLog.open(libc, "/d/t-0", { segmentBytes: 300 });
  for (let i = 0; i < 4; i++) log.append(testBatch(2), { nowMs: 0, leaderEpoch: 1 });
  log.truncateFullyAndStartAt(50);
  assert.deepEqual([log.logStartOffset, log.logEndOffset, log.highWatermark], [50, 50, 50]);
  assert.equal(log.segmentCount, 1);
  assert.deepEqual(log.leaderEpochCache.entries, []);
  assert.deepEqual(
    libc.readdir("/d/t-0").map((e) => e.name).filter((n) => n.endsWith(".log")),
    ["00000000000000000050.log"],
  );
  const leader = PartitionLog.open(libc, "/l/t-0");
  leader.truncateFullyAndStartAt(50);
  leader.append(testBatch(3), { nowMs: 0, leaderEpoch: 2 });
  const appended = log.appendAsFollower(logBytes(leader, libc, 50), 0);
  assert.ok(appended.ok && appended.baseOffset === 50);
  log.close();
  leader.close();
  const reopened = PartitionLog.open(libc, "/d/t-0", { segmentBytes: 300 });
  assert.deepEqual([reopened.logStartOffset, reopened.logEndOffset], [50, 53]);
  assert.deepEqual(reopened.leaderEpochCache.entries, [{ epoch: 2, startOffset: 50 }]);
  reopened.close();
});

Deno.test("PartitionLog.open() rebuilds lost leader epochs from the batches", () => {
  const libc = memoryLibc();
  const checkpoint = `/d/t-0/${LEADER_EPOCH_CHECKPOINT_FILE_NAME}`;
  const one = PartitionLog.open(libc, "/d/t-0", { segmentBytes: 300 });
  for (let i = 0; i < 4; i++) one.append(testBatch(2), { nowMs: 0 }); // epoch 0, as one node writes
  one.close();
  libc.unlink(checkpoint); // a log from before the checkpoint existed
  const reopened = PartitionLog.open(libc, "/d/t-0", { segmentBytes: 300 });
  assert.deepEqual(reopened.leaderEpochCache.entries, [{ epoch: 0, startOffset: 0 }]);
  for (const epoch of [3, 3, 5]) reopened.append(testBatch(1), { nowMs: 0, leaderEpoch: epoch });
  reopened.close();
  libc.unlink(checkpoint);
  const mixed = PartitionLog.open(libc, "/d/t-0", { segmentBytes: 300 });
  assert.deepEqual(mixed.leaderEpochCache.entries, [
    { epoch: 0, startOffset: 0 },
    { epoch: 3, startOffset: 8 },
    { epoch: 5, startOffset: 10 },
  ]);
  mixed.close();
});
