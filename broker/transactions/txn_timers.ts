/**
 * The coordinator's periodic work, on Kafka's intervals: aborting
 * transactions open longer than their `transaction.timeout.ms`
 * (`transaction.abort.timed.out.transaction.cleanup.interval.ms`), and
 * forgetting transactional ids idle for `transactional.id.expiration.ms`
 * (`transaction.remove.expired.transaction.cleanup.interval.ms`) with a
 * tombstone in `__transaction_state`.
 *
 * @module
 */
import { IoError } from "../../ffi/port.ts";
import type { TransactionCoordinator } from "./coordinator.ts";
import { isComplete } from "./txn_state.ts";

/** Starts both periodic tasks on the coordinator's timers. */
export function scheduleTxnTimers(coordinator: TransactionCoordinator): void {
  const s = coordinator.settings;
  const every = (intervalMs: number, fn: () => void) => {
    const tick = () => {
      coordinator.timers.schedule(intervalMs, tick); // first: a failed run must not end the runs
      fn();
    };
    coordinator.timers.schedule(intervalMs, tick);
  };
  every(s.abortTimedOutTransactionCleanupIntervalMs, () => abortTimedOut(coordinator));
  every(s.removeExpiredTransactionalIdCleanupIntervalMs, () => removeExpired(coordinator));
}

/** Aborts every Ongoing transaction past its timeout; returns how many. */
export function abortTimedOut(coordinator: TransactionCoordinator): number {
  const nowMs = coordinator.nowMs();
  let count = 0;
  for (const meta of [...coordinator.all()]) {
    if (meta.state !== "Ongoing") continue;
    if (meta.startTimestampMs + meta.transactionTimeoutMs > nowMs) continue;
    coordinator.logger.info(
      `Aborting transaction "${meta.transactionalId}": open longer than its timeout of ${meta.transactionTimeoutMs} ms.`,
    );
    if (coordinator.abortForTimeout(meta)) count++;
  }
  return count;
}

/** Forgets every id with no open transaction idle for transactional.id.expiration.ms. */
export function removeExpired(coordinator: TransactionCoordinator): number {
  const nowMs = coordinator.nowMs();
  const expirationMs = coordinator.settings.transactionalIdExpirationMs;
  let count = 0;
  for (const meta of [...coordinator.all()]) {
    if (!isComplete(meta.state) || meta.lastUpdateTimestampMs + expirationMs > nowMs) continue;
    try {
      coordinator.store(meta, null);
      count++;
    } catch (e) {
      if (!(e instanceof IoError)) throw e;
      coordinator.logger.warn(
        `Cannot expire transactional id "${meta.transactionalId}": ${e.message}`,
      );
    }
  }
  return count;
}
