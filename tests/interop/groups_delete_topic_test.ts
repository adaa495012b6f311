/**
 * Deleting a topic removes its committed offsets, as Kafka does: offsets are
 * committed (OffsetCommit v8 over a raw socket, as admin tools commit for a
 * group without members), the topic is deleted (kafkajs' DeleteTopics, or the
 * HTTP API) and created again, and OffsetFetch answers -1 for it, before and
 * after a broker restart; the group's offsets of other topics stay.
 */
import { Kafka, logLevel } from "kafkajs";
import { assertEquals } from "../../util/assert.ts";
import { offsetCommitApi, offsetFetchApi } from "../../protocol/messages/mod.ts";
import {
  defaultOffsetCommitRequest,
  defaultOffsetCommitRequestPartition,
} from "../../protocol/messages/offset_commit.ts";
import { defaultOffsetFetchRequest } from "../../protocol/messages/offset_fetch.ts";
import { makeDataDir, startTestBroker } from "./harness.ts";
import { call, withHttpBroker } from "./http_helpers.ts";
import { RawConnection } from "./raw_client.ts";

const GROUP = "dt-g";

/** Commits `offsets` (partition -> offset) of `topic` for GROUP without a generation. */
async function commit(bootstrap: string, topic: string, offsets: number[]): Promise<number[]> {
  const c = await RawConnection.connect(bootstrap);
  try {
    const res = await c.request(offsetCommitApi, 8, {
      ...defaultOffsetCommitRequest(),
      groupId: GROUP,
      generationIdOrMemberEpoch: -1,
      memberId: "",
      topics: [{
        name: topic,
        partitions: offsets.map((committedOffset, partitionIndex) => ({
          ...defaultOffsetCommitRequestPartition(),
          partitionIndex,
          committedOffset,
        })),
      }],
    });
    return res.topics[0].partitions.map((p) => p.errorCode);
  } finally {
    c.close();
  }
}

/** GROUP's committed offsets of `topic` partitions 0..count-1, by OffsetFetch v7. */
async function fetchCommitted(bootstrap: string, topic: string, count: number): Promise<number[]> {
  const c = await RawConnection.connect(bootstrap);
  try {
    const res = await c.request(offsetFetchApi, 7, {
      ...defaultOffsetFetchRequest(),
      groupId: GROUP,
      topics: [{ name: topic, partitionIndexes: Array.from({ length: count }, (_, i) => i) }],
    });
    assertEquals(res.errorCode, 0);
    return res.topics[0].partitions.map((p) => p.committedOffset);
  } finally {
    c.close();
  }
}

function kafkaFor(bootstrap: string): Kafka {
  return new Kafka({
    clientId: "denka-delete-topic",
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 5, initialRetryTime: 100 },
  });
}

Deno.test("DeleteTopics drops the topic's committed offsets; re-created, it has none, also after a restart", async () => {
  const dataDir = await makeDataDir();
  let broker = await startTestBroker(dataDir);
  try {
    const admin = kafkaFor(broker.bootstrap).admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [{ topic: "doomed", numPartitions: 2 }, { topic: "kept", numPartitions: 1 }],
      });
      assertEquals(await commit(broker.bootstrap, "doomed", [5, 7]), [0, 0]);
      assertEquals(await commit(broker.bootstrap, "kept", [3]), [0]);
      assertEquals(await fetchCommitted(broker.bootstrap, "doomed", 2), [5, 7]);

      await admin.deleteTopics({ topics: ["doomed"] });
      await admin.createTopics({ topics: [{ topic: "doomed", numPartitions: 2 }] });
      assertEquals(await fetchCommitted(broker.bootstrap, "doomed", 2), [-1, -1]);
      assertEquals(await fetchCommitted(broker.bootstrap, "kept", 1), [3]);
      // The client's view: no committed offset.
      const viaAdmin = await admin.fetchOffsets({ groupId: GROUP, topics: ["doomed"] });
      assertEquals(viaAdmin[0].partitions.map((p) => p.offset), ["-1", "-1"]);
    } finally {
      await admin.disconnect();
    }

    // The removal was written to the group log: a restart does not bring the offsets back.
    await broker.close();
    broker = await startTestBroker(dataDir);
    assertEquals(await fetchCommitted(broker.bootstrap, "doomed", 2), [-1, -1]);
    assertEquals(await fetchCommitted(broker.bootstrap, "kept", 1), [3]);
  } finally {
    await broker.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("HTTP DELETE of a topic drops its committed offsets too", async () => {
  await withHttpBroker({}, async (t) => {
    const admin = kafkaFor(t.bootstrap).admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: "web-doomed", numPartitions: 1 }] });
      assertEquals(await commit(t.bootstrap, "web-doomed", [9]), [0]);
      assertEquals((await call("DELETE", `${t.cluster}/topics/web-doomed`)).status, 204);
      // The group had nothing else: it is gone, as in Kafka.
      assertEquals(t.broker.groups.state(GROUP), undefined);
      await admin.createTopics({ topics: [{ topic: "web-doomed", numPartitions: 1 }] });
      assertEquals(await fetchCommitted(t.bootstrap, "web-doomed", 1), [-1]);
    } finally {
      await admin.disconnect();
    }
  });
});
