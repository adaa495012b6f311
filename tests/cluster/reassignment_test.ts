/**
 * Partition reassignment with the kafkajs admin client on three in-process
 * brokers and a real etcd: a partition led by broker 1 on [1, 2] moves to
 * [3, 2]; broker 3 copies its records and takes over the leadership, broker
 * 1 drops its copy, and a producer and consumer go on against the new
 * leader. Refusals (an unknown broker, a cancel with nothing under way) come
 * back with Kafka's error codes.
 */
import { Kafka, logLevel } from "kafkajs";
import { assert, assertEquals } from "../../util/assert.ts";
import { etcdInstalled } from "./etcd_server.ts";
import { WAIT_MS, waitFor, withThreeBrokers } from "./three_brokers.ts";
import { withConnection } from "../interop/raw_client.ts";
import { alterPartitionReassignmentsApi } from "../../protocol/messages/mod.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";

const RECORDS = 20;

function kafka(bootstrap: string) {
  return new Kafka({
    clientId: "denka-reassign-test",
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 1000 },
  });
}

/** Bytes in the partition's segment files (no event tells when a broker emptied them). */
async function logBytes(dataDir: string, dir: string): Promise<number> {
  let total = 0;
  for await (const e of Deno.readDir(`${dataDir}/${dir}`)) {
    if (e.name.endsWith(".log")) total += (await Deno.stat(`${dataDir}/${dir}/${e.name}`)).size;
  }
  return total;
}

Deno.test({
  name: "cluster: kafkajs alterPartitionReassignments moves a partition and its leader",
  ignore: !etcdInstalled(),
  async fn() {
    await withThreeBrokers("denka-reassign", { replicaFetchBackoffMs: 50 }, async (brokers) => {
      const dirs = brokers.map((b) => b.config.dataDir);
      const [b1, b2, b3] = brokers;
      await waitFor(b1, () => b1.cluster!.cache.brokers.size === 3, "3 brokers");
      const created = await b2.cluster!.admin.createTopic("moving", {
        partitions: 2,
        replicationFactor: 2,
        assignment: [[1, 2], [1, 2]],
        configs: {},
      }, WAIT_MS);
      assertEquals(created, undefined);
      await waitFor(
        b1,
        () =>
          b1.cluster!.cache.topicPartitions("moving").length === 2 &&
          b1.cluster!.cache.topicPartitions("moving").every((s) => s.isr.length === 2),
        "moving led with a full ISR",
      );

      const client = kafka(b2.bootstrap);
      const producer = client.producer({ allowAutoTopicCreation: false });
      const admin = client.admin();
      await producer.connect();
      await admin.connect();
      try {
        const messages = Array.from({ length: RECORDS }, (_, i) => ({ value: `r${i}` }));
        await producer.send({
          topic: "moving",
          acks: -1,
          messages: messages.map((m) => ({ ...m, partition: 0 })),
        });
        await producer.send({
          topic: "moving",
          acks: -1,
          messages: messages.map((m) => ({ ...m, partition: 1 })),
        });
        assert(await logBytes(dirs[0], "moving-0") > 0, "broker 1 holds moving-0's records");

        await admin.alterPartitionReassignments({
          topics: [{ topic: "moving", partitionAssignment: [{ partition: 0, replicas: [3, 2] }] }],
          timeout: WAIT_MS,
        });
        await waitFor(
          b1,
          () => {
            const s = b1.cluster!.cache.partitionState("moving", 0);
            return s !== undefined && s.leader === 3 && s.replicas.join() === "3,2";
          },
          "moving-0 on [3, 2] led by 3",
        );
        const state = b1.cluster!.cache.partitionState("moving", 0)!;
        assertEquals(state.leaderEpoch, 1);
        assertEquals([...state.isr].sort(), [2, 3]);
        assertEquals(await admin.listPartitionReassignments({}), { topics: [] });
        // Partition 1 did not move.
        assertEquals(b1.cluster!.cache.partitionState("moving", 1)!.replicas, [1, 2]);

        // The new leader has every record (asked of it, through kafkajs's metadata).
        const offsets = await admin.fetchTopicOffsets("moving");
        assertEquals(offsets.find((o) => o.partition === 0)?.high, String(RECORDS));
        // Broker 1 dropped its copy (it still holds moving-1, so the directory stays, empty).
        const deadline = Date.now() + WAIT_MS;
        while (await logBytes(dirs[0], "moving-0") > 0) {
          assert(Date.now() < deadline, "broker 1 did not drop moving-0's records");
          await new Promise((resolve) => setTimeout(resolve, 20)); // poll interval
        }
        assert(await logBytes(dirs[0], "moving-1") > 0, "broker 1 keeps moving-1");

        // Producing and consuming go on at the new leader.
        await producer.send({
          topic: "moving",
          acks: -1,
          messages: [{ partition: 0, value: "after" }],
        });
        const consumer = client.consumer({ groupId: "reassign-readers" });
        await consumer.connect();
        try {
          const seen: string[] = [];
          const all = Promise.withResolvers<void>();
          await consumer.subscribe({ topic: "moving", fromBeginning: true });
          await consumer.run({
            eachMessage: ({ partition, message }) => {
              if (partition === 0) seen.push(message.value!.toString());
              if (seen.length === RECORDS + 1) all.resolve();
              return Promise.resolve();
            },
          });
          const timer = setTimeout(() => all.reject(new Error(`Read ${seen.length}`)), WAIT_MS);
          await all.promise.finally(() => clearTimeout(timer));
          assertEquals(seen, [...messages.map((m) => m.value), "after"]);
        } finally {
          await consumer.disconnect();
        }

        // An unknown broker: INVALID_REPLICA_ASSIGNMENT, nothing changes.
        let refused: unknown;
        await admin.alterPartitionReassignments({
          topics: [{ topic: "moving", partitionAssignment: [{ partition: 1, replicas: [9] }] }],
        }).catch((e) => refused = e);
        const errors = (refused as { errors?: { type: string }[] }).errors ?? [];
        assertEquals(errors.map((e) => e.type), ["INVALID_REPLICA_ASSIGNMENT"]);
        assertEquals(b3.cluster!.cache.partitionState("moving", 1)!.replicas, [1, 2]);
      } finally {
        await producer.disconnect();
        await admin.disconnect();
      }

      // A cancel with nothing under way (kafkajs cannot send null replicas).
      const cancel = await withConnection(
        b3.bootstrap,
        (raw) =>
          raw.request(alterPartitionReassignmentsApi, 0, {
            timeoutMs: WAIT_MS,
            topics: [{ name: "moving", partitions: [{ partitionIndex: 1, replicas: null }] }],
          }),
      );
      assertEquals(cancel.errorCode, ErrorCode.NONE);
      assertEquals(
        cancel.responses[0].partitions[0].errorCode,
        ErrorCode.NO_REASSIGNMENT_IN_PROGRESS,
      );
    });
  },
});
