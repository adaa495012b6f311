/**
 * A transactional producer spoken request by request over a
 * {@linkcode RawConnection} (the crash and interleaving tests of issue 14
 * need to stop or reorder it between any two requests), and a
 * read_committed / read_uncommitted reader of one partition by raw Fetch.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import {
  defaultFetchRequest,
  defaultFetchRequestPartition,
  defaultFetchRequestTopic,
} from "../../protocol/messages/fetch.ts";
import {
  addPartitionsToTxnApi,
  createTopicsApi,
  endTxnApi,
  fetchApi,
  initProducerIdApi,
  produceApi,
} from "../../protocol/messages/mod.ts";
import { BatchAttribute } from "../../protocol/record_batch.ts";
import { decodeRecordBatches, encodeRecordBatch } from "../../protocol/records.ts";
import type { RawConnection } from "./raw_client.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One producer's identity and next sequence per partition. */
export interface RawProducer {
  readonly transactionalId: string;
  producerId: number;
  producerEpoch: number;
  readonly sequences: Map<string, number>;
}

/** Creates single-partition `topics`. */
export async function createTopics(c: RawConnection, topics: readonly string[]): Promise<void> {
  const res = await c.request(createTopicsApi, 5, {
    topics: topics.map((name) => ({
      name,
      numPartitions: 1,
      replicationFactor: 1,
      assignments: [],
      configs: [],
    })),
    timeoutMs: 5000,
    validateOnly: false,
  });
  for (const t of res.topics) {
    if (t.errorCode !== ErrorCode.NONE) {
      throw new Error(`Cannot create "${t.name}": ${t.errorCode}`);
    }
  }
}

/** InitProducerId for `transactionalId`; throws on an error. */
export async function initTxnProducer(
  c: RawConnection,
  transactionalId: string,
  transactionTimeoutMs = 60_000,
): Promise<RawProducer> {
  const res = await c.request(initProducerIdApi, 4, {
    transactionalId,
    transactionTimeoutMs,
    producerId: -1,
    producerEpoch: -1,
  });
  if (res.errorCode !== ErrorCode.NONE) throw new Error(`InitProducerId failed: ${res.errorCode}`);
  return {
    transactionalId,
    producerId: res.producerId,
    producerEpoch: res.producerEpoch,
    sequences: new Map(),
  };
}

/** AddPartitionsToTxn v3 for partition 0 of `topic`; the partition's error code. */
export async function addPartition(
  c: RawConnection,
  p: RawProducer,
  topic: string,
): Promise<number> {
  const res = await c.request(addPartitionsToTxnApi, 3, {
    transactions: [],
    v3AndBelowTransactionalId: p.transactionalId,
    v3AndBelowProducerId: p.producerId,
    v3AndBelowProducerEpoch: p.producerEpoch,
    v3AndBelowTopics: [{ name: topic, partitions: [0] }],
  });
  return res.resultsByTopicV3AndBelow[0].resultsByPartition[0].partitionErrorCode;
}

/** The Produce request (v9) of `values` as one transactional batch to partition 0 of `topic`. */
export function txnProduceRequest(p: RawProducer, topic: string, values: readonly string[]) {
  const sequence = p.sequences.get(topic) ?? 0;
  p.sequences.set(topic, sequence + values.length);
  const records = encodeRecordBatch(
    values.map((v) => ({ key: null, value: encoder.encode(v), timestampMs: Date.now() })),
    {
      producerId: p.producerId,
      producerEpoch: p.producerEpoch,
      baseSequence: sequence,
      isTransactional: true,
    },
  );
  return {
    transactionalId: p.transactionalId,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  };
}

/** Produces `values` in `p`'s transaction; the partition's error code. */
export async function txnProduce(
  c: RawConnection,
  p: RawProducer,
  topic: string,
  values: readonly string[],
): Promise<number> {
  const res = await c.request(produceApi, 9, txnProduceRequest(p, topic, values));
  return res.responses[0].partitionResponses[0].errorCode;
}

/** EndTxn v3; its error code. */
export async function endTxn(
  c: RawConnection,
  p: RawProducer,
  committed: boolean,
): Promise<number> {
  const res = await c.request(endTxnApi, 3, {
    transactionalId: p.transactionalId,
    producerId: p.producerId,
    producerEpoch: p.producerEpoch,
    committed,
  });
  return res.errorCode;
}

/**
 * The values of partition 0 of `topic` from offset 0 as a consumer at `isolation` reads them:
 * read_committed skips the aborted transactions the Fetch answer lists, and control batches.
 */
export async function readValues(
  c: RawConnection,
  topic: string,
  isolation: "read_committed" | "read_uncommitted",
): Promise<string[]> {
  const res = await c.request(fetchApi, 11, {
    ...defaultFetchRequest(),
    maxWaitMs: 0,
    minBytes: 0,
    isolationLevel: isolation === "read_committed" ? 1 : 0,
    maxBytes: 1 << 20,
    topics: [{
      ...defaultFetchRequestTopic(),
      topic,
      partitions: [{
        ...defaultFetchRequestPartition(),
        fetchOffset: 0,
        partitionMaxBytes: 1 << 20,
      }],
    }],
  });
  const p = res.responses[0].partitions[0];
  if (p.errorCode !== ErrorCode.NONE) throw new Error(`Fetch failed: ${p.errorCode}`);
  const batches = p.records === null ? [] : decodeRecordBatches(p.records as Uint8Array);
  // Kafka's consumer: a producer's batches from an aborted transaction's first offset up to its
  // ABORT marker are skipped.
  const pendingAborts = [...(p.abortedTransactions ?? [])].sort((x, y) =>
    x.firstOffset - y.firstOffset
  );
  const aborting = new Set<number>();
  const values: string[] = [];
  for (const batch of batches) {
    while (pendingAborts.length > 0 && pendingAborts[0].firstOffset <= batch.lastOffset) {
      aborting.add(pendingAborts.shift()!.producerId);
    }
    if ((batch.attributes & BatchAttribute.CONTROL) !== 0) {
      const key = batch.records[0]?.key;
      const isAbort = key != null && new DataView(key.buffer, key.byteOffset).getInt16(2) === 0;
      if (isAbort) aborting.delete(batch.producerId);
      continue;
    }
    const transactional = (batch.attributes & BatchAttribute.TRANSACTIONAL) !== 0;
    if (isolation === "read_committed" && transactional && aborting.has(batch.producerId)) continue;
    for (const r of batch.records) values.push(r.value === null ? "" : decoder.decode(r.value));
  }
  return values;
}
