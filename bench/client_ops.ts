/**
 * What the load generator asks of a broker besides load: topic creation, and
 * pre-encoded produce and fetch frames (built once, re-sent many times).
 *
 * @module
 */
import { ErrorCode } from "../protocol/error_codes.ts";
import {
  createTopicsApi,
  type FetchResponse,
  metadataApi,
  produceApi,
} from "../protocol/messages/mod.ts";
import { defaultFetchRequest, defaultFetchRequestPartition } from "../protocol/messages/fetch.ts";
import { fetchApi } from "../protocol/messages/mod.ts";
import { Reader } from "../protocol/primitives.ts";
import { readResponseHeader } from "../protocol/frame.ts";
import { RecordBatchView } from "../protocol/record_batch.ts";
import { encodeRecordBatch, type RecordInput } from "../protocol/records.ts";
import { type BenchConnection, encodeRequestFrame } from "./kafka_client.ts";
import type { SessionFetch } from "./fetch_session.ts";

/** Produce version the load generator speaks (flexible, RecordBatch v2). */
export const PRODUCE_VERSION = 9;
/** Fetch version the load generator speaks (flexible, topics by name). */
export const FETCH_VERSION = 12;
/** A partition index no real request uses, searched for to find where to patch it. */
const PARTITION_MARKER = 0x7a7b7c7d;

/** Creates `topic` with `partitions` partitions unless it exists; waits until Metadata shows it. */
export async function ensureTopic(
  c: BenchConnection,
  topic: string,
  partitions: number,
  configs: Record<string, string> = {},
): Promise<void> {
  const response = await c.request(createTopicsApi, 5, {
    topics: [{
      name: topic,
      numPartitions: partitions,
      replicationFactor: 1,
      assignments: [],
      configs: Object.entries(configs).map(([name, value]) => ({ name, value })),
    }],
    timeoutMs: 30_000,
    validateOnly: false,
  });
  const code = response.topics[0]?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
  if (code !== ErrorCode.NONE && code !== ErrorCode.TOPIC_ALREADY_EXISTS) {
    throw new Error(`CreateTopics "${topic}" failed with error code ${code}`);
  }
  const metadata = await c.request(metadataApi, 9, {
    topics: [{ topicId: "00000000-0000-0000-0000-000000000000", name: topic }],
    allowAutoTopicCreation: false,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  });
  const found = metadata.topics.find((t) => t.name === topic);
  if (found === undefined || found.partitions.length !== partitions) {
    throw new Error(
      `Topic "${topic}" has ${found?.partitions.length} partitions, not ${partitions}`,
    );
  }
}

/** Options of {@linkcode buildBatch}. */
export interface BatchShape {
  /** Value size of every record. */
  readonly recordBytes: number;
  /** Batch size to aim at (records are added while the batch stays at or below it). */
  readonly batchBytes: number;
  /** Give every record a 16-byte key. */
  readonly keyed: boolean;
}

/** Incompressible bytes (xorshift), deterministic. */
export function randomBytes(sizeBytes: number, seed = 0x9e3779b9): Uint8Array {
  const out = new Uint8Array(sizeBytes);
  let x = seed | 0 || 1;
  for (let i = 0; i < sizeBytes; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** One uncompressed batch of `shape`; its records share one random value buffer. */
export function buildBatch(shape: BatchShape, seed = 1): { bytes: Uint8Array; records: number } {
  const perRecordBytes = shape.recordBytes + (shape.keyed ? 16 : 0) + 10; // + record framing
  const count = Math.max(1, Math.floor((shape.batchBytes - 61) / perRecordBytes));
  const pool = randomBytes(shape.recordBytes + count * 16 + 16, seed);
  const nowMs = Date.now();
  const records: RecordInput[] = [];
  for (let i = 0; i < count; i++) {
    records.push({
      key: shape.keyed ? pool.subarray(i * 16, i * 16 + 16) : null,
      value: pool.subarray(i % 16, (i % 16) + shape.recordBytes),
      timestampMs: nowMs,
    });
  }
  let bytes = encodeRecordBatch(records);
  while (bytes.length > shape.batchBytes && records.length > 1) {
    records.pop();
    bytes = encodeRecordBatch(records);
  }
  return { bytes, records: records.length };
}

/** A produce frame and where its partition index sits (for one-partition frames). */
export interface ProduceFrame {
  readonly frame: Uint8Array;
  /** Byte offset of the partition index, or -1 when the frame carries several partitions. */
  readonly partitionAt: number;
  readonly recordBytes: number;
  readonly records: number;
}

/** A produce request of `batch` for each partition in `partitions` (one: patchable index). */
export function produceFrame(
  topic: string,
  partitions: readonly number[],
  batch: { bytes: Uint8Array; records: number },
  acks: number,
): ProduceFrame {
  const single = partitions.length === 1;
  const frame = encodeRequestFrame(produceApi, PRODUCE_VERSION, {
    transactionalId: null,
    acks,
    timeoutMs: 30_000,
    topicData: [{
      name: topic,
      partitionData: partitions.map((p) => ({
        index: single ? PARTITION_MARKER : p,
        records: batch.bytes,
      })),
    }],
  });
  let partitionAt = -1;
  if (single) {
    const view = new DataView(frame.buffer);
    for (let i = 0; i + 4 <= frame.length; i++) {
      if (view.getInt32(i) === PARTITION_MARKER) {
        partitionAt = i;
        break;
      }
    }
    if (partitionAt < 0) throw new Error("Partition marker not found in the produce frame");
    view.setInt32(partitionAt, partitions[0]);
  }
  return {
    frame,
    partitionAt,
    recordBytes: batch.bytes.length * partitions.length,
    records: batch.records * partitions.length,
  };
}

/** One partition's outcome in a produce response. */
export interface ProduceAck {
  readonly partition: number;
  readonly errorCode: number;
  readonly baseOffset: number;
}

/** Decodes a produce response body (after the size prefix). */
export function decodeProduceAcks(body: Uint8Array): ProduceAck[] {
  const r = new Reader(body);
  readResponseHeader(r, produceApi.apiKey, PRODUCE_VERSION);
  const response = produceApi.decodeResponse(r, PRODUCE_VERSION);
  if (r.error !== undefined) throw new Error(`Undecodable produce response: ${r.error}`);
  const acks: ProduceAck[] = [];
  for (const t of response.responses) {
    for (const p of t.partitionResponses) {
      acks.push({ partition: p.index, errorCode: p.errorCode, baseOffset: p.baseOffset });
    }
  }
  return acks;
}

/** The limits of a fetch. */
export interface FetchOptions {
  readonly maxWaitMs: number;
  readonly minBytes: number;
  readonly maxBytes: number;
  readonly partitionMaxBytes: number;
}

/** A fetch request frame for `topic`: the session's fields and the partitions it lists. */
export function fetchFrame(
  topic: string,
  session: SessionFetch,
  options: FetchOptions,
): Uint8Array {
  const request = defaultFetchRequest();
  request.maxWaitMs = options.maxWaitMs;
  request.minBytes = options.minBytes;
  request.maxBytes = options.maxBytes;
  request.sessionId = session.sessionId;
  request.sessionEpoch = session.sessionEpoch;
  const topicId = "00000000-0000-0000-0000-000000000000";
  request.topics = session.partitions.size === 0 ? [] : [{
    topic,
    topicId,
    partitions: [...session.partitions].map(([partition, fetchOffset]) => ({
      ...defaultFetchRequestPartition(),
      partition,
      fetchOffset,
      partitionMaxBytes: options.partitionMaxBytes,
    })),
  }];
  request.forgottenTopicsData = session.forgotten.length === 0
    ? []
    : [{ topic, topicId, partitions: [...session.forgotten] }];
  return encodeRequestFrame(fetchApi, FETCH_VERSION, request);
}

/** One partition of a fetch response: record bytes, batches seen, next offset. */
export interface FetchedPartition {
  readonly partition: number;
  readonly errorCode: number;
  readonly highWatermark: number;
  readonly recordBytes: number;
  /** Records in the whole batches (from the batch headers). */
  readonly records: number;
  /** `[baseOffset, lastOffset, recordCount]` of each whole batch, in order. */
  readonly batches: [number, number, number][];
  /** The offset after the last whole batch, or -1 when none came. */
  readonly nextOffset: number;
}

/** A fetch response: its top-level error code, session id and partitions. */
export interface FetchedResponse {
  readonly errorCode: number;
  readonly sessionId: number;
  /** An incremental answer lists only partitions with something new. */
  readonly partitions: FetchedPartition[];
}

/** Decodes a fetch response body; walks batch headers only (records are not decoded). */
export function decodeFetch(body: Uint8Array, wantBatches: boolean): FetchedResponse {
  const r = new Reader(body);
  readResponseHeader(r, fetchApi.apiKey, FETCH_VERSION);
  const response: FetchResponse = fetchApi.decodeResponse(r, FETCH_VERSION);
  if (r.error !== undefined) throw new Error(`Undecodable fetch response: ${r.error}`);
  const out: FetchedPartition[] = [];
  for (const t of response.responses) {
    for (const p of t.partitions) {
      const records = p.records as Uint8Array | null;
      const batches: [number, number, number][] = [];
      let nextOffset = -1;
      let recordCount = 0;
      if (records !== null && records.length > 0) {
        const view = new RecordBatchView(records);
        for (let at = 0; at + 61 <= records.length;) {
          view.moveTo(at);
          const size = view.sizeBytes;
          if (at + size > records.length) break; // a partial batch at the end
          nextOffset = view.lastOffset + 1;
          recordCount += view.recordCount;
          if (wantBatches) batches.push([view.baseOffset, view.lastOffset, view.recordCount]);
          at += size;
        }
      }
      out.push({
        partition: p.partitionIndex,
        errorCode: p.errorCode,
        highWatermark: p.highWatermark,
        recordBytes: records?.length ?? 0,
        records: recordCount,
        batches,
        nextOffset,
      });
    }
  }
  return { errorCode: response.errorCode, sessionId: response.sessionId, partitions: out };
}
