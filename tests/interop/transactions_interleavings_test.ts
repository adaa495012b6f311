/**
 * The interleavings Jepsen's Bufstream analysis (2024) and KIP-890 describe,
 * with raw requests on several connections (issue 14):
 *
 * - a produce delayed past EndTxn and its markers is refused by the
 *   partition's KIP-890 verification: it neither opens a transaction nobody
 *   ends (an LSO stuck forever) nor lands in the next transaction;
 * - a zombie's produce and a delayed marker of its epoch, after a successor
 *   fenced it, are refused and leave the successor's transaction intact;
 * - while a transaction's markers are delayed, the producer's next
 *   transaction cannot begin (CONCURRENT_TRANSACTIONS), so its records can
 *   never be decided by the previous transaction's marker.
 */
import { Broker } from "../../broker/broker.ts";
import { resolveConfig } from "../../broker/config.ts";
import { localMarkerChannel } from "../../broker/transactions/broker_coordinator.ts";
import { TransactionCoordinator } from "../../broker/transactions/coordinator.ts";
import type { MarkerResult, TxnMarkerChannel } from "../../broker/transactions/marker_channel.ts";
import type { TxnMarker } from "../../broker/transactions/partition_markers.ts";
import type { TxnTopicPartitions } from "../../broker/transactions/txn_records.ts";
import { startBrokerFlags } from "../../_start_flags.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { produceApi, writeTxnMarkersApi } from "../../protocol/messages/mod.ts";
import { assert } from "../../util/assert.ts";
import { createLogger } from "../../util/log.ts";
import { makeDataDir, topicName, withBroker } from "./harness.ts";
import { RawConnection } from "./raw_client.ts";
import {
  addPartition,
  createTopics,
  endTxn,
  initTxnProducer,
  readValues,
  txnProduce,
  txnProduceRequest,
} from "./txn_raw.ts";

Deno.test("a produce delayed past EndTxn and its markers is refused, not put in the next transaction", async () => {
  await withBroker({}, async (t) => {
    const topic = topicName("late-produce");
    const c = await RawConnection.connect(t.bootstrap);
    const slow = await RawConnection.connect(t.bootstrap); // the connection the produce is late on
    try {
      await createTopics(c, [topic]);
      const p = await initTxnProducer(c, "late");
      assert.equal(await addPartition(c, p, topic), ErrorCode.NONE);
      assert.equal(await txnProduce(c, p, topic, ["a"]), ErrorCode.NONE);
      const delayed = txnProduceRequest(p, topic, ["late"]); // built in txn 1, sent after it
      p.sequences.set(topic, 1); // the client never saw it succeed
      assert.equal(await endTxn(c, p, true), ErrorCode.NONE);
      await t.broker.transactions.idle();
      const late = await slow.request(produceApi, 9, delayed);
      assert.equal(late.responses[0].partitionResponses[0].errorCode, ErrorCode.INVALID_TXN_STATE);
      // The next transaction goes on unharmed.
      assert.equal(await addPartition(c, p, topic), ErrorCode.NONE);
      assert.equal(await txnProduce(c, p, topic, ["b"]), ErrorCode.NONE);
      assert.equal(await endTxn(c, p, true), ErrorCode.NONE);
      await t.broker.transactions.idle();
      assert.deepEqual(await readValues(c, topic, "read_committed"), ["a", "b"]);
      assert.deepEqual(await readValues(c, topic, "read_uncommitted"), ["a", "b"]);
    } finally {
      c.close();
      slow.close();
    }
  });
});

Deno.test("a zombie's produce and a delayed marker of its epoch are refused after a successor fenced it", async () => {
  await withBroker({}, async (t) => {
    const topic = topicName("zombie");
    const c = await RawConnection.connect(t.bootstrap);
    const z = await RawConnection.connect(t.bootstrap);
    try {
      await createTopics(c, [topic]);
      const zombie = await initTxnProducer(z, "zombie");
      assert.equal(await addPartition(z, zombie, topic), ErrorCode.NONE);
      assert.equal(await txnProduce(z, zombie, topic, ["z-0"]), ErrorCode.NONE);
      // The successor's InitProducerId aborts the zombie's transaction first (retried until then).
      let successor;
      for (let attempt = 0; successor === undefined; attempt++) {
        assert.ok(attempt < 100, "the zombie's transaction was never aborted");
        successor = await initTxnProducer(c, "zombie").catch(() => t.broker.transactions.idle());
      }
      assert.equal(successor.producerEpoch, zombie.producerEpoch + 2);
      assert.equal(await addPartition(c, successor, topic), ErrorCode.NONE);
      assert.equal(await txnProduce(c, successor, topic, ["s-0"]), ErrorCode.NONE);
      assert.equal(await txnProduce(z, zombie, topic, ["z-1"]), ErrorCode.INVALID_PRODUCER_EPOCH);
      assert.equal(await addPartition(z, zombie, topic), ErrorCode.PRODUCER_FENCED);
      const stale = await z.request(writeTxnMarkersApi, 1, {
        markers: [{
          producerId: zombie.producerId,
          producerEpoch: zombie.producerEpoch,
          transactionResult: true,
          topics: [{ name: topic, partitionIndexes: [0] }],
          coordinatorEpoch: 0,
        }],
      });
      assert.equal(
        stale.markers[0].topics[0].partitions[0].errorCode,
        ErrorCode.INVALID_PRODUCER_EPOCH,
      );
      assert.deepEqual(await readValues(c, topic, "read_committed"), []);
      assert.equal(await endTxn(c, successor, true), ErrorCode.NONE);
      await t.broker.transactions.idle();
      assert.deepEqual(await readValues(c, topic, "read_committed"), ["s-0"]);
    } finally {
      c.close();
      z.close();
    }
  });
});

/** The broker's own channel, holding every marker until {@linkcode GatedChannel.release}. */
class GatedChannel implements TxnMarkerChannel {
  readonly #inner: TxnMarkerChannel;
  #release!: () => void;
  readonly #gate = new Promise<void>((resolve) => this.#release = resolve);
  /** Resolves when the first marker is being held. */
  readonly held: Promise<void>;
  #onHeld!: () => void;

  constructor(inner: TxnMarkerChannel) {
    this.#inner = inner;
    this.held = new Promise((resolve) => this.#onHeld = resolve);
  }

  release(): void {
    this.#release();
  }

  async send(
    marker: TxnMarker,
    partitions: readonly TxnTopicPartitions[],
  ): Promise<MarkerResult[]> {
    this.#onHeld();
    await this.#gate;
    return await this.#inner.send(marker, partitions);
  }
}

Deno.test("while a transaction's markers are delayed, the producer's next transaction cannot begin", async () => {
  const dataDir = await makeDataDir();
  const config = resolveConfig([{
    options: startBrokerFlags({ port: 0, dataDir, logLevel: "warn" }),
    topics: {},
  }]);
  const broker = await Broker.start(config);
  const channel = new GatedChannel(localMarkerChannel(broker));
  const coordinator = TransactionCoordinator.open(broker.libc, {
    dataDir: `${dataDir}/gated-coordinator`,
    settings: config.txnSettings,
    logger: createLogger("silent"),
    nowMs: () => Date.now(),
    nextProducerId: () => broker.producerIds.next(),
    channel,
    partitionExists: (topic, partition) => broker.topics.partition(topic, partition) !== undefined,
  });
  broker.txnVerifier = coordinator; // the partitions ask this coordinator
  const c = await RawConnection.connect(`${broker.address.hostname}:${broker.address.port}`);
  try {
    const topic = topicName("delayed-marker");
    await createTopics(c, [topic]);
    const init = coordinator.initProducerId({
      transactionalId: "dm",
      transactionTimeoutMs: 60_000,
      producerId: -1,
      producerEpoch: -1,
    });
    const p = { transactionalId: "dm", ...init, sequences: new Map<string, number>() };
    const tp = [{ topic, partitions: [0] }];
    assert.equal(coordinator.addPartitions(p, tp).errorCode, ErrorCode.NONE);
    assert.equal(await txnProduce(c, p, topic, ["t1-0", "t1-1"]), ErrorCode.NONE);
    assert.equal(coordinator.endTxn(p, true), ErrorCode.NONE);
    await channel.held;
    // The marker is delayed: the next transaction is refused until it is written, and the
    // records stay invisible to read_committed (the LSO is held at the transaction's start).
    assert.equal(coordinator.addPartitions(p, tp).errorCode, ErrorCode.CONCURRENT_TRANSACTIONS);
    assert.deepEqual(await readValues(c, topic, "read_committed"), []);
    channel.release();
    await coordinator.idle();
    assert.equal(coordinator.describe("dm")?.state, "CompleteCommit");
    assert.equal(coordinator.addPartitions(p, tp).errorCode, ErrorCode.NONE);
    assert.equal(await txnProduce(c, p, topic, ["t2-0"]), ErrorCode.NONE);
    assert.deepEqual(await readValues(c, topic, "read_committed"), ["t1-0", "t1-1"]);
    assert.equal(coordinator.endTxn(p, false), ErrorCode.NONE);
    await coordinator.idle();
    assert.deepEqual(await readValues(c, topic, "read_committed"), ["t1-0", "t1-1"]);
    assert.deepEqual(await readValues(c, topic, "read_uncommitted"), ["t1-0", "t1-1", "t2-0"]);
  } finally {
    c.close();
    coordinator.close();
    await broker.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
