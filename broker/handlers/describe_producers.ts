/**
 * DescribeProducers (key 61, KIP-664): the active idempotent producers of
 * each partition asked for: producer id and epoch, the last sequence and
 * timestamp written. Without transactions, coordinatorEpoch and
 * currentTxnStartOffset are always -1. Needs READ on the topic.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type {
  DescribeProducersRequest,
  DescribeProducersResponse,
} from "../../protocol/messages/describe_producers.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { describeProducersApi } from "../../protocol/messages/mod.ts";
import { AclOperation } from "../security/acl.ts";
import { AuthorizationMessage, authorizeTopic } from "../security/authorize.ts";

type PartitionResult = DescribeProducersResponse["topics"][number]["partitions"][number];

export const describeProducersHandler: ApiHandler = defineHandler(describeProducersApi, {
  minVersion: 0,
  maxVersion: 0,
  handle(ctx: RequestContext, request: DescribeProducersRequest): DescribeProducersResponse {
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((index): PartitionResult => {
          if (!authorizeTopic(ctx, AclOperation.READ, t.name)) {
            return {
              partitionIndex: index,
              errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
              errorMessage: AuthorizationMessage.TOPIC,
              activeProducers: [],
            };
          }
          const partition = ctx.broker.topics.partition(t.name, index);
          if (partition === undefined) {
            return {
              partitionIndex: index,
              errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
              errorMessage: `The partition ${t.name}-${index} does not exist.`,
              activeProducers: [],
            };
          }
          const activeProducers = [...partition.log.producerState.entries()].map((e) => {
            const last = e.batches.at(-1);
            return {
              producerId: e.producerId,
              producerEpoch: e.producerEpoch,
              lastSequence: last?.lastSequence ?? -1,
              lastTimestamp: e.lastTimestampMs,
              coordinatorEpoch: e.coordinatorEpoch,
              currentTxnStartOffset: e.currentTxnFirstOffset,
            };
          });
          return {
            partitionIndex: index,
            errorCode: ErrorCode.NONE,
            errorMessage: null,
            activeProducers,
          };
        }),
      })),
    };
  },
});
