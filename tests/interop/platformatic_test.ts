/**
 * @platformatic/kafka 2.12.1: Admin creates the topic, Producer sends
 * (idempotent, with headers), and the Consumer's low-level fetch() (no group:
 * its consume() always joins one) reads the batches back by topic id.
 */
import { Admin, Consumer, Producer, stringSerializers } from "@platformatic/kafka";
import { assert, assertEquals } from "../../util/assert.ts";
import { withBroker } from "./harness.ts";
import { kcatConsume } from "./kcat.ts";

const COUNT = 1000;

Deno.test("platformatic: produce with headers, fetch back without a group", async () => {
  await withBroker({}, async (t) => {
    const base = { clientId: "denka-interop", bootstrapBrokers: [t.bootstrap], retries: 2 };
    const admin = new Admin(base);
    const producer = new Producer({ ...base, serializers: stringSerializers, idempotent: true });
    const consumer = new Consumer({ ...base, groupId: "denka-unused" });
    try {
      const created = await admin.createTopics({ topics: ["pk"], partitions: 2, replicas: 1 });
      assertEquals(created.map((c) => c.name), ["pk"]);
      assert((await admin.listTopics()).includes("pk"));

      const messages = Array.from({ length: COUNT }, (_, i) => ({
        topic: "pk",
        partition: 1,
        key: `k${i}`,
        value: `v${i}`,
        headers: { n: String(i) },
      }));
      for (let i = 0; i < COUNT; i += 250) {
        const result = await producer.send({ messages: messages.slice(i, i + 250), acks: -1 });
        assertEquals(result.offsets?.[0]?.offset, BigInt(i));
      }

      const metadata = await consumer.metadata({ topics: ["pk"] });
      const topic = metadata.topics.get("pk")!;
      assertEquals(topic.partitionsCount, 2);
      const got: { offset: bigint; key: string; value: string; n: string }[] = [];
      let fetchOffset = 0n;
      for (let round = 0; round < 100 && got.length < COUNT; round++) {
        const response = await consumer.fetch({
          node: topic.partitions[1].leader,
          maxWaitTime: 100,
          topics: [{
            topicId: topic.id,
            partitions: [{
              partition: 1,
              currentLeaderEpoch: -1,
              fetchOffset,
              lastFetchedEpoch: -1,
              partitionMaxBytes: 64 * 1024,
            }],
          }],
        });
        const p = response.responses[0].partitions[0];
        assertEquals(p.errorCode, 0);
        assertEquals(p.highWatermark, BigInt(COUNT));
        for (const batch of p.records ?? []) {
          for (const r of batch.records) {
            const offset = batch.firstOffset + BigInt(r.offsetDelta);
            if (offset < fetchOffset) continue;
            got.push({
              offset,
              key: r.key!.toString(),
              value: r.value!.toString(),
              n: r.headers[0][1]!.toString(),
            });
            fetchOffset = offset + 1n;
          }
        }
      }
      assertEquals(got.length, COUNT);
      got.forEach((m, i) =>
        assertEquals(m, { offset: BigInt(i), key: `k${i}`, value: `v${i}`, n: String(i) })
      );

      // Another client agrees.
      const viaKcat = await kcatConsume(t.bootstrap, { topic: "pk", partition: 1, offset: 990 });
      assertEquals(viaKcat.map((m) => m.value), messages.slice(990).map((m) => m.value));

      await admin.deleteTopics({ topics: ["pk"] });
      assert(!(await admin.listTopics()).includes("pk"));
    } finally {
      await consumer.close();
      await producer.close();
      await admin.close();
    }
  });
});
