/**
 * Fetch (key 1): for each partition, the fetch pipeline turns an offset into
 * file slices of whole batches; the response carries those slices and the
 * connection sends them with `sendfile`. Long poll: while fewer than
 * `minBytes` are available, the fetch parks on the partitions it reads until
 * an append or `maxWaitMs`. Sessions (v7+, KIP-227) are kept by
 * `../fetch_sessions.ts`: an incremental fetch reads every partition of its
 * session and answers only those with something new.
 *
 * `read_committed` (isolation level 1): each partition is read only below its
 * last stable offset, and the response lists the aborted transactions
 * overlapping the records sent (from the segments' `.txnindex`) for the
 * consumer to drop; the records still go out by `sendfile`. Markers are
 * appends, so a long-polling fetch wakes when the LSO moves.
 *
 * @module
 */
import { PARTITION_LEADER_EPOCH } from "../../storage/log_append.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import type { FetchRequest, FetchResponse } from "../../protocol/messages/fetch.ts";
import { NO_SLICES } from "../../storage/fetch_pipeline.ts";
import type { ReadResult } from "../../storage/log_reads.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { fetchApi } from "../../protocol/messages/mod.ts";
import {
  type FetchContext,
  type FetchTarget,
  mustRespond,
  type SentPartition,
} from "../fetch_sessions.ts";
import type { Partition, Topic } from "../topics.ts";
import {
  type FollowerFetch,
  followerFetchOf,
  leaderEndpoints,
  type ReplicaRead,
  replicaRead,
} from "./_replica_fetch.ts";
import { refusedFetchTopics } from "../security/authorize.ts";

type TopicResponse = FetchResponse["responses"][number];
type PartitionResponse = TopicResponse["partitions"][number];

/** First Fetch version that addresses topics by UUID. */
const FETCH_TOPIC_ID_MIN_VERSION = 13;
/** The leader epoch Denka's single node reports for every partition (the one stored batches carry). */
export const LEADER_EPOCH = PARTITION_LEADER_EPOCH;
/** Kafka's `IsolationLevel.READ_COMMITTED`. */
const READ_COMMITTED = 1;

export const fetchHandler: ApiHandler = defineHandler(fetchApi, {
  minVersion: 4,
  maxVersion: 17,
  async handle(ctx: RequestContext, request: FetchRequest): Promise<FetchResponse> {
    const byId = ctx.request.apiVersion >= FETCH_TOPIC_ID_MIN_VERSION;
    const base = { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, nodeEndpoints: [] };
    const fetch = ctx.broker.fetchSessions.begin(request, byId);
    if (fetch.errorCode !== ErrorCode.NONE) {
      return { ...base, errorCode: fetch.errorCode, responses: [] };
    }
    const deadlineMs = performance.now() + Math.max(0, request.maxWaitMs);
    const interest = fetch.interest((t) => topicNameOf(ctx, t, byId));
    const follower = followerFetchOf(ctx, request);
    if (follower !== undefined) ctx.traffic.fromReplica = true;
    const replicaId = Math.max(request.replicaId, request.replicaState.replicaId);
    const refused = refusedFetchTopics(
      ctx,
      replicaId,
      fetch.targets,
      (t) => topicNameOf(ctx, t, byId),
    );
    for (;;) {
      const committed = request.isolationLevel === READ_COMMITTED;
      let read = readOnce(ctx, request.maxBytes, fetch, { byId, committed, refused, follower });
      const remainingMs = deadlineMs - performance.now();
      const done = read.sizeBytes >= request.minBytes || read.anyError || remainingMs <= 0 ||
        ctx.connection.closed ||
        !await ctx.broker.waiters.wait(interest, remainingMs, ctx.connection.signal);
      if (!done) continue;
      if (remainingMs > 0 && read.sizeBytes < request.minBytes && !read.anyError) {
        read = readOnce(ctx, request.maxBytes, fetch, { byId, committed, refused, follower });
      }
      // Only what this response carries counts as told to a session's client.
      const sessionId = fetch.complete(read.sent, ctx.connection.closed);
      for (const { topic, read: r } of read.sending) {
        ctx.traffic.countOut(topic, r.sizeBytes, r.nextOffset - r.firstOffset);
      }
      // The slices stay valid until the response is sent: retention, compaction and a topic
      // deleted meanwhile keep these fds open until then.
      for (const p of read.used) ctx.leaseUntilSent(p.log);
      const leaders = read.responses.flatMap((t) => t.partitions.map((p) => p.currentLeader));
      const nodeEndpoints = leaderEndpoints(ctx.broker.replication, leaders);
      return { ...base, sessionId, responses: read.responses, nodeEndpoints };
    }
  },
});

function topicOf(ctx: RequestContext, t: FetchTarget, byId: boolean): Topic | undefined {
  return byId ? ctx.broker.topics.getById(t.topicId) : ctx.broker.topics.get(t.topic);
}

function topicNameOf(ctx: RequestContext, t: FetchTarget, byId: boolean): string {
  return byId ? ctx.broker.topics.getById(t.topicId)?.name ?? "" : t.topic;
}

/** One pass over the fetch's partitions. */
interface ReadOutcome {
  readonly responses: TopicResponse[];
  /** What the responses say per partition (for the session). */
  readonly sent: SentPartition[];
  sizeBytes: number;
  anyError: boolean;
  /** Partitions whose files the responses' slices point into. */
  readonly used: Partition[];
  /** The reads whose slices the responses carry, by topic name. */
  readonly sending: { readonly topic: string; readonly read: ReadResult }[];
}

function readOnce(
  ctx: RequestContext,
  maxBytes: number,
  fetch: FetchContext,
  how: {
    byId: boolean;
    committed: boolean;
    refused: ReadonlySet<string> | undefined;
    follower: FollowerFetch | undefined;
  },
): ReadOutcome {
  const { byId, committed, refused } = how;
  const outcome: ReadOutcome = {
    responses: [],
    sent: [],
    sizeBytes: 0,
    anyError: false,
    used: [],
    sending: [],
  };
  let responseBytesLeft = maxBytes;
  let last: { target: FetchTarget; response: TopicResponse } | undefined = undefined;
  for (const target of fetch.targets) {
    const topic = topicOf(ctx, target, byId);
    const partition = topic?.partitions[target.partition];
    const denied = refused !== undefined && refused.has(topic?.name ?? target.topic);
    // Most partitions of a large session have nothing new: skip them before reading.
    if (
      !denied && fetch.incremental && partition !== undefined && isQuiet(ctx, partition, target)
    ) {
      continue;
    }
    const limitBytes = Math.min(target.partitionMaxBytes, responseBytesLeft);
    const replication = ctx.broker.replication;
    let read: ReplicaRead = denied
      ? failure(ErrorCode.TOPIC_AUTHORIZATION_FAILED)
      : replication !== undefined && partition !== undefined
      ? replicaRead(replication, partition, target, {
        limitBytes,
        follower: how.follower,
        committed,
      })
      : readPartition(partition, target, limitBytes, {
        unknownTopicId: byId && topic === undefined,
        committed,
      });
    // KIP-74: only the first partition with data may exceed the limits by
    // one whole batch, so that a consumer always makes progress.
    if (read.sizeBytes > limitBytes && outcome.sizeBytes > 0) {
      read = { ...read, ...NO_SLICES };
    }
    // A diverging follower is answered at once, as an error would be.
    if (read.errorCode !== ErrorCode.NONE || read.divergingEpoch !== undefined) {
      outcome.anyError = true;
    }
    if (fetch.incremental && !mustRespond(target, read)) continue;
    outcome.sizeBytes += read.sizeBytes;
    responseBytesLeft = Math.max(0, responseBytesLeft - read.sizeBytes);
    if (read.slices.length > 0) {
      outcome.used.push(partition!);
      outcome.sending.push({ topic: topic!.name, read });
    }
    outcome.sent.push({
      target,
      errorCode: read.errorCode,
      highWatermark: read.highWatermark,
      logStartOffset: read.logStartOffset,
      sizeBytes: read.sizeBytes,
    });
    if (last?.target.topic !== target.topic || last.target.topicId !== target.topicId) {
      const response: TopicResponse = {
        topic: topic?.name ?? target.topic,
        topicId: target.topicId,
        partitions: [],
      };
      last = { target, response };
      outcome.responses.push(response);
    }
    last.response.partitions.push(partitionResponse(target.partition, read, committed));
  }
  return outcome;
}

/**
 * Nothing to read and nothing to tell: at the high watermark (the log end on one node), bounds
 * as last sent, no leader or epoch error.
 */
function isQuiet(ctx: RequestContext, partition: Partition, target: FetchTarget): boolean {
  const log = partition.log;
  const replication = ctx.broker.replication;
  return target.fetchOffset === log.highWatermark &&
    target.sentHighWatermark === log.highWatermark &&
    target.sentLogStartOffset === log.logStartOffset &&
    (replication === undefined
      ? target.currentLeaderEpoch <= LEADER_EPOCH
      : replication.checkLeader(partition.topic.name, partition.index, target.currentLeaderEpoch)
        .errorCode === ErrorCode.NONE);
}

function readPartition(
  partition: Partition | undefined,
  target: FetchTarget,
  limitBytes: number,
  how: { unknownTopicId: boolean; committed: boolean },
): ReadResult {
  if (partition === undefined) {
    return failure(
      how.unknownTopicId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    );
  }
  if (target.currentLeaderEpoch > LEADER_EPOCH) return failure(ErrorCode.UNKNOWN_LEADER_EPOCH);
  return partition.log.read(target.fetchOffset, Math.max(0, limitBytes), how.committed);
}

function failure(errorCode: number): ReadResult {
  return { errorCode, ...NO_SLICES, highWatermark: -1, logStartOffset: -1 };
}

function partitionResponse(
  partitionIndex: number,
  read: ReplicaRead,
  committed: boolean,
): PartitionResponse {
  const aborted = committed ? read.abortedTransactions ?? [] : [];
  return {
    partitionIndex,
    errorCode: read.errorCode,
    highWatermark: read.highWatermark,
    lastStableOffset: read.lastStableOffset ?? read.highWatermark,
    logStartOffset: read.logStartOffset,
    divergingEpoch: read.divergingEpoch ?? { epoch: -1, endOffset: -1 },
    currentLeader: read.currentLeader ?? { leaderId: -1, leaderEpoch: -1 },
    snapshotId: { endOffset: -1, epoch: -1 },
    abortedTransactions: aborted.map((t) => ({
      producerId: t.producerId,
      firstOffset: t.firstOffset,
    })),
    preferredReadReplica: -1,
    records: read.slices,
  };
}
