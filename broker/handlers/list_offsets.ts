/**
 * ListOffsets (key 2): earliest (-2, and -4 "earliest local"), latest (-1),
 * max timestamp (-3), and the first offset whose timestamp is at or after a
 * given time, found through the time index. With isolation level 1
 * (read_committed, v2+) latest is the last stable offset, and a timestamp
 * lookup finds only offsets below it, as in Kafka (`Partition.
 * fetchOffsetForTimestamp`).
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type {
  ListOffsetsRequest,
  ListOffsetsResponse,
} from "../../protocol/messages/list_offsets.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { listOffsetsApi } from "../../protocol/messages/mod.ts";
import { LEADER_EPOCH } from "./fetch.ts";
import { AclOperation } from "../security/acl.ts";
import { authorizeTopic } from "../security/authorize.ts";
import type { TimestampOffset } from "../../storage/time_index.ts";

type PartitionResponse = ListOffsetsResponse["topics"][number]["partitions"][number];

/** Kafka's special timestamps. */
const LATEST_TIMESTAMP = -1;
const EARLIEST_TIMESTAMP = -2;
const MAX_TIMESTAMP = -3;
const EARLIEST_LOCAL_TIMESTAMP = -4;
/** Kafka's `IsolationLevel.READ_COMMITTED`. */
const READ_COMMITTED = 1;

export const listOffsetsHandler: ApiHandler = defineHandler(listOffsetsApi, {
  minVersion: 1,
  maxVersion: 8,
  handle(ctx: RequestContext, request: ListOffsetsRequest): ListOffsetsResponse {
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) =>
          listPartition(ctx, t.name, p.partitionIndex, p.timestamp, {
            currentLeaderEpoch: p.currentLeaderEpoch,
            committed: request.isolationLevel === READ_COMMITTED,
            describeAllowed: authorizeTopic(ctx, AclOperation.DESCRIBE, t.name),
          })
        ),
      })),
    };
  },
});

function listPartition(
  ctx: RequestContext,
  topic: string,
  partitionIndex: number,
  timestampMs: number,
  options: { currentLeaderEpoch: number; committed: boolean; describeAllowed: boolean },
): PartitionResponse {
  const currentLeaderEpoch = options.currentLeaderEpoch;
  const out: PartitionResponse = {
    partitionIndex,
    errorCode: ErrorCode.NONE,
    oldStyleOffsets: [],
    timestamp: -1,
    offset: -1,
    leaderEpoch: -1,
  };
  if (!options.describeAllowed) {
    out.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
    return out;
  }
  const partition = ctx.broker.topics.partition(topic, partitionIndex);
  if (partition === undefined) {
    out.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    return out;
  }
  let leaderEpoch = LEADER_EPOCH;
  if (ctx.broker.replication !== undefined) {
    // In a cluster only the leader answers, with its epoch (Kafka's leader checks).
    const check = ctx.broker.replication.checkLeader(topic, partitionIndex, currentLeaderEpoch);
    out.errorCode = check.errorCode;
    if (check.errorCode !== ErrorCode.NONE) return out;
    leaderEpoch = check.leaderEpoch;
  } else if (currentLeaderEpoch > LEADER_EPOCH) {
    out.errorCode = ErrorCode.UNKNOWN_LEADER_EPOCH;
    return out;
  }
  const log = partition.log;
  out.leaderEpoch = leaderEpoch;
  const fetchable = (found: TimestampOffset | undefined): found is TimestampOffset =>
    found !== undefined && (!options.committed || found.offset < log.lastStableOffset);
  if (timestampMs === LATEST_TIMESTAMP) {
    // The high watermark is the log end on one node, what is committed in a cluster.
    out.offset = options.committed ? log.lastStableOffset : log.highWatermark;
  } else if (timestampMs === EARLIEST_TIMESTAMP || timestampMs === EARLIEST_LOCAL_TIMESTAMP) {
    out.offset = log.logStartOffset;
  } else if (timestampMs === MAX_TIMESTAMP) {
    const found = log.maxTimestamp();
    if (fetchable(found)) {
      out.offset = found.offset;
      out.timestamp = found.timestampMs;
    }
  } else if (timestampMs >= 0) {
    const found = log.offsetForTimestamp(timestampMs);
    if (!fetchable(found)) {
      out.leaderEpoch = -1;
    } else {
      out.offset = found.offset;
      out.timestamp = found.timestampMs;
    }
  } else {
    out.errorCode = ErrorCode.INVALID_REQUEST;
  }
  return out;
}
