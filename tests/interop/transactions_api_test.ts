/**
 * The transactional APIs over a real socket, request by request (issue 14):
 * FindCoordinator for transactional ids, InitProducerId (epoch bumps, the
 * timeout bound, fencing answered per version), AddPartitionsToTxn,
 * AddOffsetsToTxn, TxnOffsetCommit with OffsetFetch `requireStable`, EndTxn,
 * DescribeTransactions, ListTransactions, WriteTxnMarkers and the HTTP API's
 * transaction list. Only `__consumer_offsets` is in these transactions, so
 * their markers never leave the group coordinator.
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import {
  addOffsetsToTxnApi,
  addPartitionsToTxnApi,
  createTopicsApi,
  describeTransactionsApi,
  endTxnApi,
  findCoordinatorApi,
  initProducerIdApi,
  listTransactionsApi,
  offsetFetchApi,
  txnOffsetCommitApi,
  writeTxnMarkersApi,
} from "../../protocol/messages/mod.ts";
import { defaultOffsetFetchRequest } from "../../protocol/messages/offset_fetch.ts";
import { assert } from "../../util/assert.ts";
import { call, withHttpBroker } from "./http_helpers.ts";
import { type RawConnection, withConnection } from "./raw_client.ts";
import { describeTransaction, readTransactionCounters } from "./bun_transactions.ts";

const TOPIC = "txn-api";
const GROUP = "txn-api-group";

async function init(c: RawConnection, transactionalId: string, timeoutMs = 60_000) {
  return await c.request(initProducerIdApi, 4, {
    transactionalId,
    transactionTimeoutMs: timeoutMs,
    producerId: -1,
    producerEpoch: -1,
  });
}

async function fetchOffset(c: RawConnection, requireStable: boolean) {
  const res = await c.request(offsetFetchApi, 7, {
    ...defaultOffsetFetchRequest(),
    groupId: GROUP,
    topics: [{ name: TOPIC, partitionIndexes: [0] }],
    requireStable,
  });
  const p = res.topics[0].partitions[0];
  return [p.committedOffset, p.errorCode];
}

async function txnCommit(c: RawConnection, producerId: number, producerEpoch: number, version = 3) {
  const res = await c.request(txnOffsetCommitApi, version, {
    transactionalId: "tx-a",
    groupId: GROUP,
    producerId,
    producerEpoch,
    generationId: -1,
    memberId: "",
    groupInstanceId: null,
    topics: [{
      name: TOPIC,
      partitions: [{
        partitionIndex: 0,
        committedOffset: 42,
        committedLeaderEpoch: -1,
        committedMetadata: null,
      }],
    }],
  });
  return res.topics[0].partitions[0].errorCode;
}

Deno.test("transactional APIs: a transaction of offsets from InitProducerId to its commit", async () => {
  await withHttpBroker({}, async (t) => {
    await withConnection(t.bootstrap, async (c) => {
      await c.request(createTopicsApi, 5, {
        topics: [{
          name: TOPIC,
          numPartitions: 1,
          replicationFactor: 1,
          assignments: [],
          configs: [],
        }],
        timeoutMs: 5000,
        validateOnly: false,
      });
      const v1 = await c.request(findCoordinatorApi, 1, {
        key: "tx-a",
        keyType: 1,
        coordinatorKeys: [],
      });
      assert.equal(v1.errorCode, ErrorCode.NONE);
      assert.equal(v1.port, t.broker.port);
      const v4 = await c.request(findCoordinatorApi, 4, {
        key: "",
        keyType: 1,
        coordinatorKeys: ["a", "b"],
      });
      assert.deepEqual(v4.coordinators.map((k) => [k.errorCode, k.port]), [
        [ErrorCode.NONE, t.broker.port],
        [ErrorCode.NONE, t.broker.port],
      ]);
      const bad = await c.request(findCoordinatorApi, 4, {
        key: "",
        keyType: 7,
        coordinatorKeys: ["a"],
      });
      assert.equal(bad.coordinators[0].errorCode, ErrorCode.INVALID_REQUEST);

      const first = await init(c, "tx-a");
      assert.equal(first.errorCode, ErrorCode.NONE);
      const p = await init(c, "tx-a");
      assert.deepEqual([p.producerId, p.producerEpoch], [
        first.producerId,
        first.producerEpoch + 1,
      ]);
      assert.equal(
        (await init(c, "tx-a", 900_001)).errorCode,
        ErrorCode.INVALID_TRANSACTION_TIMEOUT,
      );
      const producer = {
        transactionalId: "tx-a",
        producerId: p.producerId,
        producerEpoch: p.producerEpoch,
      };

      const unknown = await c.request(addPartitionsToTxnApi, 3, {
        transactions: [],
        v3AndBelowTransactionalId: "tx-a",
        v3AndBelowProducerId: p.producerId,
        v3AndBelowProducerEpoch: p.producerEpoch,
        v3AndBelowTopics: [{ name: TOPIC, partitions: [0] }, {
          name: "no-such-topic",
          partitions: [0],
        }],
      });
      assert.deepEqual(
        unknown.resultsByTopicV3AndBelow.map((r) => r.resultsByPartition[0].partitionErrorCode),
        [ErrorCode.OPERATION_NOT_ATTEMPTED, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      );
      // TxnOffsetCommit before AddOffsetsToTxn: the group is not in the transaction.
      assert.equal(await txnCommit(c, p.producerId, p.producerEpoch), ErrorCode.INVALID_TXN_STATE);
      const added = await c.request(addOffsetsToTxnApi, 3, { ...producer, groupId: GROUP });
      assert.equal(added.errorCode, ErrorCode.NONE);
      assert.equal(await txnCommit(c, p.producerId, p.producerEpoch), ErrorCode.NONE);
      assert.deepEqual(await fetchOffset(c, true), [-1, ErrorCode.UNSTABLE_OFFSET_COMMIT]);
      // v4 (KIP-890, broker to coordinator): verifyOnly answers per partition, adds nothing.
      const offsetsPartition = (await describeTransaction(t.broker, "tx-a"))!.partitions[0]
        .partitions[0];
      const verified = await c.request(addPartitionsToTxnApi, 4, {
        transactions: [{
          ...producer,
          verifyOnly: true,
          topics: [
            { name: "__consumer_offsets", partitions: [offsetsPartition] },
            { name: TOPIC, partitions: [0] },
          ],
        }],
        v3AndBelowTransactionalId: "",
        v3AndBelowProducerId: 0,
        v3AndBelowProducerEpoch: 0,
        v3AndBelowTopics: [],
      });
      assert.deepEqual(
        verified.resultsByTransaction[0].topicResults.map((r) =>
          r.resultsByPartition[0].partitionErrorCode
        ),
        [ErrorCode.NONE, ErrorCode.INVALID_TXN_STATE],
      );
      assert.equal((await describeTransaction(t.broker, "tx-a"))!.partitions.length, 1);
      assert.deepEqual(await fetchOffset(c, false), [-1, ErrorCode.NONE]);

      const described = await c.request(describeTransactionsApi, 0, {
        transactionalIds: ["tx-a", "nope"],
      });
      const [a, nope] = described.transactionStates;
      assert.deepEqual([a.errorCode, a.transactionState, a.producerId], [
        ErrorCode.NONE,
        "Ongoing",
        p.producerId,
      ]);
      assert.deepEqual(a.topics.map((x) => x.topic), ["__consumer_offsets"]);
      assert.equal(nope.errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
      const listed = await c.request(listTransactionsApi, 1, {
        stateFilters: ["Ongoing", "Bogus"],
        producerIdFilters: [],
        durationFilter: -1,
      });
      assert.deepEqual(listed.unknownStateFilters, ["Bogus"]);
      assert.deepEqual(listed.transactionStates.map((x) => x.transactionalId), ["tx-a"]);
      const http = await call("GET", `${t.cluster}/transactions?state=Ongoing`);
      assert.equal(http.status, 200);
      assert.equal(http.body.data[0].transactional_id, "tx-a");
      assert.equal(http.body.data[0].producer_epoch, p.producerEpoch);
      assert.deepEqual(
        http.body.data[0].partitions.map((x: { topic_name: string }) => x.topic_name),
        [
          "__consumer_offsets",
        ],
      );

      // A stale epoch: INVALID_PRODUCER_EPOCH before KIP-588's versions, PRODUCER_FENCED after.
      const stale = { ...producer, producerEpoch: p.producerEpoch - 1, committed: true };
      assert.equal(
        (await c.request(endTxnApi, 1, stale)).errorCode,
        ErrorCode.INVALID_PRODUCER_EPOCH,
      );
      assert.equal((await c.request(endTxnApi, 3, stale)).errorCode, ErrorCode.PRODUCER_FENCED);
      const ended = await c.request(endTxnApi, 3, { ...producer, committed: true });
      assert.equal(ended.errorCode, ErrorCode.NONE);
      await t.broker.transactions.idle();
      assert.deepEqual(await fetchOffset(c, true), [42, ErrorCode.NONE]);
      assert.equal((await describeTransaction(t.broker, "tx-a"))?.state, "CompleteCommit");
      assert.equal((await readTransactionCounters(t.broker)).commits, 1);
      const metrics = await (await fetch(`${t.url}/metrics`)).text();
      assert.match(metrics, /^denka_transactions_ended_total\{outcome="commit"\} 1$/m);
      assert.match(metrics, /^denka_transactions_ended_total\{outcome="abort"\} 0$/m);
      assert.match(metrics, /^denka_transactions_open 0$/m);
    });
  });
});

Deno.test("WriteTxnMarkers: an ABORT marker drops a producer's pending transactional offsets", async () => {
  await withHttpBroker({}, async (t) => {
    await withConnection(t.bootstrap, async (c) => {
      await c.request(createTopicsApi, 5, {
        topics: [{
          name: TOPIC,
          numPartitions: 1,
          replicationFactor: 1,
          assignments: [],
          configs: [],
        }],
        timeoutMs: 5000,
        validateOnly: false,
      });
      const p = await init(c, "tx-a");
      await c.request(addOffsetsToTxnApi, 3, {
        transactionalId: "tx-a",
        producerId: p.producerId,
        producerEpoch: p.producerEpoch,
        groupId: GROUP,
      });
      assert.equal(await txnCommit(c, p.producerId, p.producerEpoch), ErrorCode.NONE);
      const written = await c.request(writeTxnMarkersApi, 1, {
        markers: [{
          producerId: p.producerId,
          producerEpoch: p.producerEpoch,
          transactionResult: false,
          topics: [{ name: "__consumer_offsets", partitionIndexes: [0] }],
          coordinatorEpoch: 0,
        }],
      });
      assert.equal(written.markers[0].topics[0].partitions[0].errorCode, ErrorCode.NONE);
      assert.deepEqual(await fetchOffset(c, true), [-1, ErrorCode.NONE]);
    });
  });
});
