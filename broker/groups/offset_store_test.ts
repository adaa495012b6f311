import { assertEquals } from "../../util/assert.ts";
import { Errno } from "../../ffi/port.ts";
import { memoryLibc } from "../../ffi/memory.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import type { GroupCoordinator } from "./coordinator.ts";
import { ManualClock, openCoordinator } from "./_test_util.ts";
import {
  decodeGroupValue,
  decodeKey,
  decodeOffsetValue,
  encodeGroupValue,
  encodeOffsetKey,
  encodeOffsetValue,
} from "./records.ts";

function commit(c: GroupCoordinator, partition: number, offset: number, groupId = "simple") {
  return c.offsets.commit({
    groupId,
    generationId: -1,
    memberId: "",
    groupInstanceId: null,
    retentionTimeMs: -1,
    topics: [{
      name: "t",
      partitions: [{
        partitionIndex: partition,
        committedOffset: offset,
        committedLeaderEpoch: 7,
        committedMetadata: "m",
      }],
    }],
  })[0].partitions[0].errorCode;
}

const offsetsOf = (c: GroupCoordinator, groupId = "simple") =>
  c.offsets.fetch(groupId, null).flatMap((t) =>
    t.partitions.map((
      p,
    ) => [p.partitionIndex, p.committedOffset, p.committedLeaderEpoch, p.metadata])
  );

Deno.test("group log records round-trip in Kafka's formats", () => {
  assertEquals(decodeKey(encodeOffsetKey("g", "t", 3)), {
    kind: "offset",
    groupId: "g",
    topic: "t",
    partition: 3,
  });
  const withEpoch = {
    offset: 5,
    leaderEpoch: 2,
    metadata: "x",
    commitTimestampMs: 9,
    expireTimestampMs: -1,
  };
  assertEquals(decodeOffsetValue(encodeOffsetValue(withEpoch)), withEpoch);
  const withExpiry = {
    offset: 5,
    leaderEpoch: -1,
    metadata: "",
    commitTimestampMs: 9,
    expireTimestampMs: 99,
  };
  assertEquals(decodeOffsetValue(encodeOffsetValue(withExpiry)), withExpiry);
  const group = {
    protocolType: "consumer",
    generationId: 4,
    protocolName: "range",
    leaderId: "m1",
    currentStateTimestampMs: 7,
    members: [{
      memberId: "m1",
      groupInstanceId: null,
      clientId: "c",
      clientHost: "/h",
      rebalanceTimeoutMs: 1,
      sessionTimeoutMs: 2,
      subscription: new Uint8Array([1]),
      assignment: new Uint8Array([2]),
    }],
  };
  assertEquals(decodeGroupValue(encodeGroupValue(group)), group);
});

Deno.test("OffsetStore: an acknowledged commit survives a crash; the last commit wins", () => {
  const libc = memoryLibc();
  const clock = new ManualClock();
  let c = openCoordinator(libc, clock);
  assertEquals(commit(c, 0, 10), 0);
  assertEquals(commit(c, 0, 20), 0);
  assertEquals(commit(c, 1, 5), 0);
  libc.crash(); // only fdatasync'd bytes survive
  c = openCoordinator(libc, clock);
  assertEquals(offsetsOf(c), [[0, 20, 7, "m"], [1, 5, 7, "m"]]);
  assertEquals(c.lag("simple").map((l) => l.lag), [80, 95]);
  c.close();
});

Deno.test("OffsetStore: a commit that cannot be flushed is refused and changes nothing", () => {
  const libc = memoryLibc();
  const clock = new ManualClock();
  const c = openCoordinator(libc, clock);
  assertEquals(commit(c, 0, 10), 0);
  libc.addFault({
    syscall: "fdatasync",
    pathIncludes: "__consumer_offsets",
    errno: Errno.EIO,
    times: 1,
  });
  assertEquals(commit(c, 0, 11), ErrorCode.NOT_COORDINATOR);
  assertEquals(offsetsOf(c), [[0, 10, 7, "m"]]);
  libc.clearFaults();
  assertEquals(commit(c, 0, 12), 0);
  assertEquals(offsetsOf(c), [[0, 12, 7, "m"]]);
  c.close();
});

Deno.test("OffsetStore: compaction keeps the live state across a reopen and shrinks the log", () => {
  const libc = memoryLibc();
  const clock = new ManualClock();
  let c = openCoordinator(libc, clock, {}, 4096);
  for (let i = 0; i < 200; i++) assertEquals(commit(c, i % 4, i), 0);
  c.close();
  c = openCoordinator(libc, clock, {}, 4096);
  assertEquals(offsetsOf(c).map((o) => o[1]), [196, 197, 198, 199]);
  const dirs = libc.readdir("/data/__consumer_offsets").filter((e) => e.isDirectory).map((e) =>
    e.name
  );
  assertEquals(dirs.length, 1);
  assertEquals(dirs[0] === "log-0", false); // at least one rewrite happened
  c.close();
});

Deno.test("offset retention: an Empty group's offsets expire, then the group itself", async () => {
  const libc = memoryLibc();
  const clock = new ManualClock();
  let c = openCoordinator(libc, clock);
  const a = await c.membership.join({
    groupId: "g",
    memberId: "",
    groupInstanceId: null,
    requireKnownMemberId: false,
    clientId: "c",
    clientHost: "/h",
    rebalanceTimeoutMs: 1000,
    sessionTimeoutMs: 1000,
    protocolType: "consumer",
    protocols: [{ name: "range", metadata: new Uint8Array(0) }],
  });
  const committed = c.offsets.commit({
    groupId: "g",
    generationId: 1,
    memberId: a.memberId,
    groupInstanceId: null,
    retentionTimeMs: -1,
    topics: [{
      name: "t",
      partitions: [{
        partitionIndex: 0,
        committedOffset: 3,
        committedLeaderEpoch: -1,
        committedMetadata: null,
      }],
    }],
  });
  assertEquals(committed[0].partitions[0].errorCode, ErrorCode.REBALANCE_IN_PROGRESS); // not synced yet
  await c.membership.sync({
    groupId: "g",
    generationId: 1,
    memberId: a.memberId,
    groupInstanceId: null,
    protocolType: null,
    protocolName: null,
    assignments: new Map(),
  });
  c.offsets.commit({
    groupId: "g",
    generationId: 1,
    memberId: a.memberId,
    groupInstanceId: null,
    retentionTimeMs: -1,
    topics: [{
      name: "t",
      partitions: [{
        partitionIndex: 0,
        committedOffset: 3,
        committedLeaderEpoch: -1,
        committedMetadata: null,
      }],
    }],
  });
  assertEquals(c.membership.leave("g", [{ memberId: a.memberId, groupInstanceId: null }]).members, [
    0,
  ]);
  assertEquals(c.state("g"), "Empty"); // at once, as in Kafka: no empty rebalance to wait for
  clock.advance(50_000); // retention (60 s) not yet passed since the group became Empty
  assertEquals(offsetsOf(c, "g").length, 1);
  clock.advance(20_000);
  assertEquals(offsetsOf(c, "g").length, 0);
  assertEquals(c.state("g"), undefined);
  c.close();
  c = openCoordinator(libc, clock);
  assertEquals([c.state("g"), offsetsOf(c, "g").length], [undefined, 0]);
  c.close();
});
