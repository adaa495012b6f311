/**
 * OffsetForLeaderEpoch (key 23, KIP-101/KIP-320): where a leader epoch ended
 * in this broker's log, from the partition's leader epoch cache (Kafka's
 * `endOffsetFor`): the latest epoch ends at the log end, an older one where
 * the next starts. Followers use it to find where their log diverged;
 * consumers to detect truncation after a leader change. Only the leader
 * answers (NOT_LEADER_OR_FOLLOWER otherwise), with `currentLeaderEpoch`
 * checked as Fetch does. One node leads every partition at epoch 0. With an
 * authorizer, CLUSTER_ACTION on the cluster (a follower) or DESCRIBE on the
 * topic is needed (TOPIC_AUTHORIZATION_FAILED otherwise).
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type {
  OffsetForLeaderEpochRequest,
  OffsetForLeaderEpochResponse,
} from "../../protocol/messages/offset_for_leader_epoch.ts";
import { offsetForLeaderEpochApi } from "../../protocol/messages/mod.ts";
import { PARTITION_LEADER_EPOCH } from "../../storage/log_append.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { refusedLeaderEpochTopics } from "../security/authorize.ts";

type EpochEndOffset = OffsetForLeaderEpochResponse["topics"][number]["partitions"][number];

export const offsetForLeaderEpochHandler: ApiHandler = defineHandler(offsetForLeaderEpochApi, {
  minVersion: 2,
  maxVersion: 4,
  handle(ctx: RequestContext, request: OffsetForLeaderEpochRequest): OffsetForLeaderEpochResponse {
    const refused = refusedLeaderEpochTopics(ctx, request.topics, (t) => t.topic);
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((p) =>
          refused?.has(t.topic)
            ? {
              errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
              partition: p.partition,
              leaderEpoch: -1,
              endOffset: -1,
            }
            : endOffsetOf(ctx, t.topic, p.partition, {
              currentLeaderEpoch: p.currentLeaderEpoch,
              leaderEpoch: p.leaderEpoch,
            })
        ),
      })),
    };
  },
});

function endOffsetOf(
  ctx: RequestContext,
  topic: string,
  index: number,
  asked: { currentLeaderEpoch: number; leaderEpoch: number },
): EpochEndOffset {
  const answer = (errorCode: number, leaderEpoch = -1, endOffset = -1): EpochEndOffset => ({
    errorCode,
    partition: index,
    leaderEpoch,
    endOffset,
  });
  const partition = ctx.broker.topics.partition(topic, index);
  if (partition === undefined) return answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  const replication = ctx.broker.replication;
  if (replication !== undefined) {
    const check = replication.checkLeader(topic, index, asked.currentLeaderEpoch);
    if (check.errorCode !== ErrorCode.NONE) return answer(check.errorCode);
  } else if (asked.currentLeaderEpoch > PARTITION_LEADER_EPOCH) {
    return answer(ErrorCode.UNKNOWN_LEADER_EPOCH);
  }
  const end = partition.log.endOffsetForEpoch(asked.leaderEpoch);
  return answer(ErrorCode.NONE, end.epoch, end.endOffset);
}
