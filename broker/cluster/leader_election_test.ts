import { assertEquals } from "../../util/assert.ts";
import {
  imbalancedPartitions,
  offlineTransition,
  preferredTransition,
  uncleanTransition,
} from "./leader_election.ts";

const record = (leader: number, isr: number[], leaderEpoch = 3) => ({
  leader,
  leaderEpoch,
  isr,
  controllerEpoch: 1,
});

Deno.test("offlineTransition() elects the first live ISR replica and bumps the epoch", () => {
  const next = offlineTransition(record(1, [1, 2, 3]), [1, 2, 3], new Set([2, 3]), false);
  assertEquals(next, { leader: 2, leaderEpoch: 4, isr: [2, 3] });
});

Deno.test("offlineTransition() drops a dead follower from the ISR without an epoch bump", () => {
  const next = offlineTransition(record(1, [1, 2, 3]), [1, 2, 3], new Set([1, 2]), false);
  assertEquals(next, { leader: 1, leaderEpoch: 3, isr: [1, 2] });
  assertEquals(offlineTransition(record(1, [1, 2]), [1, 2, 3], new Set([1, 2]), false), undefined);
});

Deno.test("offlineTransition() leaves a partition offline without a live ISR member", () => {
  // Replica 3 is live but out of sync: only an unclean election may pick it.
  const next = offlineTransition(record(1, [1]), [1, 2, 3], new Set([3]), false);
  assertEquals(next, { leader: -1, leaderEpoch: 4, isr: [1] });
  assertEquals(offlineTransition(record(-1, [1], 4), [1, 2, 3], new Set([3]), false), undefined);
  const unclean = offlineTransition(record(1, [1]), [1, 2, 3], new Set([3]), true);
  assertEquals(unclean, { leader: 3, leaderEpoch: 4, isr: [3] });
});

Deno.test("offlineTransition() brings an offline partition back when an ISR member returns", () => {
  const next = offlineTransition(record(-1, [1], 4), [2, 1], new Set([1, 2]), false);
  assertEquals(next, { leader: 1, leaderEpoch: 5, isr: [1] });
});

Deno.test("preferredTransition() moves leadership to the first replica when it can lead", () => {
  const live = new Set([1, 2, 3]);
  assertEquals(preferredTransition(record(2, [1, 2]), [1, 2], live), {
    leader: 1,
    leaderEpoch: 4,
    isr: [1, 2],
  });
  assertEquals(preferredTransition(record(1, [1, 2]), [1, 2], live), "not_needed");
  assertEquals(preferredTransition(record(2, [2]), [1, 2], live), "not_available");
  assertEquals(preferredTransition(record(2, [1, 2]), [1, 2], new Set([2])), "not_available");
});

Deno.test("uncleanTransition() only elects for a leaderless partition", () => {
  assertEquals(uncleanTransition(record(1, [1]), [1, 2], new Set([1, 2])), "not_needed");
  assertEquals(uncleanTransition(record(-1, [1]), [1, 2], new Set([2])), {
    leader: 2,
    leaderEpoch: 4,
    isr: [2],
  });
  assertEquals(uncleanTransition(record(-1, [1]), [1, 2], new Set([3])), "not_available");
});

Deno.test("imbalancedPartitions() picks brokers above the imbalance percentage", () => {
  const live = new Set([1, 2]);
  const ps = [
    { id: "a", replicas: [1, 2], record: record(2, [1, 2]) },
    { id: "b", replicas: [1, 2], record: record(1, [1, 2]) },
    { id: "c", replicas: [2, 1], record: record(2, [1, 2]) },
  ];
  // Broker 1 leads 1 of its 2 preferred partitions: 50% > 10%.
  assertEquals(imbalancedPartitions(ps, live, 10).map((p) => p.id), ["a"]);
  assertEquals(imbalancedPartitions(ps, live, 50).map((p) => p.id), []);
});
