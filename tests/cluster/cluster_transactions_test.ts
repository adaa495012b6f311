/**
 * Transactions cluster-wide with three in-process brokers and a real etcd:
 * a transactional id lives in its partition of the replicated
 * `__transaction_state` topic, whose leader coordinates it; markers reach
 * partitions led by other brokers over WriteTxnMarkers, and their leaders
 * verify transactional produces with the coordinator (KIP-890). When the
 * coordinator stops, the new leader of the partition loads the id, aborts
 * the transaction left open, and the producer goes on after initialising
 * again.
 */
import { Kafka, logLevel, type Producer } from "kafkajs";
import { assert, assertEquals } from "../../util/assert.ts";
import type { BrokerHandle } from "../../mod.ts";
import { WAIT_MS, waitFor, withThreeBrokers } from "./three_brokers.ts";
import { etcdInstalled } from "./etcd_server.ts";
import { withConnection } from "../interop/raw_client.ts";
import {
  describeTransactionsApi,
  endTxnApi,
  initProducerIdApi,
  listTransactionsApi,
} from "../../protocol/messages/mod.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { txnPartitionFor } from "../../broker/transactions/txn_records.ts";
import { TXN_STATE_TOPIC } from "../../broker/cluster/cluster_transactions.ts";

/** transaction.state.log.num.partitions (and offsets.topic.num.partitions) of the test cluster. */
const STATE_PARTITIONS = 3;
/** Partitions of the data topic: one led by each broker, as the controller spreads them. */
const DATA_PARTITIONS = 3;

/** Three brokers on one etcd; `fn` gets them; everything is closed after. */
function withCluster(fn: (brokers: BrokerHandle[]) => Promise<void>): Promise<void> {
  return withThreeBrokers("denka-ctxn", {
    offsetsTopicNumPartitions: STATE_PARTITIONS,
    transactionStateLogNumPartitions: STATE_PARTITIONS,
  }, fn);
}

function kafka(brokers: readonly BrokerHandle[]) {
  return new Kafka({
    clientId: "denka-ctxn-test",
    brokers: brokers.map((b) => b.bootstrap),
    logLevel: logLevel.NOTHING,
    // About 20 s of retries (WAIT_MS): a takeover waits out the 2 s session of the stopped broker.
    retry: { retries: 25, initialRetryTime: 100, maxRetryTime: 1000 },
  });
}

/** The broker leading the `__transaction_state` partition of `transactionalId`, as `b` knows it. */
function coordinatorOf(b: BrokerHandle, transactionalId: string): number {
  const partition = txnPartitionFor(transactionalId, STATE_PARTITIONS);
  return b.cluster!.cache.partitionState(TXN_STATE_TOPIC, partition)?.leader ?? -1;
}

/** One record per data partition, valued `${prefix}-${partition}`. */
function onEveryPartition(prefix: string) {
  return Array.from(
    { length: DATA_PARTITIONS },
    (_, p) => ({ value: `${prefix}-${p}`, partition: p }),
  );
}

function valuesOf(...prefixes: string[]): string[] {
  return prefixes.flatMap((prefix) => onEveryPartition(prefix).map((m) => m.value)).sort();
}

async function transactionalProducer(client: Kafka, transactionalId: string): Promise<Producer> {
  const producer = client.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  return producer;
}

async function runTransaction(
  producer: Producer,
  topic: string,
  prefix: string,
  commit: boolean,
  offsets?: { groupId: string; offset: string },
) {
  const txn = await producer.transaction();
  await txn.send({ topic, acks: -1, messages: onEveryPartition(prefix) });
  if (offsets !== undefined) {
    await txn.sendOffsets({
      consumerGroupId: offsets.groupId,
      topics: [{ topic, partitions: [{ partition: 0, offset: offsets.offset }] }],
    });
  }
  await (commit ? txn.commit() : txn.abort());
}

/** The committed offset of `groupId` on partition 0 of `topic` ("-1" when none). */
async function committedOffset(client: Kafka, groupId: string, topic: string): Promise<string> {
  const admin = client.admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return offsets.partitions.find((p) => p.partition === 0)?.offset ?? "-1";
  } finally {
    await admin.disconnect();
  }
}

/**
 * Reads `topic` from the start with a read_committed group consumer until `count` records came.
 * A partition's records arrive in offset order and the aborted ones lie before the last
 * committed ones, so an aborted record that leaked would be among the first `count`.
 */
async function consumeCommitted(
  client: Kafka,
  groupId: string,
  topic: string,
  count: number,
): Promise<string[]> {
  const consumer = client.consumer({ groupId, readUncommitted: false, sessionTimeout: 10_000 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const got: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`Only ${got.length} of ${count} records came within ${WAIT_MS} ms`)),
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
    return got.sort();
  } finally {
    await consumer.disconnect();
  }
}

Deno.test({
  name:
    "cluster transactions: markers reach every leader; the next leader of the id's partition aborts the open transaction",
  ignore: !etcdInstalled(),
  async fn() {
    await withCluster(async (brokers) => {
      const topic = "payments";
      const transactionalId = "payments-writer";
      const client = kafka(brokers);
      const admin = client.admin();
      await admin.connect();
      try {
        await admin.createTopics({
          topics: [{ topic, numPartitions: DATA_PARTITIONS, replicationFactor: 3 }],
        });
      } finally {
        await admin.disconnect();
      }
      const cache = brokers[0].cluster!.cache;
      const leaders = () =>
        Array.from({ length: DATA_PARTITIONS }, (_, p) => cache.partitionState(topic, p)?.leader);
      await waitFor(brokers[0], () => leaders().every((l) => l !== undefined && l > 0), "leaders");

      const producer = await transactionalProducer(client, transactionalId);
      await runTransaction(producer, topic, "first", true);
      const aborted = { groupId: "offsets-aborted", offset: "9" };
      await runTransaction(producer, topic, "aborted", false, aborted);
      const committed = { groupId: "offsets-committed", offset: "5" };
      await runTransaction(producer, topic, "second", true, committed);

      const coordinatorId = coordinatorOf(brokers[0], transactionalId);
      assert(coordinatorId > 0, "the id's __transaction_state partition has a leader");
      // Markers went over WriteTxnMarkers: some data partition is led by another broker.
      assert(
        leaders().some((l) => l !== coordinatorId),
        `leaders ${leaders()} all the coordinator`,
      );
      assertEquals(
        await consumeCommitted(client, "reader-1", topic, 2 * DATA_PARTITIONS),
        valuesOf("first", "second"),
      );
      // The offsets' marker reaches the group's coordinator after EndTxn answered: no event
      // tells a client, so the committed offset is polled (bounded); until then it is -1.
      const deadlineMs = Date.now() + WAIT_MS;
      let offset = "-1";
      while (offset === "-1" && Date.now() < deadlineMs) {
        offset = await committedOffset(client, committed.groupId, topic);
      }
      assertEquals(offset, committed.offset);
      // The aborted transaction (ended before the next one could start) committed nothing.
      assertEquals(await committedOffset(client, aborted.groupId, topic), "-1");

      const coordinator = brokers[coordinatorId - 1];
      const others = brokers.filter((b) => b !== coordinator);
      // A broker that does not coordinate the id refuses its transactional requests.
      await withConnection(others[0].bootstrap, async (c) => {
        const init = await c.request(initProducerIdApi, 4, {
          transactionalId,
          transactionTimeoutMs: 60_000,
          producerId: -1,
          producerEpoch: -1,
        });
        assertEquals(init.errorCode, ErrorCode.NOT_COORDINATOR);
        const end = await c.request(endTxnApi, 3, {
          transactionalId,
          producerId: 0,
          producerEpoch: 0,
          committed: true,
        });
        assertEquals(end.errorCode, ErrorCode.NOT_COORDINATOR);
        const described = await c.request(describeTransactionsApi, 0, {
          transactionalIds: [transactionalId],
        });
        assertEquals(described.transactionStates[0].errorCode, ErrorCode.NOT_COORDINATOR);
        const listed = await c.request(listTransactionsApi, 1, {
          stateFilters: [],
          producerIdFilters: [],
          durationFilter: -1,
        });
        assertEquals(listed.transactionStates.map((t) => t.transactionalId), []);
      });
      await withConnection(coordinator.bootstrap, async (c) => {
        const listed = await c.request(listTransactionsApi, 1, {
          stateFilters: [],
          producerIdFilters: [],
          durationFilter: -1,
        });
        assertEquals(listed.transactionStates.map((t) => t.transactionalId), [transactionalId]);
      });

      // A transaction left open on every partition when the coordinator stops.
      const open = await producer.transaction();
      await open.send({ topic, acks: -1, messages: onEveryPartition("open") });
      await producer.disconnect().catch(() => {}); // its coordinator is going away
      await coordinator.close();
      await waitFor(
        others[0],
        () => ![-1, coordinatorId].includes(coordinatorOf(others[0], transactionalId)),
        "a new leader of the id's __transaction_state partition",
      );

      // The producer initialises again with the new coordinator (which aborts the open
      // transaction, answering CONCURRENT_TRANSACTIONS until it is done) and goes on.
      const survivors = kafka(others);
      const again = await transactionalProducer(survivors, transactionalId);
      try {
        await runTransaction(again, topic, "after", true);
      } finally {
        await again.disconnect();
      }
      assertEquals(
        await consumeCommitted(survivors, "reader-2", topic, 3 * DATA_PARTITIONS),
        valuesOf("first", "second", "after"),
      );
    });
  },
});
