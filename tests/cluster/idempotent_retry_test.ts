/**
 * An idempotent retry of a batch the leader already wrote, while the ISR is below
 * `min.insync.replicas` (see `storage/duplicate_batch.ts`): answered with the original offsets
 * and NOT_ENOUGH_REPLICAS_AFTER_APPEND ("possibly persisted"), never NOT_ENOUGH_REPLICAS ("not
 * persisted"), which led librdkafka to send the records again under a bumped epoch.
 */
import { assert } from "../../util/assert.ts";
import type { Broker } from "../../broker/broker.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { produceApi } from "../../protocol/messages/mod.ts";
import { encodeRecordBatch } from "../../protocol/records.ts";
import { RawConnection } from "../interop/raw_client.ts";
import { startReplicatedBrokers } from "./replicated_brokers.ts";

const TOPIC = "idempotent-retry";
const PRODUCER_ID = 4000;

function idempotentBatch(value: string, baseSequence: number): Uint8Array {
  return encodeRecordBatch(
    [{ key: null, value: new TextEncoder().encode(value), timestampMs: 1000 }],
    { producerId: PRODUCER_ID, producerEpoch: 0, baseSequence },
  );
}

async function produce(
  broker: Broker,
  records: Uint8Array,
  acks: number,
): Promise<{ errorCode: number; baseOffset: number }> {
  const c = await RawConnection.connect(`127.0.0.1:${broker.address.port}`);
  try {
    const r = await c.request(produceApi, 9, {
      transactionalId: null,
      acks,
      timeoutMs: 10_000,
      topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }],
    });
    const p = r.responses[0].partitionResponses[0];
    return { errorCode: p.errorCode, baseOffset: Number(p.baseOffset) };
  } finally {
    c.close();
  }
}

Deno.test("Produce: a retry already in the log is not refused as NOT_ENOUGH_REPLICAS", async () => {
  const cluster = await startReplicatedBrokers([1, 2], { topic: TOPIC, lagMs: 1000, minIsr: 2 });
  try {
    cluster.apply(cluster.isr.set({
      topic: TOPIC,
      partition: 0,
      replicas: [1, 2],
      leader: 1,
      leaderEpoch: 1,
      isr: [1, 2],
    }));
    const leader = cluster.brokers.get(1)!;
    const log = leader.topics.partition(TOPIC, 0)!.log;
    assert.deepEqual(await produce(leader, idempotentBatch("a", 0), -1), {
      errorCode: ErrorCode.NONE,
      baseOffset: 0,
    });
    await cluster.stop(2);
    await cluster.stateWhere((s) => s.isr.length === 1);
    // Written, as the first attempt of an acks=all produce is when the ISR shrinks under it.
    assert.equal((await produce(leader, idempotentBatch("b", 1), 1)).errorCode, ErrorCode.NONE);
    assert.equal(log.logEndOffset, 2);

    // Kafka answers an error with baseOffset -1; the code is what the client acts on.
    const retried = await produce(leader, idempotentBatch("b", 1), -1);
    assert.equal(retried.errorCode, ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND);
    assert.equal(log.logEndOffset, 2, "the retry appended nothing");
    // New records are still refused before anything is written.
    const fresh = await produce(leader, idempotentBatch("c", 2), -1);
    assert.equal(fresh.errorCode, ErrorCode.NOT_ENOUGH_REPLICAS);
    assert.equal(log.logEndOffset, 2);
  } finally {
    await cluster.close();
  }
});
