/**
 * Groups cluster-wide with three in-process brokers and a real etcd: each
 * group lives in its partition of the replicated `__consumer_offsets` topic;
 * the leader of that partition coordinates it, other brokers answer
 * NOT_COORDINATOR, and when the coordinator stops, the new leader of the
 * partition rebuilds the group from the log so that consumers resume from
 * their last commit.
 */
import { Kafka, logLevel } from "kafkajs";
import { assert, assertEquals } from "../../util/assert.ts";
import { type BrokerHandle, startBroker } from "../../mod.ts";
import { etcdInstalled, startEtcd } from "./etcd_server.ts";
import { withConnection } from "../interop/raw_client.ts";
import { heartbeatApi, offsetFetchApi } from "../../protocol/messages/mod.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { offsetsPartitionFor } from "../../broker/handlers/_cluster_group_coordinator.ts";
import { GROUP_METADATA_TOPIC } from "../../broker/cluster/cluster_groups.ts";

/** The registration lease: short, so a broker that dies is noticed quickly. */
const SESSION_MS = 2_000;
/** Bound of every wait on the cluster (a loaded CI box). */
const WAIT_MS = 20_000;
/** offsets.topic.num.partitions of the test cluster. */
const OFFSETS_PARTITIONS = 3;

async function waitFor(broker: BrokerHandle, predicate: () => boolean, what: string) {
  const ok = await broker.cluster!.cache.waitFor(predicate, WAIT_MS);
  assert(ok, `Timed out after ${WAIT_MS} ms waiting for ${what}`);
}

/** Three brokers on one etcd; `fn` gets them; everything is closed after. */
async function withCluster(fn: (brokers: BrokerHandle[]) => Promise<void>): Promise<void> {
  const etcd = await startEtcd();
  const dirs: string[] = [];
  const brokers: BrokerHandle[] = [];
  try {
    for (let nodeId = 1; nodeId <= 3; nodeId++) {
      const dataDir = await Deno.makeTempDir({ prefix: `denka-cgroups-${nodeId}-` });
      dirs.push(dataDir);
      brokers.push(
        await startBroker({
          port: 0,
          dataDir,
          nodeId,
          etcd: [etcd.clientUrl],
          brokerSessionTimeoutMs: SESSION_MS,
          autoLeaderRebalance: false,
          offsetsTopicNumPartitions: OFFSETS_PARTITIONS,
        }),
      );
    }
    for (const b of brokers) {
      await waitFor(b, () => b.cluster!.cache.brokers.size === 3, "3 brokers");
    }
    await waitFor(
      brokers[0],
      () => brokers[0].cluster!.cache.controller !== undefined,
      "controller",
    );
    await fn(brokers);
  } finally {
    for (const b of brokers) await b.close();
    await etcd.close();
    for (const dir of dirs) await Deno.remove(dir, { recursive: true });
  }
}

function kafka(brokers: readonly BrokerHandle[]) {
  return new Kafka({
    clientId: "denka-cgroups-test",
    brokers: brokers.map((b) => b.bootstrap),
    logLevel: logLevel.NOTHING,
    retry: { retries: 12, initialRetryTime: 100, maxRetryTime: 1000 },
  });
}

/** The broker leading the `__consumer_offsets` partition of `groupId`, as `b` knows it. */
function coordinatorOf(b: BrokerHandle, groupId: string): number {
  const partition = offsetsPartitionFor(groupId, OFFSETS_PARTITIONS);
  return b.cluster!.cache.partitionState(GROUP_METADATA_TOPIC, partition)?.leader ?? -1;
}

/** Consumes with a kafkajs group member until `count` values arrived; disconnects (committing). */
async function consume(
  client: Kafka,
  groupId: string,
  topic: string,
  count: number,
): Promise<string[]> {
  const consumer = client.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500 });
  const values: string[] = [];
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`Only ${values.length} of ${count} values within ${WAIT_MS} ms`)),
        WAIT_MS,
      );
      consumer.run({
        eachMessage: ({ message }) => {
          values.push(message.value!.toString());
          if (values.length >= count) {
            clearTimeout(timer);
            resolve();
          }
          return Promise.resolve();
        },
      }).catch(reject);
    });
  } finally {
    await consumer.disconnect(); // commits the offsets consumed
  }
  return values;
}

async function produce(client: Kafka, topic: string, from: number, to: number): Promise<void> {
  const producer = client.producer();
  await producer.connect();
  try {
    const messages = [];
    for (let i = from; i < to; i++) messages.push({ key: `k${i % 4}`, value: `v${i}` });
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

function range(from: number, to: number): string[] {
  return Array.from({ length: to - from }, (_, i) => `v${from + i}`);
}

Deno.test({
  name:
    "cluster groups: offsets committed on the coordinator survive its stop; others answer NOT_COORDINATOR",
  ignore: !etcdInstalled(),
  async fn() {
    await withCluster(async (brokers) => {
      const group = "orders-readers";
      const topic = "orders";
      const client = kafka(brokers);
      const admin = client.admin();
      await admin.connect();
      try {
        await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 3 }] });
      } finally {
        await admin.disconnect();
      }
      await produce(client, topic, 0, 20);
      assertEquals((await consume(client, group, topic, 20)).sort(), range(0, 20).sort());

      const coordinatorId = coordinatorOf(brokers[0], group);
      assert(coordinatorId > 0, "the group's partition has a leader");
      const coordinator = brokers[coordinatorId - 1];
      const others = brokers.filter((b) => b !== coordinator);
      // A broker that does not lead the group's partition refuses its requests.
      await withConnection(others[0].bootstrap, async (c) => {
        const fetched = await c.request(offsetFetchApi, 7, {
          groupId: group,
          topics: null,
          groups: [],
          requireStable: false,
        });
        assertEquals(fetched.errorCode, ErrorCode.NOT_COORDINATOR);
        const beat = await c.request(heartbeatApi, 4, {
          groupId: group,
          generationId: 1,
          memberId: "m",
          groupInstanceId: null,
        });
        assertEquals(beat.errorCode, ErrorCode.NOT_COORDINATOR);
      });

      await coordinator.close();
      await waitFor(
        others[0],
        () => ![-1, coordinatorId].includes(coordinatorOf(others[0], group)),
        "a new leader of the group's partition",
      );
      const survivors = kafka(others);
      const after = survivors.admin();
      await after.connect();
      try {
        const [offsets] = await after.fetchOffsets({ groupId: group, topics: [topic] });
        const total = offsets.partitions.reduce((sum, p) => sum + Number(p.offset), 0);
        assertEquals(total, 20); // every record consumed before the stop is committed
      } finally {
        await after.disconnect();
      }
      // The group resumes from its commit: only the records produced since arrive.
      await produce(survivors, topic, 20, 30);
      assertEquals((await consume(survivors, group, topic, 10)).sort(), range(20, 30).sort());
    });
  },
});
