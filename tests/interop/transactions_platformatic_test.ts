/**
 * @platformatic/kafka 2.12.1 transactions (issue 14): `beginTransaction`,
 * `send`, `commit` and `abort`, read back with kcat's read_committed and
 * read_uncommitted consumers.
 */
import { Admin, Producer, stringSerializers } from "@platformatic/kafka";
import { assert } from "../../util/assert.ts";
import { topicName, withBroker } from "./harness.ts";
import { kcatConsume } from "./kcat.ts";
import { readTransactionCounters } from "./bun_transactions.ts";

Deno.test("platformatic transactions: commit and abort, read with read_committed", async () => {
  await withBroker({}, async (t) => {
    const base = { clientId: "denka-txn", bootstrapBrokers: [t.bootstrap], retries: 5 };
    const topic = topicName("pk-txn");
    const admin = new Admin(base);
    const producer = new Producer({
      ...base,
      serializers: stringSerializers,
      idempotent: true,
      transactionalId: "pk-txn",
    });
    try {
      await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
      const messages = (prefix: string) =>
        Array.from({ length: 3 }, (_, i) => ({ topic, partition: 0, value: `${prefix}-${i}` }));
      const first = await producer.beginTransaction();
      await first.send({ messages: messages("c1") });
      await first.commit();
      const second = await producer.beginTransaction();
      await second.send({ messages: messages("a") });
      await second.abort();
      const third = await producer.beginTransaction();
      await third.send({ messages: messages("c2") });
      await third.commit();
    } finally {
      await producer.close();
      await admin.close();
    }
    await t.broker.transactions.idle();
    const committed = await kcatConsume(t.bootstrap, {
      topic,
      config: { "isolation.level": "read_committed" },
    });
    assert.deepEqual(committed.map((m) => m.value), [
      "c1-0",
      "c1-1",
      "c1-2",
      "c2-0",
      "c2-1",
      "c2-2",
    ]);
    const all = await kcatConsume(t.bootstrap, {
      topic,
      config: { "isolation.level": "read_uncommitted" },
    });
    assert.equal(all.length, 9);
    const counters = await readTransactionCounters(t.broker);
    assert.deepEqual(
      [counters.commits, counters.aborts],
      [2, 1],
    );
  });
});
