/**
 * The one produce path below the front doors (the Kafka Produce handler and
 * the HTTP API): append, then the durability policy, in one place.
 *
 * - **Append:** {@linkcode PartitionLog.append} validates every record (Kafka's
 *   LogValidator rules, `protocol/record_validator.ts`) and producer
 *   sequences, then writes the batches whole. Its `onAppend` hook, set by the
 *   broker on every topic partition, wakes long-poll fetches and counts
 *   records in, whichever door the records came through.
 * - **Durability:** with `--flush sync`, acks=all is answered only once the
 *   data is on disk; a topic's `flush.messages` makes any produce that
 *   reaches the threshold wait for the flush too (Kafka flushes in the append
 *   path); acks=0 only asks for the flush. Waiting produces share one flush
 *   per partition (group commit, `storage/flusher.ts`). A failed flush
 *   answers KAFKA_STORAGE_ERROR (retriable); a producer's retry is then
 *   deduplicated by idempotence. `flush.ms` is the maintenance timer's.
 *
 * This is where "wait for the in-sync replicas" and "check the transaction"
 * go when the cluster and transactions arrive.
 *
 * @module
 */
import { ErrorCode } from "../protocol/error_codes.ts";
import type { AppendOptions, AppendResult } from "../storage/partition_log.ts";
import type { BrokerCore } from "./context.ts";
import type { Partition } from "./topics.ts";

/** Kafka's acks: 0 (no answer), 1 (the leader's log), -1 (all in-sync replicas). */
export type Acks = 0 | 1 | -1;

/** What a produce of one partition came to. */
export interface PartitionProduce {
  /** The append's outcome (a failed flush turns a success into KAFKA_STORAGE_ERROR). */
  result: AppendResult;
  /**
   * Set when the answer must wait for a flush: settles (never rejects) once the data is as
   * durable as `acks` and the topic's flush policy ask, after updating {@linkcode result}.
   */
  readonly durable: Promise<void> | undefined;
}

/**
 * Appends `records` (whole RecordBatch v2 bytes) to `partition` and applies the durability
 * policy. `append`: a verified transactional produce's guard, or the coordinator's markers.
 */
export function produceToPartition(
  broker: BrokerCore,
  partition: Partition,
  records: Uint8Array,
  acks: Acks,
  append?: Pick<AppendOptions, "origin" | "verificationGuard">,
): PartitionProduce {
  const log = partition.log;
  const result = log.append(records, { ...append, nowMs: broker.nowMs() });
  if (!result.ok) {
    if (result.cause !== undefined) {
      const message =
        `Append to ${partition.topic.name}-${partition.index} failed: ${result.message}`;
      broker.logLimiter.error("append-failed", message); // a full disk fails every append
    }
    return { result, durable: undefined };
  }
  const syncAck = acks === -1 && broker.config.flushMode === "sync";
  if (!syncAck && log.unflushedRecords < log.config.flushMessages) {
    return { result, durable: undefined };
  }
  if (acks === 0) {
    broker.flusher.request(log);
    return { result, durable: undefined };
  }
  const outcome: PartitionProduce = {
    result,
    durable: broker.flusher.durable(log).catch((error: Error) => {
      const name = `${partition.topic.name}-${partition.index}`;
      broker.logLimiter.error("flush-failed", `Flush of ${name} failed: ${error.message}`);
      outcome.result = {
        ok: false,
        errorCode: ErrorCode.KAFKA_STORAGE_ERROR,
        message: `The flush failed: ${error.message}`,
      };
    }),
  };
  return outcome;
}
