/**
 * kafkajs 2.2.4 transactions against the coordinator (issue 14): send,
 * sendOffsets, commit and abort; a consumer group reading with kafkajs'
 * default read_committed and kcat with `isolation.level=read_committed` see
 * the committed transactions whole and never an aborted record, while
 * read_uncommitted sees everything; offsets sent in an aborted transaction
 * are never committed. Then a zombie: a second producer with the same
 * transactional id fences the first, whose open transaction is aborted.
 *
 * Nothing sleeps: the consumer is awaited on its callbacks with a deadline.
 */
import { Kafka, logLevel, type Producer } from "kafkajs";
import { assert } from "../../util/assert.ts";
import { kcatConsume } from "./kcat.ts";
import { type TestBroker, topicName, withBroker } from "./harness.ts";
import { readTransactionCounters } from "./bun_transactions.ts";

const WAIT_MS = 30_000;

function client(t: TestBroker): Kafka {
  return new Kafka({
    clientId: "denka-txn",
    brokers: [t.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 5, initialRetryTime: 50 },
  });
}

async function transactional(kafka: Kafka, transactionalId: string): Promise<Producer> {
  const producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  return producer;
}

const values = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({ value: `${prefix}-${i}`, partition: i % 2 }));

/** Reads `topic` with a kafkajs group consumer (read_committed) until `count` records came. */
async function consumeCommitted(kafka: Kafka, topic: string, count: number): Promise<string[]> {
  const consumer = kafka.consumer({ groupId: `reader-${topic}`, readUncommitted: false });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const got: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`Only ${got.length} of ${count} records came`)),
        WAIT_MS,
      );
      consumer.run({
        eachMessage: ({ message }) => {
          got.push(message.value!.toString());
          if (got.length >= count) {
            clearTimeout(timer);
            resolve();
          }
          return Promise.resolve();
        },
      }).catch(reject);
    });
    return got;
  } finally {
    await consumer.disconnect();
  }
}

Deno.test("kafkajs transactions: committed ones read whole with read_committed, aborted ones never", async () => {
  await withBroker({}, async (t) => {
    const kafka = client(t);
    const topic = topicName("js-txn");
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
      await admin.createTopics({ topics: [{ topic: `${topic}-in`, numPartitions: 1 }] });
      const producer = await transactional(kafka, "js-txn");
      try {
        const committed = await producer.transaction();
        await committed.send({ topic, messages: values("a", 6) });
        await committed.sendOffsets({
          consumerGroupId: "js-cg",
          topics: [{ topic: `${topic}-in`, partitions: [{ partition: 0, offset: "5" }] }],
        });
        await committed.commit();
        const aborted = await producer.transaction();
        await aborted.send({ topic, messages: values("b", 4) });
        await aborted.sendOffsets({
          consumerGroupId: "js-cg-aborted",
          topics: [{ topic: `${topic}-in`, partitions: [{ partition: 0, offset: "9" }] }],
        });
        await aborted.abort();
        const last = await producer.transaction();
        await last.send({ topic, messages: values("c", 2) });
        await last.commit();
      } finally {
        await producer.disconnect();
      }
      await t.broker.transactions.idle();
      const want = [...values("a", 6), ...values("c", 2)].map((m) => m.value).sort();
      assert.deepEqual((await consumeCommitted(kafka, topic, want.length)).sort(), want);
      for (const partition of [0, 1]) {
        const committedOnly = await kcatConsume(t.bootstrap, {
          topic,
          partition,
          config: { "isolation.level": "read_committed" },
        });
        assert.deepEqual(
          committedOnly.map((m) => m.value),
          want.filter((v) => Number(v.split("-")[1]) % 2 === partition),
        );
        const all = await kcatConsume(t.bootstrap, {
          topic,
          partition,
          config: { "isolation.level": "read_uncommitted" },
        });
        assert.equal(all.filter((m) => m.value!.startsWith("b-")).length, 2);
      }
      const offsets = await admin.fetchOffsets({ groupId: "js-cg", topics: [`${topic}-in`] });
      assert.equal(offsets[0].partitions[0].offset, "5");
      const none = await admin.fetchOffsets({ groupId: "js-cg-aborted", topics: [`${topic}-in`] });
      assert.equal(none[0].partitions[0].offset, "-1");
      const counters = await readTransactionCounters(t.broker);
      assert.deepEqual([counters.commits, counters.aborts], [2, 1]);
    } finally {
      await admin.disconnect();
    }
  });
});

Deno.test("kafkajs transactions: a new producer with the same id fences the old one and aborts its transaction", async () => {
  await withBroker({}, async (t) => {
    const kafka = client(t);
    const topic = topicName("js-zombie");
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    await admin.disconnect();
    const zombie = await transactional(kafka, "js-zombie");
    let successor: Producer | undefined;
    try {
      const open = await zombie.transaction();
      await open.send({ topic, messages: [{ value: "zombie" }] });
      // The successor's InitProducerId aborts the zombie's open transaction (CONCURRENT_TRANSACTIONS
      // until its markers are written, which kafkajs retries) and fences its epoch.
      successor = await transactional(kafka, "js-zombie");
      const txn = await successor.transaction(); // kafkajs sends InitProducerId here
      assert.equal((await readTransactionCounters(t.broker)).aborts, 1);
      await txn.send({ topic, messages: [{ value: "successor" }] });
      await txn.commit();
      let fenced: Error | undefined;
      try {
        await open.commit();
      } catch (e) {
        fenced = e as Error;
      }
      assert.ok(fenced !== undefined, "the zombie committed");
      assert.match(fenced.name + fenced.message, /Fenced|epoch/i);
    } finally {
      await zombie.disconnect();
      await successor?.disconnect();
    }
    await t.broker.transactions.idle();
    const read = await kcatConsume(t.bootstrap, {
      topic,
      config: { "isolation.level": "read_committed" },
    });
    assert.deepEqual(read.map((m) => m.value), ["successor"]);
  });
});
