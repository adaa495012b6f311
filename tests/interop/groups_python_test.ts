/**
 * Consumer groups with librdkafka 2.0.2 (kcat `-G`, confluent-kafka-python
 * 1.7.0: JoinGroup v5, OffsetCommit v7, OffsetFetch v7) and kafka-python
 * 2.0.2 (JoinGroup v2, OffsetCommit v2, OffsetFetch v1): resume after the
 * last commit, cooperative-sticky rebalances, AdminClient.list_groups.
 */
import { assert, assertEquals } from "../../util/assert.ts";
import { PyGroupMember } from "./group_member.ts";
import { run, runPython, type TestBroker, type TestBrokerOptions, withBroker } from "./harness.ts";
import { KCAT_PATH, kcatProduce } from "./kcat.ts";
import { withConnection } from "./raw_client.ts";
import { offsetCommitApi } from "../../protocol/messages/mod.ts";
import {
  defaultOffsetCommitRequest,
  defaultOffsetCommitRequestPartition,
} from "../../protocol/messages/offset_commit.ts";

const GROUP_OPTIONS: TestBrokerOptions = { groupMinSessionTimeoutMs: 1000 };
const SESSION_TIMEOUT_MS = 4000;

function texts(count: number, prefix: string) {
  return Array.from({ length: count }, (_, i) => ({ key: null, value: `${prefix}-${i}` }));
}

/** Two runs of one client in one group: the second starts exactly after the first's last commit. */
async function assertResume(t: TestBroker, client: "confluent" | "kafka-python", topic: string) {
  await kcatProduce(t.bootstrap, texts(100, topic), { topic });
  const spec = {
    client,
    bootstrap: t.bootstrap,
    topic,
    group: `${topic}-g`,
    session_timeout_ms: SESSION_TIMEOUT_MS,
    commit: "sync" as const,
  };
  const first = PyGroupMember.start({ ...spec, max_messages: 40 });
  await first.waitFor((m) => m.events.some((e) => e.event === "closed"), "40 messages");
  await first.stop();
  assertEquals(first.messages().map((m) => m.offset), Array.from({ length: 40 }, (_, i) => i));
  assertEquals(t.broker.groups.lag(`${topic}-g`)[0].committedOffset, 40);
  const second = PyGroupMember.start({ ...spec, max_messages: 60 });
  await second.waitFor((m) => m.events.some((e) => e.event === "closed"), "60 more messages");
  await second.stop();
  assertEquals(
    second.messages().map((m) => m.offset),
    Array.from({ length: 60 }, (_, i) => 40 + i),
  );
  assertEquals(t.broker.groups.lag(`${topic}-g`)[0].lag, 0);
}

Deno.test("confluent-kafka-python: a restarted group member resumes after its last commit", async () => {
  await withBroker(GROUP_OPTIONS, (t) => assertResume(t, "confluent", "py-resume"));
});

Deno.test("kafka-python: a restarted group member resumes after its last commit", async () => {
  await withBroker(GROUP_OPTIONS, (t) => assertResume(t, "kafka-python", "kp-resume"));
});

Deno.test("kcat -G: a balanced consumer commits and the next run resumes", async () => {
  await withBroker(GROUP_OPTIONS, async (t) => {
    await kcatProduce(t.bootstrap, texts(50, "kc"), { topic: "kc-g" });
    const consume = async (count: number) => {
      const result = await run(KCAT_PATH, [
        "-b",
        t.bootstrap,
        "-G",
        "kcat-group",
        "kc-g",
        "-c",
        String(count),
        "-J",
        "-X",
        "auto.offset.reset=earliest",
        "-X",
        "session.timeout.ms=4000",
      ]);
      return result.stdoutText.split("\n").filter((l) => l.startsWith("{")).map((l) =>
        JSON.parse(l)
      );
    };
    const first = await consume(20);
    assertEquals(first.map((m) => m.offset), Array.from({ length: 20 }, (_, i) => i));
    // kcat commits on close (enable.auto.commit, offsets stored as delivered).
    assertEquals(t.broker.groups.lag("kcat-group")[0].committedOffset, 20);
    const second = await consume(30);
    assertEquals(second.map((m) => m.offset), Array.from({ length: 30 }, (_, i) => 20 + i));
    assertEquals(second.map((m) => m.payload).at(-1), "kc-49");
  });
});

Deno.test("confluent-kafka-python: cooperative-sticky members rebalance incrementally", async () => {
  await withBroker(GROUP_OPTIONS, async (t) => {
    await run(KCAT_PATH, ["-b", t.bootstrap, "-L", "-t", "unused"]); // a client sees the broker first
    const admin = await import("kafkajs").then(({ Kafka, logLevel }) =>
      new Kafka({ brokers: [t.bootstrap], logLevel: logLevel.NOTHING }).admin()
    );
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "coop", numPartitions: 4 }] });
    await admin.disconnect();
    const spec = {
      client: "confluent" as const,
      bootstrap: t.bootstrap,
      topic: "coop",
      group: "coop-g",
      session_timeout_ms: SESSION_TIMEOUT_MS,
      config: { "partition.assignment.strategy": "cooperative-sticky" },
    };
    const a = PyGroupMember.start(spec);
    try {
      await a.waitFor((m) => m.assignment().length === 4, "all 4 partitions alone");
      const b = PyGroupMember.start(spec);
      try {
        await b.waitFor((m) => m.assignment().length === 2, "2 partitions");
        await a.waitFor((m) => m.assignment().length === 2, "2 partitions left");
        assertEquals([...a.assignment(), ...b.assignment()].sort(), [0, 1, 2, 3]);
        assertEquals(t.broker.groups.describe("coop-g").protocolData, "cooperative-sticky");
      } finally {
        await b.stop();
      }
      await a.waitFor((m) => m.assignment().length === 4, "all 4 partitions again");
    } finally {
      await a.stop();
    }
  });
});

Deno.test("confluent AdminClient.list_groups shows groups as Kafka reports them", async () => {
  await withBroker(GROUP_OPTIONS, async (t) => {
    await kcatProduce(t.bootstrap, texts(5, "adm"), { topic: "adm-t" });
    const member = PyGroupMember.start({
      client: "confluent",
      bootstrap: t.bootstrap,
      topic: "adm-t",
      group: "adm-live",
      session_timeout_ms: SESSION_TIMEOUT_MS,
      config: { "client.id": "lister" },
    });
    try {
      await member.waitFor((m) => m.messages().length === 5, "5 messages");
      // A simple consumer's commit (generation -1, no membership): an Empty group, type "".
      await withConnection(t.bootstrap, async (c) => {
        const res = await c.request(offsetCommitApi, 2, {
          ...defaultOffsetCommitRequest(),
          groupId: "adm-simple",
          generationIdOrMemberEpoch: -1,
          topics: [{
            name: "adm-t",
            partitions: [{ ...defaultOffsetCommitRequestPartition(), committedOffset: 3 }],
          }],
        });
        assertEquals(res.topics[0].partitions[0].errorCode, 0);
      });
      const out = await runPython<{ groups: Record<string, unknown>[] }>("group_admin.py", {
        bootstrap: t.bootstrap,
      });
      const live = out.groups.find((g) => g.id === "adm-live")!;
      assertEquals([live.state, live.protocol_type, live.protocol], [
        "Stable",
        "consumer",
        "range",
      ]);
      const members = live.members as { client_id: string; client_host: string }[];
      assertEquals(members.map((m) => [m.client_id, m.client_host]), [["lister", "/127.0.0.1"]]);
      const simple = out.groups.find((g) => g.id === "adm-simple");
      assert(simple !== undefined, JSON.stringify(out));
      assertEquals([simple.state, simple.protocol_type], ["Empty", ""]);
    } finally {
      await member.stop();
    }
  });
});
