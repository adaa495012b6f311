/**
 * How transactional requests are refused until Denka has transactions: at
 * once, with an error every client treats as fatal. TRANSACTIONAL_ID_
 * AUTHORIZATION_FAILED is fatal in librdkafka (FindCoordinator, InitProducerId),
 * kafkajs (not retriable: its retrier bails) and the Java client
 * (TransactionalIdAuthorizationException), where the retriable
 * COORDINATOR_NOT_AVAILABLE kept a producer waiting for its whole max.block.ms.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";

/** The error code of every transactional request. */
export const TRANSACTIONS_UNSUPPORTED_ERROR = ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
/** The message, where the response has room for one. */
export const TRANSACTIONS_UNSUPPORTED_MESSAGE =
  "Transactions are not supported by Denka yet: use an idempotent producer without transactional.id.";
