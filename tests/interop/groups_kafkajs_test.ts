/**
 * Consumer groups with kafkajs 2.2.4 (JoinGroup v5 with MEMBER_ID_REQUIRED,
 * SyncGroup v3, Heartbeat v3, OffsetCommit v5, OffsetFetch v4) over real
 * sockets: partitions shared exactly once, a clean leave and a killed member
 * taken over, resume after the last commit across consumer and broker
 * restarts, and the admin client's group calls.
 *
 * Nothing sleeps: waits are on kafkajs callbacks, the Python member's
 * events, or the broker's `groups.waitFor` hook, each with a deadline.
 */
import {
  type Consumer,
  type EachMessagePayload,
  Kafka,
  logLevel,
  PartitionAssigners,
} from "kafkajs";
import { type BrokerHandle, startBroker } from "../../mod.ts";
import { assert, assertEquals } from "../../util/assert.ts";
import { assignedPartitions } from "../../broker/groups/consumer_protocol.ts";
import { PyGroupMember } from "./group_member.ts";
import { makeDataDir, startTestBroker, type TestBrokerOptions, withBroker } from "./harness.ts";

/** Test brokers accept short sessions, so that eviction takes seconds. */
const GROUP_OPTIONS: TestBrokerOptions = { groupMinSessionTimeoutMs: 1000 };
const SESSION_TIMEOUT_MS = 3000;
const WAIT_MS = 30_000;

function kafkaFor(bootstrap: string, clientId = "denka-groups"): Kafka {
  return new Kafka({
    clientId,
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
  });
}

/** A kafkajs consumer tuned so its heartbeats are never stuck behind a long poll. */
function consumerFor(kafka: Kafka, groupId: string, sessionTimeout = SESSION_TIMEOUT_MS): Consumer {
  return kafka.consumer({
    groupId,
    sessionTimeout,
    rebalanceTimeout: 10_000,
    heartbeatInterval: 300,
    maxWaitTimeInMs: 100,
    // librdkafka's name for round robin, so that kafkajs and confluent members share a protocol.
    partitionAssigners: [
      (config) => ({ ...PartitionAssigners.roundRobin(config), name: "roundrobin" }),
    ],
  });
}

/** Resolves when `predicate` holds after a broker group change; fails after WAIT_MS. */
async function waitGroup(
  broker: BrokerHandle,
  what: string,
  predicate: () => boolean,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out waiting for ${what}`)), WAIT_MS);
  });
  try {
    await Promise.race([broker.groups.waitFor(predicate), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** The partitions each member of `groupId` is assigned, by member id (Stable groups only). */
function assignments(broker: BrokerHandle, groupId: string): Map<string, number[]> {
  const d = broker.groups.describe(groupId);
  const out = new Map<string, number[]>();
  for (const m of d.members) {
    out.set(m.memberId, assignedPartitions(m.assignment).map((p) => p.partition).sort());
  }
  return out;
}

function stableWith(broker: BrokerHandle, groupId: string, members: number, partitions: number) {
  return () => {
    const d = broker.groups.describe(groupId);
    if (d.state !== "Stable" || d.members.length !== members) return false;
    const all = [...assignments(broker, groupId).values()].flat();
    return all.length === partitions && new Set(all).size === partitions;
  };
}

/** Resolves with a value once `count` messages were seen. */
function counter(count: number) {
  let resolve!: () => void;
  const done = new Promise<void>((r) => resolve = r);
  const seen: { member: number; partition: number; offset: number; value: string }[] = [];
  return {
    seen,
    done,
    add(member: number, p: EachMessagePayload): Promise<void> {
      seen.push({
        member,
        partition: p.partition,
        offset: Number(p.message.offset),
        value: p.message.value!.toString(),
      });
      if (seen.length === count) resolve();
      return Promise.resolve();
    },
  };
}

async function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Timed out: ${what}`)), WAIT_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Creates `topic` with `partitions` (if new) and sends `count` messages round the partitions. */
async function produce(
  kafka: Kafka,
  topic: string,
  count: number,
  partitions: number,
  prefix: string,
) {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }] });
  } finally {
    await admin.disconnect();
  }
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: count }, (_, i) => ({
        partition: i % partitions,
        value: `${prefix}-${i}`,
      })),
    });
  } finally {
    await producer.disconnect();
  }
}

Deno.test("kafkajs: 3 members on a 6-partition topic consume every message exactly once", async () => {
  await withBroker(GROUP_OPTIONS, async (t) => {
    const kafka = kafkaFor(t.bootstrap);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "shared", numPartitions: 6 }] });
    const total = 600;
    const seen = counter(total);
    const consumers = [0, 1, 2].map(() => consumerFor(kafka, "trio"));
    try {
      for (const [i, c] of consumers.entries()) {
        await c.connect();
        await c.subscribe({ topic: "shared", fromBeginning: true });
        await c.run({ eachMessage: (p) => seen.add(i, p) });
      }
      await waitGroup(
        t.broker,
        "3 members sharing 6 partitions",
        stableWith(t.broker, "trio", 3, 6),
      );
      const split = [...assignments(t.broker, "trio").values()];
      assertEquals(split.map((a) => a.length), [2, 2, 2]);
      await produce(kafka, "shared", total, 6, "m");
      await withTimeout(seen.done, `${total} messages`);
      const values = seen.seen.map((s) => s.value);
      assertEquals(new Set(values).size, total, "a message was consumed twice");
      // Each partition was consumed by exactly one member.
      const owner = new Map<number, number>();
      for (const s of seen.seen) {
        assertEquals(owner.get(s.partition) ?? s.member, s.member);
        owner.set(s.partition, s.member);
      }
      assertEquals(new Set(owner.values()).size, 3);
      await waitGroup(
        t.broker,
        "every offset committed",
        () =>
          t.broker.groups.lag("trio").length === 6 &&
          t.broker.groups.lag("trio").every((l) => l.lag === 0 && l.committedOffset === 100),
      );
    } finally {
      for (const c of consumers) await c.disconnect();
      await admin.disconnect();
    }
  });
});

Deno.test("kafkajs + confluent: a clean leave and a killed member are taken over by the survivor", async () => {
  await withBroker(GROUP_OPTIONS, async (t) => {
    const kafka = kafkaFor(t.bootstrap);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "takeover", numPartitions: 6 }] });
    const survivor = consumerFor(kafka, "takeover");
    const leaver = consumerFor(kafka, "takeover");
    const victim = PyGroupMember.start({
      client: "confluent",
      bootstrap: t.bootstrap,
      topic: "takeover",
      group: "takeover",
      session_timeout_ms: SESSION_TIMEOUT_MS,
      config: { "partition.assignment.strategy": "roundrobin" },
    });
    const seen = counter(60);
    try {
      for (const c of [survivor, leaver]) {
        await c.connect();
        await c.subscribe({ topic: "takeover", fromBeginning: true });
      }
      await survivor.run({ eachMessage: (p) => seen.add(0, p) });
      await leaver.run({ eachMessage: () => Promise.resolve() });
      await waitGroup(t.broker, "3 members", stableWith(t.broker, "takeover", 3, 6));

      await leaver.disconnect(); // LeaveGroup: an immediate rebalance
      await waitGroup(
        t.broker,
        "2 members after the leave",
        stableWith(t.broker, "takeover", 2, 6),
      );
      await victim.waitFor((m) => m.assignment().length === 3, "3 partitions after the leave");

      const killedAtMs = performance.now();
      await victim.kill(); // no LeaveGroup: only the session timeout can notice
      await waitGroup(t.broker, "the survivor alone", stableWith(t.broker, "takeover", 1, 6));
      const takeoverMs = performance.now() - killedAtMs;
      console.log(
        `takeover after SIGKILL: ${takeoverMs.toFixed(0)} ms (session ${SESSION_TIMEOUT_MS} ms)`,
      );
      assert(takeoverMs < 3 * SESSION_TIMEOUT_MS, `takeover took ${takeoverMs} ms`);

      await produce(kafka, "takeover", 60, 6, "after");
      await withTimeout(seen.done, "the survivor reading all 6 partitions");
      assertEquals(new Set(seen.seen.map((s) => s.partition)), new Set([0, 1, 2, 3, 4, 5]));
    } finally {
      await victim.kill();
      await survivor.disconnect();
      await leaver.disconnect();
      await admin.disconnect();
    }
  });
});

Deno.test("kafkajs: a consumer restarted after committing resumes exactly after the last commit", async () => {
  await withBroker(GROUP_OPTIONS, async (t) => {
    const kafka = kafkaFor(t.bootstrap);
    await produce(kafka, "resume", 100, 1, "r");
    // First run: eachBatch, commits through offset 39 by hand, then stops.
    const first = consumerFor(kafka, "resume");
    let stopFirst!: () => void;
    const firstDone = new Promise<void>((r) => stopFirst = r);
    await first.connect();
    await first.subscribe({ topic: "resume", fromBeginning: true });
    await first.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        if (Number(batch.messages[0].offset) > 39) return;
        await first.commitOffsets([{ topic: "resume", partition: 0, offset: "40" }]);
        stopFirst();
      },
    });
    await withTimeout(firstDone, "the first commit");
    await first.disconnect();
    assertEquals(t.broker.groups.lag("resume"), [
      { topic: "resume", partition: 0, committedOffset: 40, highWatermark: 100, lag: 60 },
    ]);
    // Second run: eachMessage from the committed offset.
    const second = consumerFor(kafka, "resume");
    const seen = counter(60);
    await second.connect();
    await second.subscribe({ topic: "resume", fromBeginning: true });
    await second.run({ eachMessage: (p) => seen.add(0, p) });
    try {
      await withTimeout(seen.done, "60 messages after the commit");
      assertEquals(seen.seen.map((s) => s.offset), Array.from({ length: 60 }, (_, i) => 40 + i));
    } finally {
      await second.disconnect();
    }
  });
});

/** Starts a broker on `port` again: `close()` resolved only once the port was released. */
function restartOnPort(port: number, dataDir: string): Promise<BrokerHandle> {
  return startBroker({ ...GROUP_OPTIONS, port, dataDir, logLevel: "warn" });
}

Deno.test("kafkajs: a broker restarted under an active group loses no committed offset", async () => {
  const dataDir = await makeDataDir();
  let broker = await startTestBroker(dataDir, GROUP_OPTIONS);
  const port = broker.port;
  const kafka = kafkaFor(broker.bootstrap);
  const consumer = consumerFor(kafka, "survive", 6000);
  try {
    await produce(kafka, "survive", 90, 3, "before");
    const seen = counter(90);
    await consumer.connect();
    await consumer.subscribe({ topic: "survive", fromBeginning: true });
    await consumer.run({
      autoCommitThreshold: 1,
      eachMessage: (p) => seen.add(0, p),
    });
    await withTimeout(seen.done, "90 messages before the restart");
    const b = broker;
    await waitGroup(
      b,
      "offsets 30/30/30",
      () =>
        b.groups.lag("survive").every((l) => l.lag === 0) &&
        b.groups.lag("survive").length === 3,
    );
    const before = broker.groups.lag("survive");
    await broker.close(); // the consumer is still running
    broker = await restartOnPort(port, dataDir);
    assertEquals(broker.groups.lag("survive"), before);
    assertEquals(broker.groups.describe("survive").state, "Stable"); // membership came back too
    // The consumer carries on: new messages arrive and are committed after the last commit.
    seen.seen.length = 0;
    await produce(kafkaFor(broker.bootstrap), "survive", 30, 3, "after");
    const b2 = broker;
    await waitGroup(
      b2,
      "offsets 40/40/40",
      () => b2.groups.lag("survive").every((l) => l.committedOffset === 40),
    );
    assertEquals(
      seen.seen.map((s) => s.value).sort(),
      Array.from({ length: 30 }, (_, i) => `after-${i}`).sort(),
    );
  } finally {
    await consumer.disconnect();
    await broker.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("kafkajs admin: list, describe, fetch, reset and delete groups as Kafka answers", async () => {
  await withBroker(GROUP_OPTIONS, async (t) => {
    const kafka = kafkaFor(t.bootstrap);
    const admin = kafka.admin();
    await admin.connect();
    await produce(kafka, "admin-t", 20, 2, "a");
    const consumer = consumerFor(kafka, "admin-g");
    const seen = counter(20);
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: "admin-t", fromBeginning: true });
      await consumer.run({ autoCommitThreshold: 1, eachMessage: (p) => seen.add(0, p) });
      await withTimeout(seen.done, "20 messages");
      await waitGroup(
        t.broker,
        "commits",
        () => t.broker.groups.lag("admin-g").filter((l) => l.lag === 0).length === 2,
      );

      const listed = await admin.listGroups();
      assertEquals(listed.groups, [{ groupId: "admin-g", protocolType: "consumer" }]);
      const described = await admin.describeGroups(["admin-g", "no-such-group"]);
      assertEquals(
        described.groups.map((g) => [g.groupId, g.state, g.protocolType, g.members.length]),
        [
          ["admin-g", "Stable", "consumer", 1],
          ["no-such-group", "Dead", "", 0],
        ],
      );
      assertEquals(described.groups[0].protocol, "roundrobin");
      assertEquals(described.groups[0].members[0].clientHost, "/127.0.0.1");
      // A group with members cannot be deleted.
      const refused = await admin.deleteGroups(["admin-g"]).catch((e) => e);
      assert(refused instanceof Error, "deleting a live group must fail");
      await consumer.disconnect();
      await waitGroup(
        t.broker,
        "the group empty",
        () => t.broker.groups.state("admin-g") === "Empty",
      );

      const fetched = await admin.fetchOffsets({ groupId: "admin-g", topics: ["admin-t"] });
      assertEquals(fetched[0].partitions.map((p) => [p.partition, p.offset]).sort(), [[0, "10"], [
        1,
        "10",
      ]]);
      await admin.resetOffsets({ groupId: "admin-g", topic: "admin-t", earliest: true });
      const reset = await admin.fetchOffsets({ groupId: "admin-g", topics: ["admin-t"] });
      // kafkajs commits -2 (EARLIEST) as the offset; Kafka stores and returns it as sent.
      assertEquals(reset[0].partitions.map((p) => [p.partition, p.offset]).sort(), [[0, "-2"], [
        1,
        "-2",
      ]]);
      assertEquals(await admin.deleteGroups(["admin-g"]), [{ groupId: "admin-g", errorCode: 0 }]);
      assertEquals((await admin.listGroups()).groups, []);
      const gone = await admin.fetchOffsets({ groupId: "admin-g", topics: ["admin-t"] });
      assertEquals(gone[0].partitions.map((p) => p.offset), ["-1", "-1"]);
    } finally {
      await consumer.disconnect();
      await admin.disconnect();
    }
  });
});
