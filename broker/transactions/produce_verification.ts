/**
 * KIP-890 part 1 on the produce path: before a transactional batch that
 * would start its producer's transaction on a partition is appended, the
 * leader asks the coordinator (`BrokerCore.txnVerifier`) whether the
 * partition was added to that transaction. The verification guard taken
 * before asking is what the append presents; a marker written meanwhile
 * voids it, so a produce delayed past its transaction's EndTxn and markers
 * is refused (INVALID_TXN_STATE) instead of opening a transaction nobody
 * will end (Jepsen's aborted reads, lost writes and torn transactions in
 * the original protocol).
 *
 * The coordinator's retriable answers become NOT_ENOUGH_REPLICAS, which
 * every producer retries (Kafka's ReplicaManager does the same); a fenced
 * producer hears INVALID_PRODUCER_EPOCH, the Produce answer since KIP-588.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import {
  BATCH_HEADER_BYTES,
  BATCH_MAGIC_V2,
  RecordBatchView,
} from "../../protocol/record_batch.ts";
import type { VerificationGuard } from "../../storage/producer_state.ts";
import type { BrokerCore } from "../context.ts";
import type { Partition } from "../topics.ts";

/** The producer of the first batch of `records` when it must be verified, else undefined. */
export function producerToVerify(
  partition: Partition,
  records: Uint8Array,
): { producerId: number; producerEpoch: number } | undefined {
  if (records.length < BATCH_HEADER_BYTES) return undefined; // refused by validation
  const view = new RecordBatchView(records);
  if (view.magic !== BATCH_MAGIC_V2 || !view.isTransactional || view.isControl) return undefined;
  const producerId = view.producerId;
  if (producerId < 0 || partition.log.producerState.hasOngoingTxn(producerId)) return undefined;
  return { producerId, producerEpoch: view.producerEpoch };
}

/** The verification's outcome: the guard to append with, or the partition's error. */
export type Verification =
  | { readonly ok: true; readonly guard: VerificationGuard }
  | { readonly ok: false; readonly errorCode: number; readonly message: string };

/** Asks the coordinator about `producer`'s transaction on `partition` (see the module doc). */
export async function verifyTransactionalProduce(
  broker: BrokerCore,
  partition: Partition,
  request: { transactionalId: string; producerId: number; producerEpoch: number },
): Promise<Verification> {
  const verifier = broker.txnVerifier;
  const name = `${partition.topic.name}-${partition.index}`;
  if (verifier === undefined) {
    return {
      ok: false,
      errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
      message: "Transactions are not enabled on this broker.",
    };
  }
  const state = partition.log.producerState;
  const guard = state.startVerification(request.producerId);
  let errorCode: number;
  try {
    errorCode = await verifier.verify({
      ...request,
      topic: partition.topic.name,
      partition: partition.index,
    });
  } catch (error) {
    // The port never rejects; if one does, the producer retries instead of the request failing.
    broker.logLimiter.error("txn-verify-failed", `Verification of ${name} threw: ${error}`);
    errorCode = ErrorCode.COORDINATOR_NOT_AVAILABLE;
  }
  if (errorCode === ErrorCode.NONE) return { ok: true, guard };
  state.dropVerification(guard);
  return {
    ok: false,
    errorCode: produceErrorOf(errorCode),
    message:
      `The coordinator did not verify ${name} in the transaction of producer ${request.producerId} (error ${errorCode}).`,
  };
}

/** The Produce error for a coordinator's answer (see the module doc). */
function produceErrorOf(errorCode: number): number {
  switch (errorCode) {
    case ErrorCode.NETWORK_EXCEPTION:
    case ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
    case ErrorCode.COORDINATOR_NOT_AVAILABLE:
    case ErrorCode.NOT_COORDINATOR:
    case ErrorCode.CONCURRENT_TRANSACTIONS:
      return ErrorCode.NOT_ENOUGH_REPLICAS;
    case ErrorCode.PRODUCER_FENCED:
      return ErrorCode.INVALID_PRODUCER_EPOCH;
    default:
      return errorCode;
  }
}
