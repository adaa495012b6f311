/**
 * What the load generator asks of a broker besides load: topic creation, and
 * pre-encoded produce and fetch frames (built once, re-sent many times), each
 * at the version chosen from the broker's ApiVersions (`client_versions.ts`).
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
import { zstdCompressSync } from "node:zlib";
import { loadNativeCompressors } from "../ffi/load.ts";
import {
  BATCH_HEADER_BYTES,
  BATCH_LOG_OVERHEAD_BYTES,
  BatchField,
  RecordBatchView,
} from "../protocol/record_batch.ts";
import { encodeRecordBatch, type RecordInput } from "../protocol/records.ts";
import { type BenchConnection, encodeRequestFrame } from "./kafka_client.ts";
import { type ClientVersions, FETCH_TOPIC_IDS_MIN_VERSION } from "./client_versions.ts";
import type { SessionFetch } from "./fetch_session.ts";

/** A partition index no real request uses, searched for to find where to patch it. */
const PARTITION_MARKER = 0x7a7b7c7d;
/** Topic id of a request that names its topic (Fetch < 13, Metadata by name). */
export const ZERO_UUID = "00000000-0000-0000-0000-000000000000";
/** How long a new topic may take to show in Metadata with a leader for every partition. */
const TOPIC_READY_TIMEOUT_MS = 30_000;
/** Pause between Metadata polls while a new topic has no leaders yet. */
const TOPIC_POLL_INTERVAL_MS = 100;
/** Metadata's per-topic errors that mean "not ready yet" while a topic is being created. */
const RETRIABLE_TOPIC_ERRORS: readonly number[] = [
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
];

/** A topic as fetch requests name it: by name below Fetch 13, by id from 13. */
export interface TopicRef {
  readonly name: string;
  /** The zero UUID when the broker reports no ids (Metadata < 10). */
  readonly topicId: string;
}

/** Options of {@linkcode ensureTopic}. */
export interface EnsureTopicOptions {
  /** Create the topic when missing (CreateTopics, or Metadata's auto-creation without it). */
  readonly create: boolean;
  readonly configs?: Record<string, string>;
}

/**
 * Makes sure `topic` exists with `partitions` partitions, each with a leader,
 * and returns its id: CreateTopics when the broker serves it (an existing
 * topic is fine), else Metadata with auto-creation allowed; then Metadata
 * until the topic is ready (bounded). Throws when the partition count differs
 * or the partitions' leaders are on several brokers (the bench drives one).
 */
export async function ensureTopic(
  c: BenchConnection,
  versions: ClientVersions,
  topic: { name: string; partitions: number },
  options: EnsureTopicOptions,
): Promise<TopicRef> {
  if (options.create && versions.CreateTopics !== undefined) {
    const response = await c.request(createTopicsApi, versions.CreateTopics, {
      topics: [{
        name: topic.name,
        numPartitions: topic.partitions,
        replicationFactor: 1,
        assignments: [],
        configs: Object.entries(options.configs ?? {}).map(([name, value]) => ({ name, value })),
      }],
      timeoutMs: 30_000,
      validateOnly: false,
    });
    const code = response.topics[0]?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
    if (code !== ErrorCode.NONE && code !== ErrorCode.TOPIC_ALREADY_EXISTS) {
      throw new Error(`CreateTopics "${topic.name}" failed with error code ${code}`);
    }
  }
  const deadlineMs = Date.now() + TOPIC_READY_TIMEOUT_MS;
  for (;;) {
    const metadata = await c.request(metadataApi, versions.Metadata, {
      topics: [{ topicId: ZERO_UUID, name: topic.name }],
      allowAutoTopicCreation: options.create && versions.CreateTopics === undefined,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    const found = metadata.topics.find((t) => t.name === topic.name);
    const code = found?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    const ready = found !== undefined && code === ErrorCode.NONE &&
      found.partitions.every((p) => p.errorCode === ErrorCode.NONE && p.leaderId >= 0);
    if (ready) return checkedTopicRef(topic, found);
    // A topic the bench did not create will not appear by waiting.
    const retriable = RETRIABLE_TOPIC_ERRORS.includes(code) &&
      (options.create || code !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    if (!retriable && code !== ErrorCode.NONE) {
      throw new Error(`Metadata for "${topic.name}" failed with error code ${code}`);
    }
    if (Date.now() > deadlineMs) {
      throw new Error(
        `Topic "${topic.name}" is not ready after ${TOPIC_READY_TIMEOUT_MS} ms (error code ${code})`,
      );
    }
    await new Promise((r) => setTimeout(r, TOPIC_POLL_INTERVAL_MS));
  }
}

function checkedTopicRef(
  topic: { name: string; partitions: number },
  found: { topicId: string; partitions: { leaderId: number }[] },
): TopicRef {
  if (found.partitions.length !== topic.partitions) {
    throw new Error(
      `Topic "${topic.name}" has ${found.partitions.length} partitions, not ${topic.partitions}` +
        " (without CreateTopics, create it beforehand with that many)",
    );
  }
  const leaders = new Set(found.partitions.map((p) => p.leaderId));
  if (leaders.size > 1) {
    throw new Error(
      `Topic "${topic.name}" has leaders on brokers ${[...leaders].join(", ")}: ` +
        "the bench drives a single broker",
    );
  }
  return { name: topic.name, topicId: found.topicId };
}

/** Options of {@linkcode buildBatch}. */
export interface BatchShape {
  /** Value size of every record. */
  readonly recordBytes: number;
  /** Batch size to aim at (records are added while the batch stays at or below it). */
  readonly batchBytes: number;
  /** Give every record a 16-byte key. */
  readonly keyed: boolean;
  /**
   * Compress the records (then the values are compressible JSON-like text rather than random
   * bytes, and `batchBytes` bounds the uncompressed records).
   */
  readonly compression?: "lz4" | "zstd";
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

/** JSON-like event text, deterministic (lz4 compresses a 1 MiB batch of it 3.5x, zstd 8.9x). */
function compressibleBytes(sizeBytes: number, seed: number): Uint8Array {
  let x = seed | 0 || 1;
  let text = "";
  while (text.length < sizeBytes) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    text += `{"user":"u${x % 5000}","event":"${
      ["click", "view", "buy"][x % 3]
    }","ms":${x},"ok":true}`;
  }
  return new TextEncoder().encode(text.slice(0, sizeBytes));
}

/** One batch of `shape` (compressed when it says so); its records share one value buffer. */
export function buildBatch(shape: BatchShape, seed = 1): { bytes: Uint8Array; records: number } {
  const perRecordBytes = shape.recordBytes + (shape.keyed ? 16 : 0) + 10; // + record framing
  const count = Math.max(1, Math.floor((shape.batchBytes - 61) / perRecordBytes));
  // Compressed workloads give every record its own text (as real events are); the others share
  // one random buffer (incompressible, and cheap to build).
  const distinct = shape.compression !== undefined;
  const poolBytes = distinct ? count * shape.recordBytes : shape.recordBytes + count * 16 + 16;
  const pool = distinct ? compressibleBytes(poolBytes, seed) : randomBytes(poolBytes, seed);
  const nowMs = Date.now();
  const records: RecordInput[] = [];
  for (let i = 0; i < count; i++) {
    records.push({
      key: shape.keyed ? pool.subarray(i * 16, i * 16 + 16) : null,
      value: distinct
        ? pool.subarray(i * shape.recordBytes, (i + 1) * shape.recordBytes)
        : pool.subarray(i % 16, (i % 16) + shape.recordBytes),
      timestampMs: nowMs,
    });
  }
  let bytes = encodeRecordBatch(records);
  while (bytes.length > shape.batchBytes && records.length > 1) {
    records.pop();
    bytes = encodeRecordBatch(records);
  }
  if (shape.compression !== undefined) bytes = compressBatch(bytes, shape.compression);
  return { bytes, records: records.length };
}

/** Kafka's codec numbers in a batch's attributes. */
const CODEC = { lz4: 3, zstd: 4 } as const;

/** The same batch with its records compressed (lz4 frame through liblz4, zstd through node:zlib). */
export function compressBatch(plain: Uint8Array, codec: "lz4" | "zstd"): Uint8Array {
  const records = plain.subarray(BATCH_HEADER_BYTES);
  let payload: Uint8Array;
  if (codec === "zstd") payload = new Uint8Array(zstdCompressSync(records));
  else {
    const lz4 = loadNativeCompressors().lz4;
    if (lz4 === undefined) throw new Error("lz4 workloads need liblz4 (Debian liblz4-1)");
    payload = lz4(records);
  }
  const out = new Uint8Array(BATCH_HEADER_BYTES + payload.length);
  out.set(plain.subarray(0, BATCH_HEADER_BYTES));
  out.set(payload, BATCH_HEADER_BYTES);
  const view = new DataView(out.buffer);
  view.setInt32(BatchField.batchLength, out.length - BATCH_LOG_OVERHEAD_BYTES);
  view.setInt16(BatchField.attributes, CODEC[codec]);
  new RecordBatchView(out).updateCrc();
  return out;
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
  options: { acks: number; version: number },
): ProduceFrame {
  const single = partitions.length === 1;
  const frame = encodeRequestFrame(produceApi, options.version, {
    transactionalId: null,
    acks: options.acks,
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

/** Decodes a produce response body (after the size prefix) of Produce `version`. */
export function decodeProduceAcks(body: Uint8Array, version: number): ProduceAck[] {
  const r = new Reader(body);
  readResponseHeader(r, produceApi.apiKey, version);
  const response = produceApi.decodeResponse(r, version);
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

/**
 * A Fetch `version` request frame for `topic`: the session's fields (sent
 * from Fetch 7) and the partitions it lists; the topic goes by name below
 * Fetch 13 and by id from 13.
 */
export function fetchFrame(
  topic: TopicRef,
  session: SessionFetch,
  options: FetchOptions & { version: number },
): Uint8Array {
  const request = defaultFetchRequest();
  request.maxWaitMs = options.maxWaitMs;
  request.minBytes = options.minBytes;
  request.maxBytes = options.maxBytes;
  request.sessionId = session.sessionId;
  request.sessionEpoch = session.sessionEpoch;
  const byId = options.version >= FETCH_TOPIC_IDS_MIN_VERSION;
  if (byId && topic.topicId === ZERO_UUID) {
    throw new Error(`Fetch ${options.version} needs the id of topic "${topic.name}"`);
  }
  const name = byId ? "" : topic.name;
  const topicId = byId ? topic.topicId : ZERO_UUID;
  request.topics = session.partitions.size === 0 ? [] : [{
    topic: name,
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
    : [{ topic: name, topicId, partitions: [...session.forgotten] }];
  return encodeRequestFrame(fetchApi, options.version, request);
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

/**
 * Decodes a Fetch `version` response body; walks batch headers only (records
 * are not decoded). Below Fetch 7 the error code and session id read as 0.
 */
export function decodeFetch(
  body: Uint8Array,
  options: { wantBatches: boolean; version: number },
): FetchedResponse {
  const r = new Reader(body);
  readResponseHeader(r, fetchApi.apiKey, options.version);
  const response: FetchResponse = fetchApi.decodeResponse(r, options.version);
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
          if (options.wantBatches) {
            batches.push([view.baseOffset, view.lastOffset, view.recordCount]);
          }
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
