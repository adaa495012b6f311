/**
 * Bad group input over raw sockets: each mistake gets Kafka's error code,
 * the other members and the committed offsets are untouched; a follower's
 * assignments are ignored, member metadata (even garbage) is relayed as
 * sent.
 */
import { assertEquals } from "../../util/assert.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import {
  createTopicsApi,
  heartbeatApi,
  joinGroupApi,
  leaveGroupApi,
  offsetCommitApi,
  offsetFetchApi,
  syncGroupApi,
} from "../../protocol/messages/mod.ts";
import {
  defaultCreateTopicsRequest,
  defaultCreateTopicsRequestCreatableTopic,
} from "../../protocol/messages/create_topics.ts";
import {
  defaultJoinGroupRequest,
  type JoinGroupResponse,
} from "../../protocol/messages/join_group.ts";
import {
  defaultOffsetCommitRequest,
  defaultOffsetCommitRequestPartition,
} from "../../protocol/messages/offset_commit.ts";
import { defaultOffsetFetchRequest } from "../../protocol/messages/offset_fetch.ts";
import { defaultSyncGroupRequest } from "../../protocol/messages/sync_group.ts";
import { withBroker } from "./harness.ts";
import { RawConnection } from "./raw_client.ts";

const GROUP = "raw-g";
const TOPIC = "raw-t";
/** Not a valid ConsumerProtocolSubscription: relayed untouched anyway. */
const GARBAGE = new Uint8Array([0xff, 0x01, 0x02]);
const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

function join(
  c: RawConnection,
  memberId: string,
  extra: Record<string, unknown> = {},
): Promise<JoinGroupResponse> {
  return c.request(joinGroupApi, 5, {
    ...defaultJoinGroupRequest(),
    groupId: GROUP,
    sessionTimeoutMs: 5000,
    rebalanceTimeoutMs: 10000,
    memberId,
    protocolType: "consumer",
    protocols: [{ name: "range", metadata: GARBAGE }],
    ...extra,
  });
}

/** The MEMBER_ID_REQUIRED dance: the second (real) JoinGroup, still in flight. */
async function joinNew(c: RawConnection): Promise<{ answer: Promise<JoinGroupResponse> }> {
  const first = await join(c, "");
  assertEquals(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  return { answer: join(c, first.memberId) };
}

function commit(
  c: RawConnection,
  generationId: number,
  memberId: string,
  partitions: { topic: string; partition: number; offset: number; metadata?: string }[],
) {
  return c.request(offsetCommitApi, 7, {
    ...defaultOffsetCommitRequest(),
    groupId: GROUP,
    generationIdOrMemberEpoch: generationId,
    memberId,
    topics: partitions.map((p) => ({
      name: p.topic,
      partitions: [{
        ...defaultOffsetCommitRequestPartition(),
        partitionIndex: p.partition,
        committedOffset: p.offset,
        committedMetadata: p.metadata ?? "",
      }],
    })),
  }).then((r) => r.topics.map((t) => t.partitions[0].errorCode));
}

async function fetched(c: RawConnection): Promise<number[]> {
  const res = await c.request(offsetFetchApi, 7, {
    ...defaultOffsetFetchRequest(),
    groupId: GROUP,
    topics: [{ name: TOPIC, partitionIndexes: [0, 1] }],
  });
  return res.topics[0].partitions.map((p) => p.committedOffset);
}

Deno.test("raw group input: Kafka's error codes, other members and offsets unaffected", async () => {
  await withBroker({ groupMinSessionTimeoutMs: 1000 }, async (t) => {
    const a = await RawConnection.connect(t.bootstrap);
    const b = await RawConnection.connect(t.bootstrap);
    try {
      await a.request(createTopicsApi, 5, {
        ...defaultCreateTopicsRequest(),
        topics: [{
          ...defaultCreateTopicsRequestCreatableTopic(),
          name: TOPIC,
          numPartitions: 2,
          replicationFactor: 1,
        }],
      });
      // Refused joins.
      assertEquals(
        (await join(a, "", { sessionTimeoutMs: 10 })).errorCode,
        ErrorCode.INVALID_SESSION_TIMEOUT,
      );
      assertEquals((await join(a, "", { groupId: "" })).errorCode, ErrorCode.INVALID_GROUP_ID);
      assertEquals(
        (await join(a, "", { protocols: [] })).errorCode,
        ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
      );
      assertEquals((await join(a, "nobody")).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);

      // A alone: generation 1, leader, its metadata relayed untouched.
      const a1 = await (await joinNew(a)).answer;
      assertEquals([a1.errorCode, a1.generationId, a1.leader], [0, 1, a1.memberId]);
      assertEquals(a1.members.map((m) => [m.memberId, [...m.metadata]]), [[a1.memberId, [
        ...GARBAGE,
      ]]]);
      const aId = a1.memberId;
      const sync1 = await a.request(syncGroupApi, 3, {
        ...defaultSyncGroupRequest(),
        groupId: GROUP,
        generationId: 1,
        memberId: aId,
        assignments: [{ memberId: aId, assignment: bytes("a1") }],
      });
      assertEquals([sync1.errorCode, text(sync1.assignment)], [0, "a1"]);

      // Joins that do not fit the group.
      assertEquals(
        (await join(b, "", { protocolType: "connect" })).errorCode,
        ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
      );
      assertEquals(
        (await join(b, "", { protocols: [{ name: "other", metadata: GARBAGE }] })).errorCode,
        ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
      );
      // Stale and unknown members.
      const hb = (generationId: number, memberId: string) =>
        a.request(heartbeatApi, 3, {
          groupId: GROUP,
          generationId,
          memberId,
          groupInstanceId: null,
        })
          .then((r) => r.errorCode);
      assertEquals(await hb(0, aId), ErrorCode.ILLEGAL_GENERATION);
      assertEquals(await hb(1, "nobody"), ErrorCode.UNKNOWN_MEMBER_ID);
      assertEquals(await hb(1, aId), ErrorCode.NONE);

      // Commits: unknown topic or partition, stale generation, unknown member, oversized metadata.
      assertEquals(
        await commit(a, 1, aId, [
          { topic: TOPIC, partition: 0, offset: 5 },
          { topic: "no-such-topic", partition: 0, offset: 1 },
          { topic: TOPIC, partition: 7, offset: 1 },
          { topic: TOPIC, partition: 1, offset: 9, metadata: "x".repeat(5000) },
        ]),
        [
          0,
          ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          ErrorCode.OFFSET_METADATA_TOO_LARGE,
        ],
      );
      assertEquals(await commit(a, 99, aId, [{ topic: TOPIC, partition: 0, offset: 0 }]), [
        ErrorCode.ILLEGAL_GENERATION,
      ]);
      assertEquals(await commit(a, 1, "nobody", [{ topic: TOPIC, partition: 0, offset: 0 }]), [
        ErrorCode.UNKNOWN_MEMBER_ID,
      ]);
      assertEquals(await commit(a, -1, "", [{ topic: TOPIC, partition: 0, offset: 0 }]), [
        ErrorCode.UNKNOWN_MEMBER_ID,
      ]);
      assertEquals(await fetched(a), [5, -1]);

      // B joins: A is told to rejoin; a commit in PreparingRebalance is still accepted.
      const bJoin = await joinNew(b);
      await t.broker.groups.waitFor(() => t.broker.groups.state(GROUP) === "PreparingRebalance");
      assertEquals(await hb(1, aId), ErrorCode.REBALANCE_IN_PROGRESS);
      assertEquals(await commit(a, 1, aId, [{ topic: TOPIC, partition: 1, offset: 3 }]), [0]);
      const [a2, b2] = await Promise.all([join(a, aId), bJoin.answer]);
      assertEquals([a2.generationId, b2.generationId, a2.leader, b2.leader], [2, 2, aId, aId]);
      assertEquals(a2.members.length, 2);
      assertEquals(b2.members.length, 0);

      // The follower's assignments are ignored; the leader's are relayed untouched.
      const bSync = b.request(syncGroupApi, 3, {
        ...defaultSyncGroupRequest(),
        groupId: GROUP,
        generationId: 2,
        memberId: b2.memberId,
        assignments: [{ memberId: aId, assignment: bytes("evil") }, {
          memberId: b2.memberId,
          assignment: bytes("evil"),
        }],
      });
      await t.broker.groups.waitFor(() => t.broker.groups.state(GROUP) === "CompletingRebalance");
      assertEquals(await commit(a, 2, aId, [{ topic: TOPIC, partition: 0, offset: 6 }]), [
        ErrorCode.REBALANCE_IN_PROGRESS,
      ]);
      const aSync = await a.request(syncGroupApi, 3, {
        ...defaultSyncGroupRequest(),
        groupId: GROUP,
        generationId: 2,
        memberId: aId,
        assignments: [{ memberId: aId, assignment: bytes("a2") }, {
          memberId: b2.memberId,
          assignment: bytes("b2"),
        }],
      });
      assertEquals([aSync.errorCode, text(aSync.assignment)], [0, "a2"]);
      const bSynced = await bSync;
      assertEquals([bSynced.errorCode, text(bSynced.assignment)], [0, "b2"]);
      assertEquals(await commit(b, 1, b2.memberId, [{ topic: TOPIC, partition: 0, offset: 1 }]), [
        ErrorCode.ILLEGAL_GENERATION,
      ]);

      // Batched leave: B goes, an unknown member is reported, A stays.
      const left = await b.request(leaveGroupApi, 3, {
        groupId: GROUP,
        memberId: "",
        members: [
          { memberId: b2.memberId, groupInstanceId: null, reason: null },
          { memberId: "nobody", groupInstanceId: null, reason: null },
        ],
      });
      assertEquals(left.members.map((m) => m.errorCode), [0, ErrorCode.UNKNOWN_MEMBER_ID]);
      assertEquals(t.broker.groups.describe(GROUP).members.map((m) => m.memberId), [aId]);
      // No committed offset was lost or rolled back by any of it.
      assertEquals(await fetched(a), [5, 3]);
    } finally {
      a.close();
      b.close();
    }
  });
});
