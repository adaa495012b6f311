/**
 * The transaction coordinator's settings, with Kafka's names and defaults.
 *
 * @module
 */

/** See the module doc. */
export interface TxnSettings {
  /** transaction.max.timeout.ms: the largest transaction.timeout.ms a producer may ask for. */
  readonly transactionMaxTimeoutMs: number;
  /** transaction.abort.timed.out.transaction.cleanup.interval.ms. */
  readonly abortTimedOutTransactionCleanupIntervalMs: number;
  /** transactional.id.expiration.ms: an idle transactional id is forgotten after this. */
  readonly transactionalIdExpirationMs: number;
  /** transaction.remove.expired.transaction.cleanup.interval.ms. */
  readonly removeExpiredTransactionalIdCleanupIntervalMs: number;
  /** transaction.state.log.num.partitions. */
  readonly stateLogPartitionCount: number;
  /** offsets.topic.num.partitions: which `__consumer_offsets` partition a group's offsets are in. */
  readonly offsetsTopicPartitionCount: number;
}

/** Kafka's defaults. */
export const TXN_SETTINGS_DEFAULT: TxnSettings = {
  transactionMaxTimeoutMs: 900_000,
  abortTimedOutTransactionCleanupIntervalMs: 10_000,
  transactionalIdExpirationMs: 604_800_000,
  removeExpiredTransactionalIdCleanupIntervalMs: 3_600_000,
  stateLogPartitionCount: 50,
  offsetsTopicPartitionCount: 50,
};

/** Wait before a marker that failed is sent again (Kafka's retry.backoff.ms). */
export const MARKER_RETRY_BACKOFF_MS = 100;
