/**
 * Produce (key 0): the Kafka front door of the one produce path
 * (`../produce_path.ts`: validation, append, wake-ups, durability). This
 * handler checks what belongs to the protocol (version, acks, transactional
 * id, the partition named) and turns each partition's outcome into its
 * answer; with acks=0 nothing is answered, and an error closes the
 * connection, as Kafka does.
 *
 * A retried idempotent batch is answered with error NONE and the offsets it
 * got the first time, as Kafka 3.x does. A transactional batch that would
 * start its producer's transaction on a partition is first verified with the
 * transaction coordinator (KIP-890, `../transactions/produce_verification.ts`,
 * which also refuses it when no coordinator is set).
 * Versions 0-2 (message formats v0/v1) are advertised for librdkafka's
 * feature detection but refused with UNSUPPORTED_VERSION, as Kafka 4.0 does.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type { ProduceRequest, ProduceResponse } from "../../protocol/messages/produce.ts";
import type { DecodedRecords } from "../../protocol/primitives.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { produceApi } from "../../protocol/messages/mod.ts";
import { AclOperation } from "../security/acl.ts";
import { authorizeTransactionalId, refusedTopics } from "../security/authorize.ts";
import { type PartitionProduce, produceToPartition } from "../produce_path.ts";
import { leaderEndpoints } from "./_replica_fetch.ts";
import {
  producerToVerify,
  verifyTransactionalProduce,
} from "../transactions/produce_verification.ts";

type PartitionResponse = ProduceResponse["responses"][number]["partitionResponses"][number];

/** Lowest Produce version whose batches are RecordBatch v2. */
const PRODUCE_MAGIC_V2_MIN_VERSION = 3;
/** First Produce version that knows INVALID_RECORD (KIP-467). */
const PRODUCE_INVALID_RECORD_MIN_VERSION = 8;

export const produceHandler: ApiHandler = defineHandler(produceApi, {
  minVersion: 0,
  maxVersion: 11,
  async handle(
    ctx: RequestContext,
    request: ProduceRequest<DecodedRecords>,
  ): Promise<ProduceResponse | null> {
    const version = ctx.request.apiVersion;
    const acks = request.acks;
    const flushes: Promise<void>[] = [];
    let anyError = false;
    const transactionalAllowed = request.transactionalId === null ||
      authorizeTransactionalId(ctx, request.transactionalId);
    const refused = refusedTopics(ctx, AclOperation.WRITE, request.topicData, (t) => t.name);
    const responses = request.topicData.map((topicData) => ({
      name: topicData.name,
      partitionResponses: topicData.partitionData.map((p): PartitionResponse => {
        const result = producePartition(ctx, topicData.name, p.index, p.records, {
          acks,
          transactionalId: request.transactionalId,
          transactionalAllowed,
          writeAllowed: refused === undefined || !refused.has(topicData.name),
          flushes,
          timeoutMs: request.timeoutMs,
        });
        if (result.errorCode !== ErrorCode.NONE) anyError = true;
        if (
          result.errorCode === ErrorCode.INVALID_RECORD &&
          version < PRODUCE_INVALID_RECORD_MIN_VERSION
        ) {
          result.errorCode = ErrorCode.CORRUPT_MESSAGE;
        }
        return result;
      }),
    }));
    if (flushes.length > 0) await Promise.all(flushes);
    for (const t of responses) {
      for (const p of t.partitionResponses) if (p.errorCode !== ErrorCode.NONE) anyError = true;
    }
    if (acks === 0) {
      // Kafka answers nothing to acks=0, and closes the connection on an
      // error so the producer notices.
      if (anyError) ctx.connection.close("a produce with acks=0 failed");
      return null;
    }
    const leaders = responses.flatMap((t) => t.partitionResponses.map((p) => p.currentLeader));
    const nodeEndpoints = leaderEndpoints(ctx.broker.replication, leaders);
    return { responses, throttleTimeMs: 0, nodeEndpoints };
  },
});

function producePartition(
  ctx: RequestContext,
  topicName: string,
  index: number,
  records: Uint8Array | null,
  options: {
    acks: number;
    transactionalId: string | null;
    /** WRITE on the transactional id, and on the topic (Kafka checks both before the topic exists). */
    transactionalAllowed: boolean;
    writeAllowed: boolean;
    flushes: Promise<void>[];
    /** How long acks=all may wait for the in-sync replicas. */
    timeoutMs: number;
  },
): PartitionResponse {
  const response: PartitionResponse = {
    index,
    errorCode: ErrorCode.NONE,
    baseOffset: -1,
    logAppendTimeMs: -1,
    logStartOffset: -1,
    recordErrors: [],
    errorMessage: null,
    currentLeader: { leaderId: -1, leaderEpoch: -1 },
  };
  const fail = (errorCode: number, message: string | null = null) => {
    response.errorCode = errorCode;
    response.errorMessage = message;
    return response;
  };
  if (ctx.request.apiVersion < PRODUCE_MAGIC_V2_MIN_VERSION) {
    return fail(
      ErrorCode.UNSUPPORTED_VERSION,
      "Produce v0-v2 (message format v0/v1) is not supported.",
    );
  }
  const acks = options.acks;
  if (acks !== 0 && acks !== 1 && acks !== -1) {
    return fail(ErrorCode.INVALID_REQUIRED_ACKS, `acks must be 0, 1 or -1, got ${acks}.`);
  }
  if (!options.transactionalAllowed) return fail(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  if (!options.writeAllowed) return fail(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  const partition = ctx.broker.topics.partition(topicName, index);
  if (partition === undefined) {
    return fail(
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      `Topic "${topicName}" partition ${index} does not exist.`,
    );
  }
  if (records === null || records.length === 0) {
    return fail(ErrorCode.INVALID_RECORD, "The produce request carries no record batch.");
  }
  const transactionalId = options.transactionalId;
  const producer = transactionalId === null ? undefined : producerToVerify(partition, records);
  if (transactionalId !== null && producer !== undefined) {
    const verified = verifyTransactionalProduce(ctx.broker, partition, {
      transactionalId,
      ...producer,
    }).then(async (verification) => {
      if (!verification.ok) return void fail(verification.errorCode, verification.message);
      if (partition.log.isClosed) return void fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      const produced = produceToPartition(ctx.broker, partition, records, acks, {
        verificationGuard: verification.guard,
        timeoutMs: options.timeoutMs,
      });
      answer(response, produced);
      if (produced.durable !== undefined) {
        await produced.durable.then(() => answer(response, produced));
      }
    });
    options.flushes.push(verified);
    return response;
  }
  const produced = produceToPartition(ctx.broker, partition, records, acks, {
    timeoutMs: options.timeoutMs,
  });
  answer(response, produced);
  if (produced.durable !== undefined) {
    options.flushes.push(produced.durable.then(() => answer(response, produced)));
  }
  return response;
}

/** Fills `response` from the produce's (current) result. */
function answer(response: PartitionResponse, produced: PartitionProduce): void {
  if (produced.currentLeader !== undefined) {
    const { leaderId, leaderEpoch } = produced.currentLeader;
    response.currentLeader = { leaderId, leaderEpoch };
  }
  const result = produced.result;
  if (!result.ok) {
    if (result.recordErrors !== undefined) response.recordErrors = [...result.recordErrors];
    response.errorCode = result.errorCode;
    response.errorMessage = result.message;
    response.baseOffset = -1;
    return;
  }
  response.baseOffset = result.baseOffset;
  response.logStartOffset = result.logStartOffset;
  response.logAppendTimeMs = result.logAppendTimeMs;
}
