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
 * - **Cluster:** with a replica manager, a broker that does not lead the
 *   partition answers NOT_LEADER_OR_FOLLOWER, acks=all checks
 *   `min.insync.replicas` before the append and then waits for the high
 *   watermark (NOT_ENOUGH_REPLICAS_AFTER_APPEND if the ISR shrank meanwhile),
 *   and every batch is stamped with the leader epoch.
 * - **Transactions:** a verified transactional produce passes its KIP-890
 *   guard to the log; the coordinator's markers come through here too.
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
   * Set when the answer must wait for a flush or, in a cluster with acks=all, for the in-sync
   * replicas: settles (never rejects) once the data is as durable as `acks` and the topic's
   * flush policy ask, after updating {@linkcode result}.
   */
  readonly durable: Promise<void> | undefined;
  /** In a cluster, when this broker does not lead the partition: the leader it knows. */
  readonly currentLeader?: { readonly leaderId: number; readonly leaderEpoch: number };
}

/** Options of {@linkcode produceToPartition}. */
export interface ProduceOptions extends Pick<AppendOptions, "origin" | "verificationGuard"> {
  /** How long acks=all waits for the in-sync replicas (the request's timeoutMs). */
  readonly timeoutMs?: number;
}

/** How long acks=all waits for the in-sync replicas when the caller gives no timeout. */
export const PRODUCE_TIMEOUT_MS_DEFAULT = 30_000;

/**
 * Appends `records` (whole RecordBatch v2 bytes) to `partition` and applies the durability
 * policy. `options`: a verified transactional produce's guard, or the coordinator's markers;
 * how long acks=all may wait for the in-sync replicas.
 */
export function produceToPartition(
  broker: BrokerCore,
  partition: Partition,
  records: Uint8Array,
  acks: Acks,
  options: ProduceOptions = {},
): PartitionProduce {
  const log = partition.log;
  const replication = broker.replication;
  let leaderEpoch: number | undefined = undefined;
  if (replication !== undefined) {
    const check = replication.checkLeader(partition.topic.name, partition.index);
    const errorCode = check.errorCode !== ErrorCode.NONE
      ? check.errorCode
      : acks === -1
      ? replication.checkMinIsr(partition)
      : ErrorCode.NONE;
    if (errorCode !== ErrorCode.NONE) {
      const message = errorCode === ErrorCode.NOT_ENOUGH_REPLICAS
        ? "The in-sync replicas are fewer than min.insync.replicas."
        : `Broker ${replication.nodeId} does not lead ${partition.topic.name}-${partition.index}.`;
      return {
        result: { ok: false, errorCode, message },
        durable: undefined,
        currentLeader: check,
      };
    }
    leaderEpoch = check.leaderEpoch;
  }
  const { origin, verificationGuard } = options;
  const result = log.append(records, {
    origin,
    verificationGuard,
    nowMs: broker.nowMs(),
    leaderEpoch,
  });
  if (!result.ok) {
    if (result.cause !== undefined) {
      const message =
        `Append to ${partition.topic.name}-${partition.index} failed: ${result.message}`;
      broker.logLimiter.error("append-failed", message); // a full disk fails every append
    }
    return { result, durable: undefined };
  }
  if (replication !== undefined) {
    replication.onLeaderAppend(partition);
    if (acks === -1) return awaitReplicas(broker, partition, result, options);
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

/**
 * acks=all in a cluster: the answer waits until the high watermark passes the batch (the
 * followers' offsets count only after their own flush under `--flush sync`), then says whether
 * the ISR still had `min.insync.replicas` members; the leader's own flush is waited for too
 * under `--flush sync`.
 */
function awaitReplicas(
  broker: BrokerCore,
  partition: Partition,
  result: AppendResult & { ok: true },
  options: ProduceOptions,
): PartitionProduce {
  const replication = broker.replication!;
  const log = partition.log;
  const flushed = broker.config.flushMode === "sync" ||
      log.unflushedRecords >= log.config.flushMessages
    ? broker.flusher.durable(log)
    : Promise.resolve();
  const outcome: PartitionProduce = {
    result,
    durable: Promise.all([
      flushed,
      replication.awaitCommit(
        partition,
        result.lastOffset + 1,
        options.timeoutMs ?? PRODUCE_TIMEOUT_MS_DEFAULT,
      ),
    ]).then(([, errorCode]) => {
      if (errorCode === ErrorCode.NONE) return;
      outcome.result = {
        ok: false,
        errorCode,
        message: errorCode === ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND
          ? "The in-sync replicas fell below min.insync.replicas before the write was committed."
          : "The write was not committed by the in-sync replicas.",
      };
    }, (error: Error) => {
      outcome.result = {
        ok: false,
        errorCode: ErrorCode.KAFKA_STORAGE_ERROR,
        message: `The flush failed: ${error.message}`,
      };
    }),
  };
  return outcome;
}
