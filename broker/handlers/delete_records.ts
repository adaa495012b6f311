/**
 * DeleteRecords (key 21): raises a partition's log start offset (offset -1:
 * the high watermark) and deletes the segments wholly below it; answers the
 * new low watermark. An offset above the high watermark is
 * OFFSET_OUT_OF_RANGE, as in Kafka. Needs DELETE on the topic.
 *
 * @module
 */
import { IoError } from "../../ffi/port.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import type {
  DeleteRecordsRequest,
  DeleteRecordsResponse,
} from "../../protocol/messages/delete_records.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { deleteRecordsApi } from "../../protocol/messages/mod.ts";
import { AclOperation } from "../security/acl.ts";
import { authorizeTopic } from "../security/authorize.ts";

type PartitionResult = DeleteRecordsResponse["topics"][number]["partitions"][number];

/** Kafka's "delete up to the high watermark". */
const HIGH_WATERMARK_OFFSET = -1;

export const deleteRecordsHandler: ApiHandler = defineHandler(deleteRecordsApi, {
  minVersion: 0,
  maxVersion: 2,
  handle(ctx: RequestContext, request: DeleteRecordsRequest): DeleteRecordsResponse {
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => deleteOne(ctx, t.name, p.partitionIndex, p.offset)),
      })),
    };
  },
});

function deleteOne(
  ctx: RequestContext,
  topic: string,
  partitionIndex: number,
  offset: number,
): PartitionResult {
  const out: PartitionResult = { partitionIndex, lowWatermark: -1, errorCode: ErrorCode.NONE };
  if (!authorizeTopic(ctx, AclOperation.DELETE, topic)) {
    out.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
    return out;
  }
  const partition = ctx.broker.topics.partition(topic, partitionIndex);
  if (partition === undefined) {
    out.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    return out;
  }
  const leader = ctx.broker.replication?.checkLeader(topic, partitionIndex).errorCode;
  if (leader !== undefined && leader !== ErrorCode.NONE) {
    out.errorCode = leader; // in a cluster the leader moves the log start; followers follow it
    return out;
  }
  const log = partition.log;
  try {
    const result = log.deleteRecordsBefore(
      offset === HIGH_WATERMARK_OFFSET ? log.highWatermark : offset,
    );
    out.errorCode = result.errorCode;
    out.lowWatermark = result.errorCode === ErrorCode.NONE ? result.logStartOffset : -1;
  } catch (error) {
    if (!(error instanceof IoError)) throw error;
    ctx.broker.logger.error(`DeleteRecords on ${topic}-${partitionIndex} failed: ${error.message}`);
    out.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
  }
  return out;
}
