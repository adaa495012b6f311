import { assertEquals } from "../../util/assert.ts";
import { Errno, type Libc } from "../../ffi/port.ts";
import { memoryLibc } from "../../ffi/memory.ts";
import { createLogger } from "../../util/log.ts";
import { GroupCoordinator } from "./coordinator.ts";
import { ManualClock, TEST_SETTINGS } from "./_test_util.ts";

/** A coordinator whose topics are `topics`, each with partitions 0 and 1. */
function open(libc: Libc, clock: ManualClock, topics: ReadonlySet<string>): GroupCoordinator {
  libc.mkdirp("/data");
  return GroupCoordinator.open(libc, {
    dataDir: "/data",
    settings: TEST_SETTINGS,
    logger: createLogger("silent"),
    nowMs: () => clock.nowMs(),
    partitions: {
      highWatermark: (topic, partition) =>
        topics.has(topic) && partition >= 0 && partition < 2 ? 10 : undefined,
    },
    timerPort: clock,
  });
}

/** A simple consumer's commit (no generation); returns the error codes. */
function commit(c: GroupCoordinator, groupId: string, topic: string, partitions: number[]) {
  return c.offsets.commit({
    groupId,
    generationId: -1,
    memberId: "",
    groupInstanceId: null,
    retentionTimeMs: -1,
    topics: [{
      name: topic,
      partitions: partitions.map((p) => ({
        partitionIndex: p,
        committedOffset: 5 + p,
        committedLeaderEpoch: -1,
        committedMetadata: null,
      })),
    }],
  }).flatMap((t) => t.partitions.map((p) => p.errorCode));
}

/** Every committed offset of `groupId` as `topic/partition=offset`. */
function committed(c: GroupCoordinator, groupId: string): string[] {
  return c.offsets.fetch(groupId, null).flatMap((t) =>
    t.partitions.map((p) => `${t.name}/${p.partitionIndex}=${p.committedOffset}`)
  );
}

/** OffsetFetch of topic `topic` partitions 0 and 1 by name, as a client asks after a re-create. */
function fetchTopic(c: GroupCoordinator, groupId: string, topic: string): number[] {
  return c.offsets.fetch(groupId, [{ name: topic, partitionIndexes: [0, 1] }])[0].partitions.map(
    (p) => p.committedOffset,
  );
}

Deno.test("GroupCoordinator.deleteTopicOffsets() drops the topic's offsets in every group, durably", () => {
  const libc = memoryLibc();
  const clock = new ManualClock();
  const topics = new Set(["a", "b"]);
  let c = open(libc, clock, topics);
  assertEquals(commit(c, "both", "a", [0, 1]), [0, 0]);
  assertEquals(commit(c, "both", "b", [0]), [0]);
  assertEquals(commit(c, "only-a", "a", [1]), [0]);

  topics.delete("a");
  c.deleteTopicOffsets("a");
  assertEquals(committed(c, "both"), ["b/0=5"]);
  // A group left with no offsets and no members goes, as Kafka's cleanupGroupMetadata does.
  assertEquals([c.state("only-a"), committed(c, "only-a")], [undefined, []]);
  assertEquals(c.groupIds(), ["both"]);

  // The topic is re-created: the tombstones were flushed, so nothing comes back on reopen.
  topics.add("a");
  c.close();
  c = open(libc, clock, topics);
  assertEquals(fetchTopic(c, "both", "a"), [-1, -1]);
  assertEquals(fetchTopic(c, "only-a", "a"), [-1, -1]);
  assertEquals(committed(c, "both"), ["b/0=5"]);
  c.close();
});

Deno.test("GroupCoordinator.open() drops offsets of a topic deleted just before a crash", () => {
  const libc = memoryLibc();
  const clock = new ManualClock();
  const topics = new Set(["a", "b"]);
  let c = open(libc, clock, topics);
  assertEquals(commit(c, "g", "a", [0, 1]), [0, 0]);
  assertEquals(commit(c, "g", "b", [1]), [0]);
  // The topic metadata no longer names "a", but the broker dies before the cleanup runs.
  topics.delete("a");
  libc.crash(); // only fdatasync'd bytes survive

  // At start the partitions that no longer exist lose their offsets, for good.
  c = open(libc, clock, topics);
  assertEquals(committed(c, "g"), ["b/1=6"]);
  libc.crash();
  topics.add("a");
  c = open(libc, clock, topics);
  assertEquals(fetchTopic(c, "g", "a"), [-1, -1]);
  assertEquals(committed(c, "g"), ["b/1=6"]);
  c.close();
});

Deno.test("GroupCoordinator.deleteTopicOffsets(): a failed cleanup write keeps the offsets until the next start", () => {
  const libc = memoryLibc();
  const clock = new ManualClock();
  const topics = new Set(["a"]);
  let c = open(libc, clock, topics);
  assertEquals(commit(c, "g", "a", [0]), [0]);
  libc.addFault({ syscall: "fdatasync", pathIncludes: "__consumer_offsets", errno: Errno.EIO });
  topics.delete("a");
  c.deleteTopicOffsets("a"); // logged, not thrown: the topic is gone whatever the group log says
  assertEquals(committed(c, "g"), ["a/0=5"]);
  libc.clearFaults();
  libc.crash();
  c = open(libc, clock, topics);
  assertEquals([c.state("g"), committed(c, "g")], [undefined, []]);
  c.close();
});
