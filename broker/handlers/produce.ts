/**
 * Produce (key 0): validate each partition's batches, append them whole
 * (only baseOffset patched), wake long-poll fetches, answer per partition.
 *
 * Durability: with `--flush sync`, acks=all is answered only once the data is
 * on disk; a topic's `flush.messages` makes any acks>=1 produce that reaches
 * the threshold wait for the flush too (Kafka flushes in the append path).
 * Waiting produces share one flush per partition per event-loop turn (group
 * commit, `storage/flusher.ts`). A failed flush answers KAFKA_STORAGE_ERROR
 * (retriable); the producer's retry is then deduplicated by idempotence.
 *
 * A retried idempotent batch is answered with error NONE and the offsets it
 * got the first time, as Kafka 3.x does.
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
    const responses = request.topicData.map((topicData) => ({
      name: topicData.name,
      partitionResponses: topicData.partitionData.map((p): PartitionResponse => {
        const result = producePartition(ctx, topicData.name, p.index, p.records, {
          acks,
          transactional: request.transactionalId !== null,
          flushes,
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
    return { responses, throttleTimeMs: 0, nodeEndpoints: [] };
  },
});

function producePartition(
  ctx: RequestContext,
  topicName: string,
  index: number,
  records: Uint8Array | null,
  options: { acks: number; transactional: boolean; flushes: Promise<void>[] },
): PartitionResponse {
  const base: PartitionResponse = {
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
    base.errorCode = errorCode;
    base.errorMessage = message;
    return base;
  };
  if (ctx.request.apiVersion < PRODUCE_MAGIC_V2_MIN_VERSION) {
    return fail(
      ErrorCode.UNSUPPORTED_VERSION,
      "Produce v0-v2 (message format v0/v1) is not supported.",
    );
  }
  if (options.acks !== 0 && options.acks !== 1 && options.acks !== -1) {
    return fail(ErrorCode.INVALID_REQUIRED_ACKS, `acks must be 0, 1 or -1, got ${options.acks}.`);
  }
  if (options.transactional) {
    return fail(
      ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
      "Transactions are not supported by Denka yet.",
    );
  }
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
  const appended = partition.log.append(records, { nowMs: ctx.broker.nowMs() });
  if (!appended.ok) {
    if (appended.cause !== undefined) {
      const message = `Append to ${topicName}-${index} failed: ${appended.cause.message}`;
      ctx.broker.logLimiter.error("append-failed", message); // a full disk fails every append
    }
    if (appended.recordErrors !== undefined) base.recordErrors = [...appended.recordErrors];
    return fail(appended.errorCode, appended.message);
  }
  base.baseOffset = appended.baseOffset;
  base.logStartOffset = appended.logStartOffset;
  base.logAppendTimeMs = appended.logAppendTimeMs;
  if (!appended.duplicate) {
    ctx.traffic.countIn(topicName, records.length, appended.recordCount);
    ctx.broker.waiters.notify(topicName, index);
  }
  const log = partition.log;
  const syncAck = options.acks === -1 && ctx.broker.config.flushMode === "sync";
  if (syncAck || log.unflushedRecords >= log.config.flushMessages) {
    if (options.acks === 0) {
      ctx.broker.flusher.request(log);
    } else {
      options.flushes.push(
        ctx.broker.flusher.durable(log).catch((error: Error) => {
          ctx.broker.logLimiter.error(
            "flush-failed",
            `Flush of ${topicName}-${index} failed: ${error.message}`,
          );
          fail(ErrorCode.KAFKA_STORAGE_ERROR, `The flush failed: ${error.message}`);
          base.baseOffset = -1;
        }),
      );
    }
  }
  return base;
}
