/**
 * The partition side of transactions against a real in-process broker: raw
 * transactional produces checked by a test verifier (KIP-890), markers
 * written with `writeTxnMarker` (what the coordinator calls), then
 * read_committed and read_uncommitted reads by raw Fetch, kcat and
 * confluent-kafka-python.
 *
 * @module
 */
import { assert } from "../../util/assert.ts";
import { Broker } from "../../broker/broker.ts";
import { resolveConfig } from "../../broker/config.ts";
import { startBrokerFlags } from "../../_start_flags.ts";
import type { TxnVerifier, TxnVerifyRequest } from "../../broker/transactions/verifier.ts";
import { type TxnMarker, writeTxnMarker } from "../../broker/transactions/partition_markers.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { encodeRecordBatch } from "../../protocol/records.ts";
import {
  defaultFetchRequest,
  defaultFetchRequestPartition,
  defaultFetchRequestTopic,
  type FetchResponse,
} from "../../protocol/messages/fetch.ts";
import { fetchApi, listOffsetsApi, produceApi } from "../../protocol/messages/mod.ts";
import { makeDataDir, runPython, topicName } from "./harness.ts";
import { kcatConsume } from "./kcat.ts";
import { RawConnection } from "./raw_client.ts";

/** Answers NONE for the (producer, partition) pairs added with {@linkcode allow}. */
class TestVerifier implements TxnVerifier {
  readonly calls: TxnVerifyRequest[] = [];
  readonly #allowed = new Set<string>();
  allow(producerId: number, producerEpoch: number, topic: string): void {
    this.#allowed.add(`${producerId}/${producerEpoch}/${topic}-0`);
  }
  /** When set, the next verification signals `reached` and answers what `answer` resolves to. */
  gate: { reached: PromiseWithResolvers<void>; answer: PromiseWithResolvers<number> } | undefined;
  verify(request: TxnVerifyRequest): Promise<number> {
    this.calls.push(request);
    const gate = this.gate;
    if (gate !== undefined) {
      this.gate = undefined;
      gate.reached.resolve();
      return gate.answer.promise;
    }
    const key =
      `${request.producerId}/${request.producerEpoch}/${request.topic}-${request.partition}`;
    return Promise.resolve(this.#allowed.has(key) ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE);
  }
}

const encoder = new TextEncoder();
/** Strictly increasing record timestamps, so that timestamp lookups have one answer. */
let nextTimestampMs = Date.now();

function batch(values: string[], producer?: { id: number; epoch: number; sequence: number }) {
  return encodeRecordBatch(
    values.map((v) => ({ key: null, value: encoder.encode(v), timestampMs: nextTimestampMs++ })),
    producer === undefined ? {} : {
      producerId: producer.id,
      producerEpoch: producer.epoch,
      baseSequence: producer.sequence,
      isTransactional: true,
    },
  );
}

async function produce(
  c: RawConnection,
  topic: string,
  records: Uint8Array,
  transactionalId: string | null,
) {
  const res = await c.request(produceApi, 9, {
    transactionalId,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  });
  return res.responses[0].partitionResponses[0];
}

function fetchCommitted(
  c: RawConnection,
  topic: string,
  offset: number,
  wait: { maxWaitMs: number; minBytes: number } = { maxWaitMs: 0, minBytes: 0 },
): Promise<FetchResponse> {
  return c.request(fetchApi, 11, {
    ...defaultFetchRequest(),
    ...wait,
    isolationLevel: 1,
    maxBytes: 1 << 20,
    topics: [{
      ...defaultFetchRequestTopic(),
      topic,
      partitions: [{
        ...defaultFetchRequestPartition(),
        fetchOffset: offset,
        partitionMaxBytes: 1 << 20,
      }],
    }],
  });
}

async function latestOffset(c: RawConnection, topic: string, isolationLevel: number) {
  return await listOffset(c, topic, isolationLevel, -1);
}

async function listOffset(
  c: RawConnection,
  topic: string,
  isolationLevel: number,
  timestamp: number,
) {
  const res = await c.request(listOffsetsApi, 7, {
    replicaId: -1,
    isolationLevel,
    timeoutMs: 5000,
    topics: [{
      name: topic,
      partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 }],
    }],
  });
  return res.topics[0].partitions[0].offset;
}

async function withTxnBroker(fn: (b: Broker, c: RawConnection, v: TestVerifier) => Promise<void>) {
  const dataDir = await makeDataDir();
  const config = resolveConfig([{
    options: startBrokerFlags({ port: 0, dataDir, logLevel: "warn" }),
    topics: {},
  }]);
  const broker = await Broker.start(config);
  const verifier = new TestVerifier();
  broker.txnVerifier = verifier;
  const bootstrap = `${broker.address.hostname}:${broker.address.port}`;
  const c = await RawConnection.connect(bootstrap);
  try {
    await fn(broker, c, verifier);
  } finally {
    c.close();
    await broker.close();
    await Deno.remove(dataDir, { recursive: true });
  }
}

const A = { id: 1000, epoch: 0 };
const B = { id: 2000, epoch: 0 };

function marker(producer: { id: number; epoch: number }, committed: boolean): TxnMarker {
  return { producerId: producer.id, producerEpoch: producer.epoch, coordinatorEpoch: 0, committed };
}

Deno.test("Transactional produce, markers and read_committed reads (raw, kcat, confluent-kafka-python)", async () => {
  await withTxnBroker(async (broker, c, verifier) => {
    const topic = topicName("txn");
    assert.ok(broker.topicForUse(topic) !== undefined);
    verifier.allow(A.id, A.epoch, topic);
    verifier.allow(B.id, B.epoch, topic);
    const bootstrap = `${broker.address.hostname}:${broker.address.port}`;

    assert.equal((await produce(c, topic, batch(["plain-0"]), null)).errorCode, ErrorCode.NONE);
    const a1 = await produce(c, topic, batch(["a-0", "a-1", "a-2"], { ...A, sequence: 0 }), "ta");
    assert.equal(a1.errorCode, ErrorCode.NONE, a1.errorMessage ?? "");
    assert.equal(a1.baseOffset, 1);
    const b1 = await produce(c, topic, batch(["b-0", "b-1"], { ...B, sequence: 0 }), "tb");
    assert.equal(b1.errorCode, ErrorCode.NONE);
    // The transaction is ongoing: A's next batch is not verified again.
    const a2 = await produce(c, topic, batch(["a-3"], { ...A, sequence: 3 }), "ta");
    assert.equal(a2.errorCode, ErrorCode.NONE);
    assert.equal(verifier.calls.length, 2);
    // A producer the coordinator does not vouch for appends nothing.
    const stray = await produce(c, topic, batch(["x"], { id: 3000, epoch: 0, sequence: 0 }), "tx");
    assert.equal(stray.errorCode, ErrorCode.INVALID_TXN_STATE);

    assert.equal(await latestOffset(c, topic, 1), 1);
    assert.equal(await latestOffset(c, topic, 0), 7);
    // A timestamp lookup finds nothing at or past the LSO for read_committed (MAX_TIMESTAMP -3).
    assert.equal(await listOffset(c, topic, 1, -3), -1);
    assert.ok(await listOffset(c, topic, 0, -3) >= 1);
    const early = (await fetchCommitted(c, topic, 0)).responses[0].partitions[0];
    assert.equal(early.lastStableOffset, 1);
    assert.equal(early.highWatermark, 7);

    // A read_committed fetch parked at the LSO wakes when a marker moves it.
    const parked = broker.waiters.nextPark();
    const waiting = fetchCommitted(c, topic, 1, { maxWaitMs: 10_000, minBytes: 1 });
    await parked;
    assert.equal(await writeTxnMarker(broker, topic, 0, marker(A, false)), ErrorCode.NONE);
    const woken = (await waiting).responses[0].partitions[0];
    assert.equal(woken.lastStableOffset, 4); // B's transaction is still open
    assert.deepEqual(woken.abortedTransactions, [{ producerId: A.id, firstOffset: 1 }]);
    assert.equal(await writeTxnMarker(broker, topic, 0, marker(B, true)), ErrorCode.NONE);
    // Idempotent: a retried marker for a finished transaction is written and changes nothing.
    assert.equal(await writeTxnMarker(broker, topic, 0, marker(B, true)), ErrorCode.NONE);
    assert.equal(await latestOffset(c, topic, 1), 10);
    const stale = await writeTxnMarker(broker, topic, 0, {
      ...marker(A, false),
      producerEpoch: -1,
    });
    assert.equal(stale, ErrorCode.INVALID_PRODUCER_EPOCH);

    // A's zombie (old epoch) is fenced after A's new epoch starts a transaction.
    const A1 = { id: A.id, epoch: 1 };
    verifier.allow(A1.id, A1.epoch, topic);
    const next = await produce(c, topic, batch(["a2-0"], { ...A1, sequence: 0 }), "ta");
    assert.equal(next.errorCode, ErrorCode.NONE);
    const zombie = await produce(c, topic, batch(["z"], { ...A, sequence: 4 }), "ta");
    assert.equal(zombie.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
    assert.equal(await writeTxnMarker(broker, topic, 0, marker(A1, true)), ErrorCode.NONE);

    const committed = ["plain-0", "b-0", "b-1", "a2-0"];
    const everything = ["plain-0", "a-0", "a-1", "a-2", "b-0", "b-1", "a-3", "a2-0"];
    const kcatCommitted = await kcatConsume(bootstrap, {
      topic,
      config: { "isolation.level": "read_committed" },
    });
    assert.deepEqual(kcatCommitted.map((m) => m.value), committed);
    const kcatAll = await kcatConsume(bootstrap, {
      topic,
      config: { "isolation.level": "read_uncommitted" },
    });
    assert.deepEqual(kcatAll.map((m) => m.value), everything);
    const py = await runPython<{ messages: { value: string }[]; errors: unknown[] }>(
      "confluent_consume.py",
      {
        bootstrap,
        topic,
        count: 100,
        stop_at_eof: true,
        timeout_s: 20,
        config: { "isolation.level": "read_committed" },
      },
    );
    assert.deepEqual(py.errors, []);
    assert.deepEqual(py.messages.map((m) => m.value), committed);
  });
});

Deno.test("Transactional produces are refused without a verifier, as before transactions", async () => {
  await withTxnBroker(async (broker, c) => {
    broker.txnVerifier = undefined;
    const topic = topicName("txn-off");
    assert.ok(broker.topicForUse(topic) !== undefined);
    const refused = await produce(c, topic, batch(["a"], { ...A, sequence: 0 }), "ta");
    assert.equal(refused.errorCode, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    // Without a transactional id the batch cannot be verified either.
    const anonymous = await produce(c, topic, batch(["a"], { ...A, sequence: 0 }), null);
    assert.equal(anonymous.errorCode, ErrorCode.INVALID_TXN_STATE);
    // A verifier that breaks its contract (rejects) makes the producer retry, nothing more.
    broker.txnVerifier = { verify: () => Promise.reject(new Error("coordinator bug")) };
    const broken = await produce(c, topic, batch(["a"], { ...A, sequence: 0 }), "ta");
    assert.equal(broken.errorCode, ErrorCode.NOT_ENOUGH_REPLICAS);
    assert.equal(broker.topics.partition(topic, 0)!.log.logEndOffset, 0);
  });
});

Deno.test("A verification overtaken by a marker does not open a transaction (delayed produce)", async () => {
  await withTxnBroker(async (broker, c, verifier) => {
    const topic = topicName("txn-late");
    assert.ok(broker.topicForUse(topic) !== undefined);
    verifier.allow(A.id, A.epoch, topic);
    const first = await produce(c, topic, batch(["a-0"], { ...A, sequence: 0 }), "ta");
    assert.equal(first.errorCode, ErrorCode.NONE);
    assert.equal(await writeTxnMarker(broker, topic, 0, marker(A, true)), ErrorCode.NONE);
    // The next produce is verified while the coordinator, meanwhile, ends the transaction the
    // coordinator's stale answer would vouch for.
    const gate = {
      reached: Promise.withResolvers<void>(),
      answer: Promise.withResolvers<number>(),
    };
    verifier.gate = gate;
    const late = produce(c, topic, batch(["a-1"], { ...A, sequence: 1 }), "ta");
    await gate.reached.promise;
    assert.equal(await writeTxnMarker(broker, topic, 0, marker(A, false)), ErrorCode.NONE);
    const endOffset = broker.topics.partition(topic, 0)!.log.logEndOffset;
    gate.answer.resolve(ErrorCode.NONE);
    assert.equal((await late).errorCode, ErrorCode.INVALID_TXN_STATE);
    assert.equal(broker.topics.partition(topic, 0)!.log.logEndOffset, endOffset);
    assert.equal(broker.topics.partition(topic, 0)!.log.lastStableOffset, endOffset);
    // A retriable coordinator answer reaches the producer as NOT_ENOUGH_REPLICAS.
    const busy = {
      reached: Promise.withResolvers<void>(),
      answer: Promise.withResolvers<number>(),
    };
    verifier.gate = busy;
    const retried = produce(c, topic, batch(["a-1"], { ...A, sequence: 1 }), "ta");
    await busy.reached.promise;
    busy.answer.resolve(ErrorCode.CONCURRENT_TRANSACTIONS);
    assert.equal((await retried).errorCode, ErrorCode.NOT_ENOUGH_REPLICAS);
  });
});
