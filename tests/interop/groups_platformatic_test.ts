/**
 * Consumer groups with @platformatic/kafka 2.12.1 (classic protocol:
 * FindCoordinator, JoinGroup with MEMBER_ID_REQUIRED, SyncGroup, Heartbeat,
 * OffsetCommit, OffsetFetch, LeaveGroup) over real sockets: a member
 * consumes, commits by hand, and a restarted member resumes exactly after
 * the last commit; two members share a topic's partitions, each partition
 * consumed by exactly one of them.
 *
 * Nothing sleeps: waits are on the consumers' message streams or the
 * broker's `groups.waitFor` hook, each with a deadline that fails the test.
 */
import {
  Admin,
  Consumer,
  type Message,
  type MessagesStream,
  Producer,
  stringDeserializers,
  stringSerializers,
} from "@platformatic/kafka";
import type { BrokerHandle } from "../../mod.ts";
import { assertEquals } from "../../util/assert.ts";
import { assignedPartitions } from "../../broker/groups/consumer_protocol.ts";
import { type TestBrokerOptions, withBroker } from "./harness.ts";

/** Test brokers accept short sessions. */
const GROUP_OPTIONS: TestBrokerOptions = { groupMinSessionTimeoutMs: 1000 };
const WAIT_MS = 30_000;

type StringConsumer = Consumer<string, string, string, string>;
type StringMessage = Message<string, string, string, string>;

function clientBase(bootstrap: string, clientId: string) {
  return { clientId, bootstrapBrokers: [bootstrap], retries: 5, retryDelay: 100 };
}

/** A group member with heartbeats well inside its session and short fetch waits. */
function groupConsumer(bootstrap: string, groupId: string, clientId: string): StringConsumer {
  return new Consumer({
    ...clientBase(bootstrap, clientId),
    groupId,
    sessionTimeout: 6000,
    rebalanceTimeout: 10_000,
    heartbeatInterval: 300,
    maxWaitTime: 100,
    deserializers: stringDeserializers,
  });
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

/** Creates `topic` and sends `count` string messages round its partitions. */
async function produce(bootstrap: string, topic: string, partitions: number, count: number) {
  const admin = new Admin(clientBase(bootstrap, "denka-pf-admin"));
  const producer = new Producer({
    ...clientBase(bootstrap, "denka-pf-producer"),
    serializers: stringSerializers,
  });
  try {
    await admin.createTopics({ topics: [topic], partitions, replicas: 1 });
    await producer.send({
      acks: -1,
      messages: Array.from({ length: count }, (_, i) => ({
        topic,
        partition: i % partitions,
        value: `${topic}-${i}`,
      })),
    });
  } finally {
    await producer.close();
    await admin.close();
  }
}

/**
 * Reads `stream` in the background; `until` resolves with every message read so far once
 * `stop` returns true. Reading goes on (without breaking the loop, which would destroy the
 * stream and its autocommit timer) until the stream is closed; `ended` resolves then.
 */
function read(
  stream: MessagesStream<string, string, string, string>,
  stop: (m: StringMessage) => boolean | Promise<boolean>,
): { until: Promise<StringMessage[]>; ended: Promise<void> } {
  const seen: StringMessage[] = [];
  let resolve!: (messages: StringMessage[]) => void;
  let reject!: (e: unknown) => void;
  const until = new Promise<StringMessage[]>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const ended = (async () => {
    try {
      for await (const m of stream) {
        seen.push(m);
        if (await stop(m)) resolve([...seen]);
      }
      reject(new Error(`The stream ended after ${seen.length} message(s).`));
    } catch (e) {
      reject(e);
      throw e;
    }
  })();
  until.catch(() => {}); // handled by whoever awaits it; unawaited, the stream's end is no error
  return { until, ended };
}

/** Resolves when `predicate` holds after a broker group change; fails after WAIT_MS. */
function waitGroup(broker: BrokerHandle, what: string, predicate: () => boolean): Promise<void> {
  return withTimeout(broker.groups.waitFor(predicate), what);
}

Deno.test("platformatic: a member commits by hand and a restarted member resumes exactly after the last commit", async () => {
  await withBroker(GROUP_OPTIONS, async (t) => {
    await produce(t.bootstrap, "pf-resume", 1, 100);

    // First run: reads from the beginning, commits through offset 39, then stops.
    const first = groupConsumer(t.bootstrap, "pf-resume", "pf-first");
    try {
      const stream = await first.consume({
        topics: ["pf-resume"],
        mode: "committed",
        fallbackMode: "earliest",
        autocommit: false,
      });
      const reader = read(stream, async (m) => {
        if (m.offset !== 39n) return false;
        await m.commit();
        return true;
      });
      const seen = await withTimeout(reader.until, "the first 40 messages");
      assertEquals(seen.map((m) => Number(m.offset)), Array.from({ length: 40 }, (_, i) => i));
      // It may read on past offset 39; only the commit counts.
      await stream.close();
      await reader.ended;
    } finally {
      await first.close(true);
    }
    assertEquals(t.broker.groups.lag("pf-resume"), [
      { topic: "pf-resume", partition: 0, committedOffset: 40, highWatermark: 100, lag: 60 },
    ]);
    assertEquals(t.broker.groups.state("pf-resume"), "Empty"); // the member left on close

    // Second run: a new consumer starts at the committed offset and autocommits to the end.
    const second = groupConsumer(t.bootstrap, "pf-resume", "pf-second");
    try {
      const committed = await second.listCommittedOffsets({
        topics: [{ topic: "pf-resume", partitions: [0] }],
      });
      assertEquals(committed.get("pf-resume"), [40n]);
      const stream = await second.consume({
        topics: ["pf-resume"],
        mode: "committed",
        fallbackMode: "fail",
        autocommit: 100,
      });
      const reader = read(stream, (m) => m.offset === 99n);
      const seen = await withTimeout(reader.until, "the 60 messages after the commit");
      assertEquals(
        seen.map((m) => [Number(m.offset), m.value]),
        Array.from({ length: 60 }, (_, i) => [40 + i, `pf-resume-${40 + i}`]),
      );
      await waitGroup(
        t.broker,
        "the autocommit of offset 100",
        () => t.broker.groups.lag("pf-resume")[0]?.committedOffset === 100,
      );
      await stream.close();
      await reader.ended;
    } finally {
      await second.close(true);
    }
    assertEquals(t.broker.groups.lag("pf-resume")[0].lag, 0);
  });
});

Deno.test("platformatic: two members share a 4-partition topic, each partition read by one member", async () => {
  await withBroker(GROUP_OPTIONS, async (t) => {
    const total = 200;
    await produce(t.bootstrap, "pf-shared", 4, total);
    const members = [
      groupConsumer(t.bootstrap, "pf-pair", "pf-a"),
      groupConsumer(t.bootstrap, "pf-pair", "pf-b"),
    ];
    const streams: MessagesStream<string, string, string, string>[] = [];
    try {
      for (const c of members) {
        streams.push(
          await c.consume({ topics: ["pf-shared"], mode: "committed", fallbackMode: "earliest" }),
        );
      }
      await waitGroup(t.broker, "two members sharing 4 partitions", () => {
        const d = t.broker.groups.describe("pf-pair");
        if (d.state !== "Stable" || d.members.length !== 2) return false;
        const owned = d.members.map((m) => assignedPartitions(m.assignment).length);
        return owned[0] === 2 && owned[1] === 2;
      });

      // A stream fetches only once it is read, so nothing was read before the split above.
      // Read until every message was seen once, whichever member it went to.
      const seen: { member: number; partition: number; value: string }[] = [];
      let allSeen!: () => void;
      const done = new Promise<void>((resolve) => allSeen = resolve);
      const readers = streams.map((stream, member) =>
        read(stream, (m) => {
          seen.push({ member, partition: m.partition, value: m.value });
          if (seen.length >= total) allSeen();
          return false;
        })
      );
      await withTimeout(done, `${total} messages`);
      assertEquals(seen.length, total);
      assertEquals(
        seen.map((s) => s.value).sort(),
        Array.from({ length: total }, (_, i) => `pf-shared-${i}`).sort(),
      );
      const owner = new Map<number, number>();
      for (const s of seen) {
        assertEquals(owner.get(s.partition) ?? s.member, s.member, "a partition read by both");
        owner.set(s.partition, s.member);
      }
      assertEquals(owner.size, 4);
      assertEquals([...owner.values()].filter((m) => m === 0).length, 2);
      // The clients' own view matches the broker's.
      const byClient = members.map((c) =>
        (c.assignments ?? []).flatMap((a) => a.partitions).sort()
      );
      assertEquals(byClient.flat().sort(), [0, 1, 2, 3]);
      for (const [member, partitions] of byClient.entries()) {
        for (const p of partitions) assertEquals(owner.get(p), member);
      }
      await waitGroup(
        t.broker,
        "every partition autocommitted to its end",
        () =>
          t.broker.groups.lag("pf-pair").length === 4 &&
          t.broker.groups.lag("pf-pair").every((l) => l.committedOffset === total / 4),
      );
      for (const s of streams) await s.close();
      await Promise.all(readers.map((r) => r.ended));
    } finally {
      for (const c of members) await c.close(true);
    }
  });
});
