/**
 * AddPartitionsToTxn (key 24): v0-3 from producers, adding partitions to
 * their transaction (starting it), durable before the answer; v4 is the
 * batched broker form of KIP-890, several transactions per request, where
 * `verifyOnly` asks whether the partitions are already in the producer's
 * ongoing transaction (INVALID_TXN_STATE per partition when not) instead of
 * adding them. Kafka's checks first: v0-3 WRITE on the transactional id, then
 * on each topic (with a topic refused, the others are OPERATION_NOT_ATTEMPTED);
 * v4 CLUSTER_ACTION on the cluster.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type {
  AddPartitionsToTxnRequest,
  AddPartitionsToTxnRequestTopic,
  AddPartitionsToTxnResponse,
  AddPartitionsToTxnResponseTopicResult,
} from "../../protocol/messages/add_partitions_to_txn.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { addPartitionsToTxnApi } from "../../protocol/messages/mod.ts";
import type { TransactionCoordinator, TxnProducer } from "../transactions/coordinator.ts";
import { AclOperation } from "../security/acl.ts";
import {
  authorizeCluster,
  refusedTopics,
  transactionalRequestRefusal,
} from "../security/authorize.ts";
import { fencedForVersion } from "./_txn_errors.ts";
import { withTxnCoordinatorAnswer } from "./_txn_route.ts";

/** First version answered PRODUCER_FENCED (KIP-588). */
const FENCED_MIN_VERSION = 2;
/** First (broker-only) batched version. */
const BATCHED_MIN_VERSION = 4;

export const addPartitionsToTxnHandler: ApiHandler = defineHandler(addPartitionsToTxnApi, {
  minVersion: 0,
  maxVersion: 4,
  async handle(
    ctx: RequestContext,
    request: AddPartitionsToTxnRequest,
  ): Promise<AddPartitionsToTxnResponse> {
    const version = ctx.request.apiVersion;
    if (version >= BATCHED_MIN_VERSION) {
      if (!authorizeCluster(ctx, AclOperation.CLUSTER_ACTION)) {
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
          resultsByTopicV3AndBelow: [],
          resultsByTransaction: [],
        };
      }
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        resultsByTopicV3AndBelow: [],
        resultsByTransaction: await Promise.all(request.transactions.map(async (t) => ({
          transactionalId: t.transactionalId,
          topicResults: await withTxnCoordinatorAnswer(
            ctx,
            t.transactionalId,
            (c) => t.verifyOnly ? verifyOnly(c, t, t.topics) : add(c, t, t.topics, version),
            (errorCode) => failAll(t.topics, errorCode),
          ),
        }))),
      };
    }
    const refused = refusedV3AndBelow(ctx, request);
    if (refused !== undefined) return refused;
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      resultsByTransaction: [],
      resultsByTopicV3AndBelow: await withTxnCoordinatorAnswer(
        ctx,
        request.v3AndBelowTransactionalId,
        (c) =>
          add(
            c,
            {
              transactionalId: request.v3AndBelowTransactionalId,
              producerId: request.v3AndBelowProducerId,
              producerEpoch: request.v3AndBelowProducerEpoch,
            },
            request.v3AndBelowTopics,
            version,
          ),
        (errorCode) => failAll(request.v3AndBelowTopics, errorCode),
      ),
    };
  },
});

/**
 * Kafka's checks of v0-3: WRITE on the transactional id, then on each topic; with a topic
 * refused, the others are OPERATION_NOT_ATTEMPTED. The answer when refused, else undefined.
 */
function refusedV3AndBelow(
  ctx: RequestContext,
  request: AddPartitionsToTxnRequest,
): AddPartitionsToTxnResponse | undefined {
  const topics = request.v3AndBelowTopics;
  const refusal = transactionalRequestRefusal(ctx, request.v3AndBelowTransactionalId);
  const refused = refusal !== ErrorCode.NONE
    ? undefined
    : refusedTopics(ctx, AclOperation.WRITE, topics, (t) => t.name);
  if (refusal === ErrorCode.NONE && refused === undefined) return undefined;
  const errorOf = (topic: string) => {
    if (refusal !== ErrorCode.NONE) return refusal;
    return refused!.has(topic)
      ? ErrorCode.TOPIC_AUTHORIZATION_FAILED
      : ErrorCode.OPERATION_NOT_ATTEMPTED;
  };
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    resultsByTransaction: [],
    resultsByTopicV3AndBelow: topics.map((t) => ({
      name: t.name,
      resultsByPartition: t.partitions.map((partitionIndex) => ({
        partitionIndex,
        partitionErrorCode: errorOf(t.name),
      })),
    })),
  };
}

function add(
  coordinator: TransactionCoordinator,
  producer: TxnProducer,
  topics: readonly AddPartitionsToTxnRequestTopic[],
  version: number,
): AddPartitionsToTxnResponseTopicResult[] {
  const partitions = topics.map((t) => ({ topic: t.name, partitions: t.partitions }));
  const { errorCode, unknown } = coordinator.addPartitions(producer, partitions);
  const isUnknown = (topic: string, p: number) =>
    unknown.some((u) => u.topic === topic && u.partitions.includes(p));
  const shared = fencedForVersion(errorCode, {
    apiVersion: version,
    fencedMinVersion: FENCED_MIN_VERSION,
  });
  return topics.map((t) => ({
    name: t.name,
    resultsByPartition: t.partitions.map((partitionIndex) => ({
      partitionIndex,
      partitionErrorCode: isUnknown(t.name, partitionIndex)
        ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        : shared,
    })),
  }));
}

function verifyOnly(
  coordinator: TransactionCoordinator,
  producer: TxnProducer,
  topics: readonly AddPartitionsToTxnRequestTopic[],
): AddPartitionsToTxnResponseTopicResult[] {
  return topics.map((t) => ({
    name: t.name,
    resultsByPartition: t.partitions.map((partitionIndex) => ({
      partitionIndex,
      partitionErrorCode: coordinator.verifyNow({
        ...producer,
        topic: t.name,
        partition: partitionIndex,
      }),
    })),
  }));
}

/** Every partition answered `errorCode` (the id is coordinated elsewhere, or a write failed). */
function failAll(
  topics: readonly AddPartitionsToTxnRequestTopic[],
  errorCode: number,
): AddPartitionsToTxnResponseTopicResult[] {
  return topics.map((t) => ({
    name: t.name,
    resultsByPartition: t.partitions.map((partitionIndex) => ({
      partitionIndex,
      partitionErrorCode: errorCode,
    })),
  }));
}
