/**
 * Fetch (key 1): for each partition, the fetch pipeline turns an offset into
 * file slices of whole batches; the response carries those slices and the
 * connection sends them with `sendfile`. Long poll: while fewer than
 * `minBytes` are available, the fetch parks on the partitions it reads until
 * an append or `maxWaitMs`. Sessions (v7+) are not kept: every fetch is a
 * full fetch answered with session id 0.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type { FetchRequest, FetchResponse } from "../../protocol/messages/fetch.ts";
import { partitionKey } from "../append_waiters.ts";
import type { ApiHandler, RequestContext } from "../context.ts";
import type { Partition, Topic } from "../topics.ts";

type TopicResponse = FetchResponse["responses"][number];
type PartitionResponse = TopicResponse["partitions"][number];

/** First Fetch version that addresses topics by UUID. */
const FETCH_TOPIC_ID_MIN_VERSION = 13;
/** The leader epoch Denka's single node reports for every partition. */
export const LEADER_EPOCH = 0;

export const fetchHandler: ApiHandler = {
  apiKey: 1,
  minVersion: 4,
  maxVersion: 17,
  async handle(ctx: RequestContext, request: FetchRequest): Promise<FetchResponse> {
    const version = ctx.request.apiVersion;
    const base = { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, nodeEndpoints: [] };
    if (request.sessionId !== 0 || request.sessionEpoch > 0) {
      // We never hand out sessions, so a client naming one is out of sync.
      return { ...base, errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, responses: [] };
    }
    const deadlineMs = performance.now() + Math.max(0, request.maxWaitMs);
    const keys: string[] = [];
    for (const t of request.topics) {
      for (const p of t.partitions) {
        keys.push(partitionKey(topicOf(ctx, t, version)?.name ?? "", p.partition));
      }
    }
    for (;;) {
      let read = readOnce(ctx, request, version);
      const remainingMs = deadlineMs - performance.now();
      const done = read.sizeBytes >= request.minBytes || read.anyError || remainingMs <= 0 ||
        ctx.connection.closed ||
        !await ctx.broker.waiters.wait(keys, remainingMs, ctx.connection.signal);
      if (!done) continue;
      if (remainingMs > 0 && read.sizeBytes < request.minBytes && !read.anyError) {
        read = readOnce(ctx, request, version);
      }
      // The slices stay valid until the response is sent: a topic deleted
      // meanwhile keeps its files open until then.
      for (const p of read.used) {
        ctx.broker.topics.retain(p);
        const releaseSegments = p.log.retainReads(); // retention and compaction defer fd closes
        ctx.afterSend(() => {
          releaseSegments();
          ctx.broker.topics.release(p);
        });
      }
      return { ...base, responses: read.responses };
    }
  },
};

function topicOf(
  ctx: RequestContext,
  t: FetchRequest["topics"][number],
  version: number,
): Topic | undefined {
  return version >= FETCH_TOPIC_ID_MIN_VERSION
    ? ctx.broker.topics.getById(t.topicId)
    : ctx.broker.topics.get(t.topic);
}

function readOnce(
  ctx: RequestContext,
  request: FetchRequest,
  version: number,
): { responses: TopicResponse[]; sizeBytes: number; anyError: boolean; used: Partition[] } {
  const used: Partition[] = [];
  let responseBytesLeft = request.maxBytes;
  let sizeBytes = 0;
  let anyError = false;
  const responses = request.topics.map((t): TopicResponse => {
    const topic = topicOf(ctx, t, version);
    const partitions = t.partitions.map((p): PartitionResponse => {
      const out = emptyPartition(p.partition);
      const partition = topic?.partitions[p.partition];
      if (partition === undefined) {
        anyError = true;
        out.errorCode = topic === undefined && version >= FETCH_TOPIC_ID_MIN_VERSION
          ? ErrorCode.UNKNOWN_TOPIC_ID
          : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        return out;
      }
      if (p.currentLeaderEpoch > LEADER_EPOCH) {
        anyError = true;
        out.errorCode = ErrorCode.UNKNOWN_LEADER_EPOCH;
        return out;
      }
      const log = partition.log;
      out.highWatermark = log.logEndOffset;
      out.lastStableOffset = log.logEndOffset;
      out.logStartOffset = log.logStartOffset;
      const limitBytes = Math.min(p.partitionMaxBytes, responseBytesLeft);
      const { errorCode, slices, sizeBytes: readBytes } = log.read(
        p.fetchOffset,
        Math.max(0, limitBytes),
      );
      if (errorCode !== ErrorCode.NONE) {
        anyError = true;
        out.errorCode = errorCode;
        return out;
      }
      // KIP-74: only the first partition with data may exceed the limits by
      // one whole batch, so that a consumer always makes progress.
      if (readBytes > limitBytes && sizeBytes > 0) return out;
      sizeBytes += readBytes;
      responseBytesLeft = Math.max(0, responseBytesLeft - readBytes);
      out.records = slices;
      if (slices.length > 0) used.push(partition);
      return out;
    });
    return { topic: topic?.name ?? t.topic, topicId: t.topicId, partitions };
  });
  return { responses, sizeBytes, anyError, used };
}

function emptyPartition(partitionIndex: number): PartitionResponse {
  return {
    partitionIndex,
    errorCode: ErrorCode.NONE,
    highWatermark: -1,
    lastStableOffset: -1,
    logStartOffset: -1,
    divergingEpoch: { epoch: -1, endOffset: -1 },
    currentLeader: { leaderId: -1, leaderEpoch: -1 },
    snapshotId: { endOffset: -1, epoch: -1 },
    abortedTransactions: [],
    preferredReadReplica: -1,
    records: [],
  };
}
