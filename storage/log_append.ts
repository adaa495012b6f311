/**
 * Append validation (Kafka's `LogValidator`, whose record rules live in
 * `protocol/record_validator.ts`, and the producer-state analysis
 * of `UnifiedLog.append`), before a byte is written: the records are checked
 * whole (size, CRC, dense offsets, all or nothing), offsets are assigned by
 * patching each batch's baseOffset and partitionLeaderEpoch in the caller's
 * buffer (both outside the CRC; the one copy is the write), and idempotent producers' sequences are checked against the
 * {@linkcode ProducerStateManager} without changing it: the entries to commit
 * come back in the plan, for the log to apply once the bytes are written. A
 * retried batch is answered with its original offsets (`duplicate: true`).
 *
 * Transactions: a client's transactional batch that would start its
 * producer's transaction here must present the verification guard the
 * coordinator's answer earned (KIP-890; INVALID_TXN_STATE otherwise). Control
 * batches come only from the coordinator (`origin: "coordinator"`): each is an
 * EndTransactionMarker, checked against the producer's epochs, and ends its
 * transaction; the completed transactions come back in the plan for the log
 * to index the aborted ones.
 *
 * @module
 */
import type { IoError } from "../ffi/port.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { type BatchInfo, RecordBatchView, validateBatches } from "../protocol/record_batch.ts";
import { type RecordError, validateBatchRecords } from "../protocol/record_validator.ts";
import { decodeControlBatch } from "../protocol/control_batch.ts";
import type { LogConfig } from "./log_config.ts";
import { RELATIVE_OFFSET_MAX } from "./offset_index.ts";
import type {
  CompletedTxn,
  ProducerBatchHeader,
  ProducerEntry,
  ProducerStateManager,
  VerificationGuard,
} from "./producer_state.ts";

/**
 * The leader epoch stamped on every appended batch (Kafka writes the partition's
 * epoch; a single node leads every partition from epoch 0, as Metadata says).
 */
export const PARTITION_LEADER_EPOCH = 0;

/** A successful append. */
export interface AppendSuccess {
  readonly ok: true;
  readonly baseOffset: number;
  readonly lastOffset: number;
  /** Always -1: batches keep CreateTime. */
  readonly logAppendTimeMs: number;
  readonly logStartOffset: number;
  readonly recordCount: number;
  /** Bytes written (0 for a duplicate). */
  readonly sizeBytes: number;
  /** A retried idempotent batch: nothing was written, the offsets are the original ones. */
  readonly duplicate?: boolean;
}

/** A failed append: nothing was written and no offset was taken. */
export interface AppendFailure {
  readonly ok: false;
  /**
   * CORRUPT_MESSAGE, INVALID_RECORD, MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE, KAFKA_STORAGE_ERROR,
   * OUT_OF_ORDER_SEQUENCE_NUMBER or INVALID_PRODUCER_EPOCH.
   */
  readonly errorCode: number;
  readonly message: string;
  /** The records that broke a rule, by index in their batch (Kafka's `recordErrors`). */
  readonly recordErrors?: readonly RecordError[];
  /** The I/O failure behind KAFKA_STORAGE_ERROR. */
  readonly cause?: IoError;
}

/** The outcome of `PartitionLog.append`. */
export type AppendResult = AppendSuccess | AppendFailure;

/** Options of `PartitionLog.append`. */
export interface AppendOptions {
  readonly nowMs: number;
  /**
   * true (default): a producer's append, offsets assigned from logEndOffset. false: the
   * batches carry their offsets (replication, tests), which must be at or above logEndOffset.
   */
  readonly assignOffsets?: boolean;
  /** The leader epoch stamped on a producer's batches (default {@linkcode PARTITION_LEADER_EPOCH}). */
  readonly leaderEpoch?: number;
  /**
   * "client" (default): a producer's batches, validated as Kafka's LogValidator does; no
   * control batch. "coordinator": transaction markers (control batches) written by the
   * transaction coordinator.
   */
  readonly origin?: "client" | "coordinator";
  /** KIP-890: the guard a verified transactional produce presents (see `ProducerStateManager`). */
  readonly verificationGuard?: VerificationGuard;
}

/** What {@linkcode planAppend} needs to know of the log. */
export interface AppendTarget {
  readonly config: LogConfig;
  readonly logEndOffset: number;
  readonly logStartOffset: number;
  /** Read here, changed only by the log after the write (`commit(plan.pending)`). */
  readonly producers: ProducerStateManager;
}

/** Validated records, their offsets assigned, ready to be written. */
export interface AppendPlan {
  readonly write: true;
  readonly batches: readonly BatchInfo[];
  readonly baseOffset: number;
  readonly lastOffset: number;
  /** The offset after the last record: the log's next logEndOffset. */
  readonly nextOffset: number;
  readonly maxTimestampMs: number;
  readonly recordCount: number;
  /** Producer entries to commit once the bytes are written. */
  readonly pending: Map<number, ProducerEntry>;
  /** Where each leader epoch of the batches starts, for the leader epoch cache. */
  readonly epochStarts: readonly { epoch: number; startOffset: number }[];
  /** Transactions the markers among the batches end, in offset order. */
  readonly completedTxns: readonly CompletedTxn[];
}

/** Nothing to write: a failure, or a duplicate answered with its original offsets. */
export interface AppendAnswered {
  readonly write: false;
  readonly result: AppendResult;
}

/**
 * Validates every batch of `records` (all or nothing), patches their baseOffsets in place from
 * `log.logEndOffset` and their leader epochs (unless `assignOffsets` is false) and checks
 * producer sequences.
 */
export function planAppend(
  records: Uint8Array,
  options: AppendOptions,
  log: AppendTarget,
): AppendPlan | AppendAnswered {
  const assignOffsets = options.assignOffsets ?? true;
  if (records.length > log.config.segmentBytes) {
    return failure(
      ErrorCode.RECORD_LIST_TOO_LARGE,
      `Records of ${records.length} bytes exceed segment.bytes ${log.config.segmentBytes}`,
    );
  }
  const validation = validateBatches(records, {
    maxMessageBytes: log.config.maxMessageBytes,
    requireDenseOffsets: assignOffsets,
  });
  if (!validation.ok) return failure(validation.error.errorCode, validation.error.message);
  const batches = validation.batches;
  const view = new RecordBatchView(records);
  const fromCoordinator = options.origin === "coordinator";
  if (assignOffsets && !fromCoordinator) {
    const refused = validateRecords(view, batches, options.nowMs, log.config);
    if (refused !== undefined) return refused;
  }
  const pending = new Map<number, ProducerEntry>();
  const epochStarts: { epoch: number; startOffset: number }[] = [];
  const completedTxns: CompletedTxn[] = [];
  let nextOffset = log.logEndOffset;
  let maxTimestampMs = -1;
  for (const batch of batches) {
    view.moveTo(batch.positionBytes);
    if (assignOffsets) {
      view.setBaseOffset(nextOffset);
      view.setPartitionLeaderEpoch(options.leaderEpoch ?? PARTITION_LEADER_EPOCH);
    } else if (view.baseOffset < nextOffset) {
      return failure(
        ErrorCode.INVALID_RECORD,
        `Out of order offset ${view.baseOffset}, expected at least ${nextOffset}`,
      );
    }
    if (view.isControl) {
      const trusted = fromCoordinator || !assignOffsets;
      const refused = planMarker(view, { log, pending, completedTxns, trusted });
      if (refused !== undefined) return refused;
    } else if (view.producerId >= 0) {
      const header = producerHeader(view, batch);
      const verdict = assignOffsets ? log.producers.check(header, pending) : undefined;
      if (verdict?.kind === "duplicate") {
        return {
          write: false,
          result: {
            ok: true,
            baseOffset: verdict.batch.firstOffset,
            lastOffset: verdict.batch.lastOffset,
            logAppendTimeMs: -1,
            logStartOffset: log.logStartOffset,
            recordCount: 0,
            sizeBytes: 0,
            duplicate: true,
          },
        };
      }
      if (verdict?.kind === "error") return failure(verdict.errorCode, verdict.message);
      if (
        assignOffsets && header.isTransactional && !fromCoordinator &&
        !startsVerified(header, log, pending, options)
      ) {
        return failure(
          ErrorCode.INVALID_TXN_STATE,
          `Producer ${header.producerId} has no ongoing transaction verified by the coordinator on this partition`,
        );
      }
      log.producers.update(header, pending);
    }
    const epoch = view.partitionLeaderEpoch;
    if (epoch !== epochStarts.at(-1)?.epoch) {
      epochStarts.push({ epoch, startOffset: view.baseOffset });
    }
    nextOffset = view.baseOffset + batch.lastOffsetDelta + 1;
    maxTimestampMs = Math.max(maxTimestampMs, batch.maxTimestampMs);
  }
  const baseOffset = view.moveTo(batches[0].positionBytes).baseOffset;
  const lastOffset = nextOffset - 1;
  if (lastOffset - baseOffset > RELATIVE_OFFSET_MAX) {
    return failure(
      ErrorCode.INVALID_RECORD,
      `Records span ${baseOffset}..${lastOffset}, more than one segment can index`,
    );
  }
  return {
    write: true,
    batches,
    baseOffset,
    lastOffset,
    nextOffset,
    maxTimestampMs,
    recordCount: validation.recordCount,
    pending,
    epochStarts,
    completedTxns,
  };
}

/**
 * KIP-890: a transactional batch continues its producer's ongoing transaction, or starts one
 * only with the guard its verification earned (voided by a marker or another start since).
 */
function startsVerified(
  header: ProducerBatchHeader,
  log: AppendTarget,
  pending: ReadonlyMap<number, ProducerEntry>,
  options: AppendOptions,
): boolean {
  const id = header.producerId;
  const entry = pending.get(id);
  if (entry !== undefined ? entry.currentTxnFirstOffset >= 0 : log.producers.hasOngoingTxn(id)) {
    return true;
  }
  return log.producers.isVerified(id, options.verificationGuard);
}

/** Checks the marker `view` points at and records it into `plan.pending`; a refusal, or undefined. */
function planMarker(
  view: RecordBatchView,
  plan: {
    log: AppendTarget;
    pending: Map<number, ProducerEntry>;
    completedTxns: CompletedTxn[];
    /** The coordinator's markers, or batches that carry their offsets (replication). */
    trusted: boolean;
  },
): AppendAnswered | undefined {
  if (!plan.trusted) {
    return failure(ErrorCode.INVALID_RECORD, "Clients are not allowed to write control records");
  }
  const decoded = decodeControlBatch(view);
  if (!decoded.ok) return failure(ErrorCode.INVALID_RECORD, decoded.message);
  const marker = {
    ...decoded.marker,
    offset: view.baseOffset,
    timestampMs: view.maxTimestampMs,
  };
  const verdict = plan.log.producers.checkMarker(marker, plan.pending);
  if (verdict.kind === "error") return failure(verdict.errorCode, verdict.message);
  const completed = plan.log.producers.updateMarker(marker, plan.pending);
  if (completed !== undefined) plan.completedTxns.push(completed);
  return undefined;
}

/** Kafka's LogValidator record rules on a client's batches (`protocol/record_validator.ts`). */
function validateRecords(
  view: RecordBatchView,
  batches: readonly BatchInfo[],
  nowMs: number,
  config: LogConfig,
): AppendAnswered | undefined {
  for (const batch of batches) {
    const verdict = validateBatchRecords(view.moveTo(batch.positionBytes), {
      nowMs,
      maxMessageBytes: config.maxMessageBytes,
      compactedTopic: config.cleanupCompact,
      timestampType: config.messageTimestampType,
      timestampBeforeMaxMs: config.messageTimestampBeforeMaxMs,
      timestampAfterMaxMs: config.messageTimestampAfterMaxMs,
    });
    if (!verdict.ok) {
      return {
        write: false,
        result: {
          ok: false,
          errorCode: verdict.errorCode,
          message: verdict.message,
          recordErrors: verdict.recordErrors,
        },
      };
    }
  }
  return undefined;
}

function producerHeader(view: RecordBatchView, batch: BatchInfo): ProducerBatchHeader {
  return {
    producerId: view.producerId,
    producerEpoch: view.producerEpoch,
    baseSequence: view.baseSequence,
    lastOffsetDelta: batch.lastOffsetDelta,
    baseOffset: view.baseOffset,
    maxTimestampMs: batch.maxTimestampMs,
    isTransactional: view.isTransactional,
  };
}

function failure(errorCode: number, message: string): AppendAnswered {
  return { write: false, result: { ok: false, errorCode, message } };
}
