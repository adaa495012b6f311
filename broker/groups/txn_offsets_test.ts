import { assertEquals } from "../../util/assert.ts";
import { memoryLibc } from "../../ffi/memory.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import type { GroupCoordinator } from "./coordinator.ts";
import { ManualClock, openCoordinator } from "./_test_util.ts";

function txnCommit(c: GroupCoordinator, producerId: number, partition: number, offset: number) {
  return c.txnOffsets.commit({
    groupId: "g",
    producerId,
    producerEpoch: 0,
    generationId: -1,
    memberId: "",
    groupInstanceId: null,
    topics: [{
      name: "t",
      partitions: [{
        partitionIndex: partition,
        committedOffset: offset,
        committedLeaderEpoch: -1,
        committedMetadata: null,
      }],
    }],
  })[0].partitions[0].errorCode;
}

const committed = (c: GroupCoordinator, partition: number) =>
  c.offsets.fetch("g", [{ name: "t", partitionIndexes: [partition] }])[0].partitions[0]
    .committedOffset;

Deno.test("TxnOffsets: offsets are pending until the COMMIT marker, dropped by ABORT", () => {
  const c = openCoordinator(memoryLibc({ seed: 1 }), new ManualClock());
  try {
    assertEquals(txnCommit(c, 7, 0, 10), ErrorCode.NONE);
    assertEquals(txnCommit(c, 8, 1, 20), ErrorCode.NONE);
    assertEquals(committed(c, 0), -1);
    assertEquals(c.txnOffsets.hasPending("g", "t", 0), true);
    assertEquals(c.txnOffsets.complete(7, 0, true), ErrorCode.NONE);
    assertEquals(c.txnOffsets.complete(8, 0, false), ErrorCode.NONE);
    assertEquals(committed(c, 0), 10);
    assertEquals(committed(c, 1), -1);
    assertEquals(c.txnOffsets.pendingCount, 0);
    assertEquals(txnCommit(c, 7, 9, 1), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  } finally {
    c.close();
  }
});

Deno.test("TxnOffsets survive a restart: decided ones replayed by their marker, undecided ones pending", () => {
  const libc = memoryLibc({ seed: 2 });
  const clock = new ManualClock();
  let c = openCoordinator(libc, clock);
  txnCommit(c, 1, 0, 11); // committed
  txnCommit(c, 2, 1, 22); // aborted
  txnCommit(c, 3, 2, 33); // undecided at the restart
  c.txnOffsets.complete(1, 0, true);
  c.txnOffsets.complete(2, 0, false);
  c.close();
  c = openCoordinator(libc, clock);
  try {
    assertEquals([committed(c, 0), committed(c, 1), committed(c, 2)], [11, -1, -1]);
    assertEquals(c.txnOffsets.hasPending("g", "t", 2), true);
    assertEquals(c.txnOffsets.hasPending("g", "t", 1), false);
    c.txnOffsets.complete(3, 0, true);
    assertEquals(committed(c, 2), 33);
  } finally {
    c.close();
  }
});
