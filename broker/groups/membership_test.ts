import { assert, assertEquals } from "../../util/assert.ts";
import { memoryLibc } from "../../ffi/memory.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import type { JoinResult } from "./group.ts";
import { joinNow, joinRequest, ManualClock, openCoordinator } from "./_test_util.ts";

const sync = (
  c: ReturnType<typeof openCoordinator>,
  memberId: string,
  generationId: number,
  assignments: [string, string][] = [],
) =>
  c.membership.sync({
    groupId: "g",
    generationId,
    memberId,
    groupInstanceId: null,
    protocolType: null,
    protocolName: null,
    assignments: new Map(assignments.map(([m, a]) => [m, new TextEncoder().encode(a)])),
  });

Deno.test("Membership.join() asks a new v4+ member for its id, then accepts it; the pending id expires", async () => {
  const clock = new ManualClock();
  const c = openCoordinator(memoryLibc(), clock);
  const first = await joinNow(c, { requireKnownMemberId: true });
  assertEquals(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  assert(first.memberId.startsWith("c-"));
  const second = await joinNow(c, { requireKnownMemberId: true, memberId: first.memberId });
  assertEquals([second.errorCode, second.generationId, second.leader], [0, 1, first.memberId]);
  // A pending id that never comes back expires after the session timeout.
  const ghost = await joinNow(c, { requireKnownMemberId: true });
  clock.advance(1000);
  assertEquals(
    (await joinNow(c, { memberId: ghost.memberId })).errorCode,
    ErrorCode.UNKNOWN_MEMBER_ID,
  );
  c.close();
  assertEquals(clock.pendingCount, 0);
});

Deno.test("Membership: a silent member is evicted at its session timeout and the group rebalances", async () => {
  const clock = new ManualClock();
  const c = openCoordinator(memoryLibc(), clock);
  const a = await joinNow(c);
  assertEquals((await sync(c, a.memberId, 1, [[a.memberId, "all"]])).errorCode, 0);
  const bJoin = c.membership.join(joinRequest()) as Promise<JoinResult>;
  assertEquals(c.state("g"), "PreparingRebalance");
  assertEquals(
    c.membership.heartbeat({
      groupId: "g",
      generationId: 1,
      memberId: a.memberId,
      groupInstanceId: null,
    }),
    ErrorCode.REBALANCE_IN_PROGRESS,
  );
  const aJoin = c.membership.join(joinRequest({ memberId: a.memberId })) as Promise<JoinResult>;
  const [a2, b2] = await Promise.all([aJoin, bJoin]);
  assertEquals([a2.generationId, b2.generationId, a2.members.length, b2.members.length], [
    2,
    2,
    2,
    0,
  ]);
  const bSync = sync(c, b2.memberId, 2);
  await sync(c, a.memberId, 2, [[a.memberId, "x"], [b2.memberId, "y"]]);
  assertEquals(new TextDecoder().decode((await bSync).assignment), "y");
  // A heartbeats; B goes silent.
  for (let i = 0; i < 5; i++) {
    clock.advance(300);
    c.membership.heartbeat({
      groupId: "g",
      generationId: 2,
      memberId: a.memberId,
      groupInstanceId: null,
    });
  }
  assertEquals(c.describe("g").members.map((m) => m.memberId), [a.memberId]);
  assertEquals(c.state("g"), "PreparingRebalance");
  const a3 = await c.membership.join(joinRequest({ memberId: a.memberId }));
  assertEquals([a3.generationId, a3.members.length], [3, 1]);
  c.close();
  assertEquals(clock.pendingCount, 0);
});

Deno.test("Membership: a member that does not rejoin in time is dropped when the rebalance times out", async () => {
  const clock = new ManualClock();
  const c = openCoordinator(memoryLibc(), clock);
  const a = await joinNow(c, { sessionTimeoutMs: 30_000 });
  await sync(c, a.memberId, 1);
  const b = c.membership.join(joinRequest({ sessionTimeoutMs: 30_000 })) as Promise<JoinResult>;
  clock.advance(5000); // the rebalance timeout: A never rejoined
  const b2 = await b;
  assertEquals([b2.errorCode, b2.generationId, b2.leader === b2.memberId], [0, 2, true]);
  assertEquals(c.describe("g").members.length, 1);
  c.close();
});

Deno.test("Membership: the initial rebalance delay gathers members into one generation", async () => {
  const clock = new ManualClock();
  const c = openCoordinator(memoryLibc(), clock, { initialRebalanceDelayMs: 3000 });
  const a = c.membership.join(joinRequest()) as Promise<JoinResult>;
  clock.advance(2000);
  const b = c.membership.join(joinRequest()) as Promise<JoinResult>;
  clock.advance(1000); // the first delay ends; a new member came, so it waits once more
  assertEquals(c.state("g"), "PreparingRebalance");
  clock.advance(2000);
  const [a1, b1] = await Promise.all([a, b]);
  assertEquals([a1.generationId, b1.generationId], [1, 1]);
  c.close();
});

Deno.test("Membership: static members keep their place; an old member id is fenced", async () => {
  const clock = new ManualClock();
  const c = openCoordinator(memoryLibc(), clock);
  const s1 = await joinNow(c, { groupInstanceId: "i1", requireKnownMemberId: true });
  assertEquals(s1.errorCode, 0); // static members skip MEMBER_ID_REQUIRED
  await sync(c, s1.memberId, 1, [[s1.memberId, "mine"]]);
  // The same instance restarts without its member id: it takes the place, no rebalance.
  const s2 = await joinNow(c, { groupInstanceId: "i1" });
  assertEquals([s2.errorCode, s2.generationId, c.state("g")], [0, 1, "Stable"]);
  assert(s2.memberId !== s1.memberId);
  const synced = await c.membership.sync({
    groupId: "g",
    generationId: 1,
    memberId: s2.memberId,
    groupInstanceId: "i1",
    protocolType: null,
    protocolName: null,
    assignments: new Map(),
  });
  assertEquals(new TextDecoder().decode(synced.assignment), "mine");
  assertEquals(
    c.membership.heartbeat({
      groupId: "g",
      generationId: 1,
      memberId: s1.memberId,
      groupInstanceId: "i1",
    }),
    ErrorCode.FENCED_INSTANCE_ID,
  );
  assertEquals(
    (await joinNow(c, { memberId: s1.memberId, groupInstanceId: "i1" })).errorCode,
    ErrorCode.FENCED_INSTANCE_ID,
  );
  // Leaving by instance id alone.
  assertEquals(c.membership.leave("g", [{ memberId: "", groupInstanceId: "i1" }]).members, [0]);
  assertEquals(c.describe("g").members.length, 0);
  c.close();
});

Deno.test("GroupCoordinator.shutdown() answers waiting joins with NOT_COORDINATOR and stops every timer", async () => {
  const clock = new ManualClock();
  const c = openCoordinator(memoryLibc(), clock);
  const a = await joinNow(c);
  await sync(c, a.memberId, 1);
  const waiting = c.membership.join(joinRequest()) as Promise<JoinResult>;
  assert(c.timers.liveCount > 0);
  c.close();
  assertEquals((await waiting).errorCode, ErrorCode.NOT_COORDINATOR);
  assertEquals([c.timers.liveCount, clock.pendingCount], [0, 0]);
});

Deno.test("Membership: the last member leaving or expiring leaves the group Empty at once, as in Kafka", async () => {
  const clock = new ManualClock();
  const c = openCoordinator(memoryLibc(), clock);
  const a = await joinNow(c, { rebalanceTimeoutMs: 10_000 });
  await sync(c, a.memberId, 1);
  assertEquals(c.membership.leave("g", [{ memberId: a.memberId, groupInstanceId: null }]), {
    errorCode: ErrorCode.NONE,
    members: [ErrorCode.NONE],
  });
  // No timer has to fire: DeleteGroups right after the LeaveGroup answer succeeds.
  assertEquals([c.state("g"), c.describe("g").members.length], ["Empty", 0]);
  assertEquals(c.deleteGroup("g"), ErrorCode.NONE);

  // The same when the session of the only member runs out.
  const b = await joinNow(c, { rebalanceTimeoutMs: 10_000, sessionTimeoutMs: 1000 });
  await sync(c, b.memberId, 1);
  clock.advance(1000);
  assertEquals(c.state("g"), "Empty");
  c.close();
  assertEquals(clock.pendingCount, 0);
});
