import { assert } from "../../util/assert.ts";
import { type LeaderLog, LeaderState } from "./leader_state.ts";
import type { PartitionState } from "./partition_state.ts";

/** A log whose end the test moves by hand. */
class FakeLog implements LeaderLog {
  logEndOffset = 0;
  #hw: number | undefined;
  get highWatermark(): number {
    return Math.min(this.#hw ?? this.logEndOffset, this.logEndOffset);
  }
  updateHighWatermark(offset: number | undefined): void {
    this.#hw = offset;
  }
}

function state(isr: number[], replicas = [1, 2, 3]): PartitionState {
  return { topic: "t", partition: 0, replicas, leader: 1, leaderEpoch: 3, isr, partitionEpoch: 1 };
}

Deno.test("LeaderState high watermark is the lowest log end over the ISR and never moves back", () => {
  const log = new FakeLog();
  log.logEndOffset = 10;
  log.updateHighWatermark(4); // what the previous leader term had committed
  const leader = new LeaderState(state([1, 2, 3]), log, { nodeId: 1, nowMs: 0 });
  assert.equal(log.highWatermark, 4);
  assert.equal(leader.recordFetch(2, 10, 1), false); // broker 3 has not fetched yet
  assert.equal(leader.recordFetch(3, 7, 1), true);
  assert.equal(log.highWatermark, 7);
  assert.equal(leader.recordFetch(3, 5, 2), false); // lower (a truncating follower): no move back
  assert.equal(log.highWatermark, 7);
  assert.equal(leader.recordFetch(3, 10, 3), true);
  assert.equal(log.highWatermark, 10);
  assert.equal(leader.recordFetch(9, 10, 3), false); // not a replica: ignored
  assert.equal(leader.follower(9), undefined);
});

Deno.test("LeaderState with an ISR of one commits at the log end", () => {
  const log = new FakeLog();
  const leader = new LeaderState(state([1]), log, { nodeId: 1, nowMs: 0 });
  log.logEndOffset = 5;
  assert.equal(leader.maybeIncrementHighWatermark(), true);
  assert.equal(log.highWatermark, 5);
});

Deno.test("LeaderState.outOfSyncReplicas() uses the last time a follower caught up (Kafka's rule)", () => {
  const log = new FakeLog();
  log.logEndOffset = 100;
  const leader = new LeaderState(state([1, 2, 3]), log, { nodeId: 1, nowMs: 0 });
  const lagMaxMs = 1000;
  assert.deepEqual(leader.outOfSyncReplicas(1000, lagMaxMs), []); // new followers start caught up
  leader.recordFetch(2, 100, 900); // at the log end: caught up at 900
  leader.recordFetch(3, 50, 900); // behind
  assert.deepEqual(leader.outOfSyncReplicas(1500, lagMaxMs), [3]);
  // Broker 3 reaches the log end as it was at its previous fetch: caught up as of that fetch.
  log.logEndOffset = 120;
  leader.recordFetch(3, 100, 1600);
  assert.equal(leader.follower(3)!.lastCaughtUpTimeMs, 900);
  leader.recordFetch(3, 120, 1700);
  assert.equal(leader.follower(3)!.lastCaughtUpTimeMs, 1700);
  assert.deepEqual(leader.outOfSyncReplicas(2000, lagMaxMs), [2]); // 2 last caught up at 900
});

Deno.test("LeaderState.catchingUpReplicas() needs the high watermark and this epoch's start", () => {
  const log = new FakeLog();
  log.logEndOffset = 20; // the epoch starts here
  log.updateHighWatermark(20);
  const leader = new LeaderState(state([1, 2]), log, { nodeId: 1, nowMs: 0 });
  assert.equal(leader.epochStartOffset, 20);
  leader.recordFetch(3, 15, 1);
  assert.deepEqual(leader.catchingUpReplicas(), []);
  leader.recordFetch(3, 20, 2);
  assert.deepEqual(leader.catchingUpReplicas(), [3]);
  leader.update({ ...state([1, 2, 3]), partitionEpoch: 2 }, 3);
  assert.deepEqual(leader.catchingUpReplicas(), []);
  assert.equal(leader.state.partitionEpoch, 2);
  // A replica dropped from the assignment is forgotten.
  leader.update({ ...state([1, 2], [1, 2]), partitionEpoch: 3 }, 4);
  assert.equal(leader.follower(3), undefined);
});

Deno.test("LeaderState counts a replica joining the ISR toward the high watermark until the next state", () => {
  const log = new FakeLog();
  log.logEndOffset = 10;
  const leader = new LeaderState(state([1, 2]), log, { nodeId: 1, nowMs: 0 });
  leader.recordFetch(2, 10, 1);
  leader.recordFetch(3, 10, 1);
  assert.equal(log.highWatermark, 10);
  assert.deepEqual(leader.catchingUpReplicas(), [3]);
  // The expansion to [1,2,3] is asked; meanwhile the log grows and only broker 2 keeps up.
  leader.setJoining([3]);
  log.logEndOffset = 20;
  assert.equal(leader.recordFetch(2, 20, 2), false);
  assert.equal(log.highWatermark, 10); // broker 3, electable once the change is written, has 10
  assert.equal(leader.recordFetch(3, 15, 3), true);
  assert.equal(log.highWatermark, 15);
  // The written state arrives: broker 3 is a member now, and the joiners are settled.
  leader.update({ ...state([1, 2, 3]), partitionEpoch: 2 }, 4);
  assert.equal(log.highWatermark, 15);
  // A lost compare-and-swap settles it too: broker 3 no longer holds the high watermark back.
  leader.setJoining([3]);
  leader.update({ ...state([1, 2]), partitionEpoch: 3 }, 5);
  assert.equal(log.highWatermark, 20);
});
