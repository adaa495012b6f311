/**
 * ListOffsets (key 2): earliest (-2, and -4 "earliest local"), latest (-1),
 * max timestamp (-3), and the first offset whose timestamp is at or after a
 * given time, found through the time index.
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

type PartitionResponse = ListOffsetsResponse["topics"][number]["partitions"][number];

/** Kafka's special timestamps. */
const LATEST_TIMESTAMP = -1;
const EARLIEST_TIMESTAMP = -2;
const MAX_TIMESTAMP = -3;
const EARLIEST_LOCAL_TIMESTAMP = -4;

export const listOffsetsHandler: ApiHandler = defineHandler(listOffsetsApi, {
  minVersion: 1,
  maxVersion: 8,
  handle(ctx: RequestContext, request: ListOffsetsRequest): ListOffsetsResponse {
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) =>
          listPartition(ctx, t.name, p.partitionIndex, p.timestamp, p.currentLeaderEpoch)
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
  currentLeaderEpoch: number,
): PartitionResponse {
  const out: PartitionResponse = {
    partitionIndex,
    errorCode: ErrorCode.NONE,
    oldStyleOffsets: [],
    timestamp: -1,
    offset: -1,
    leaderEpoch: -1,
  };
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
  if (timestampMs === LATEST_TIMESTAMP) {
    out.offset = log.highWatermark; // the log end on one node; what is committed in a cluster
  } else if (timestampMs === EARLIEST_TIMESTAMP || timestampMs === EARLIEST_LOCAL_TIMESTAMP) {
    out.offset = log.logStartOffset;
  } else if (timestampMs === MAX_TIMESTAMP) {
    const found = log.maxTimestamp();
    if (found !== undefined) {
      out.offset = found.offset;
      out.timestamp = found.timestampMs;
    }
  } else if (timestampMs >= 0) {
    const found = log.offsetForTimestamp(timestampMs);
    if (found === undefined) {
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
