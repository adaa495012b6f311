/**
 * Ending transactions: the PrepareCommit/PrepareAbort write, the markers to
 * every partition of the transaction (through the {@linkcode TxnMarkerChannel},
 * retried after `MARKER_RETRY_BACKOFF_MS` until each partition has its marker
 * or is gone), then the CompleteCommit/CompleteAbort write. A transaction of
 * a fenced or timed-out producer is aborted with the producer's epoch bumped
 * (Kafka's PrepareEpochFence), so the old producer's late requests are refused
 * and its markers outrank them.
 *
 * @module
 */
import { IoError } from "../../ffi/port.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { errorText } from "../../util/background.ts";
import type { TransactionCoordinator } from "./coordinator.ts";
import type { TxnMarkerChannel } from "./marker_channel.ts";
import { MARKER_RETRY_BACKOFF_MS } from "./settings.ts";
import { PRODUCER_EPOCH_MAX, type TxnMetadata } from "./txn_metadata.ts";
import type { TxnTopicPartitions } from "./txn_records.ts";

/** See the module doc. */
export class TxnCompletion {
  readonly #coordinator: TransactionCoordinator;
  readonly #channel: TxnMarkerChannel;
  /** Transactional ids whose markers are being written. */
  readonly #inFlight = new Set<string>();
  #idleWaiters: (() => void)[] = [];
  #closed = false;

  constructor(coordinator: TransactionCoordinator, channel: TxnMarkerChannel) {
    this.#coordinator = coordinator;
    this.#channel = channel;
  }

  /** Writes the Prepare state of an Ongoing transaction, starts its markers; an error code. */
  prepare(meta: TxnMetadata, committed: boolean): number {
    const c = this.#coordinator;
    try {
      c.store(meta, meta.next(committed ? "PrepareCommit" : "PrepareAbort", c.nowMs()));
    } catch (e) {
      if (!(e instanceof IoError)) throw e;
      c.logger.warn(`Cannot store transaction "${meta.transactionalId}": ${e.message}`);
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
    this.sendMarkers(meta);
    return ErrorCode.NONE;
  }

  /**
   * Aborts the Ongoing transaction of `meta` with the epoch bumped (a newer producer
   * fenced it, or it timed out); returns whether the abort was stored.
   */
  fenceAndAbort(meta: TxnMetadata, timedOut: boolean): boolean {
    const c = this.#coordinator;
    const epoch = meta.producerEpoch < PRODUCER_EPOCH_MAX
      ? meta.producerEpoch + 1
      : meta.producerEpoch;
    try {
      c.store(meta, meta.next("PrepareAbort", c.nowMs(), { producerEpoch: epoch }));
    } catch (e) {
      if (!(e instanceof IoError)) throw e;
      c.logger.warn(`Cannot abort transaction "${meta.transactionalId}": ${e.message}`);
      return false;
    }
    meta.timedOut = timedOut;
    if (timedOut) c.counters.timeouts++;
    this.sendMarkers(meta);
    return true;
  }

  /** Sends the markers of a prepared transaction, then completes it (in the background). */
  sendMarkers(meta: TxnMetadata): void {
    if (this.#inFlight.has(meta.transactionalId) || this.#closed) return;
    this.#inFlight.add(meta.transactionalId);
    this.#attempt(meta, meta.partitionList());
  }

  /** Resolves when no markers are being written. */
  idle(): Promise<void> {
    if (this.#inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops retrying; prepared transactions are completed after the next start. */
  close(): void {
    this.#closed = true;
    this.#inFlight.clear();
    this.#wakeIdle();
  }

  #attempt(meta: TxnMetadata, remaining: TxnTopicPartitions[]): void {
    const c = this.#coordinator;
    const committed = meta.state === "PrepareCommit";
    const marker = {
      producerId: meta.producerId,
      producerEpoch: meta.producerEpoch,
      coordinatorEpoch: c.coordinatorEpoch,
      committed,
    };
    this.#channel.send(marker, remaining).then((results) => {
      if (this.#closed) return;
      const failed = new Map<string, number[]>();
      for (const r of results) {
        if (
          r.errorCode === ErrorCode.NONE || r.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        ) {
          continue; // written, or the partition is gone (Kafka drops it too)
        }
        c.logger.warn(
          `Marker of transaction "${meta.transactionalId}" to "${r.topic}"-${r.partition} failed (error ${r.errorCode}); retrying.`,
        );
        failed.set(r.topic, [...(failed.get(r.topic) ?? []), r.partition]);
      }
      if (failed.size > 0) {
        const retry = [...failed].map(([topic, partitions]) => ({ topic, partitions }));
        c.timers.schedule(MARKER_RETRY_BACKOFF_MS, () => this.#attempt(meta, retry));
        return;
      }
      this.#complete(meta, committed);
    }).catch((e) => {
      c.logger.error(`Markers of transaction "${meta.transactionalId}" failed: ${errorText(e)}`);
      c.timers.schedule(MARKER_RETRY_BACKOFF_MS, () => this.#attempt(meta, remaining));
    });
  }

  #complete(meta: TxnMetadata, committed: boolean): void {
    const c = this.#coordinator;
    try {
      c.store(
        meta,
        meta.next(committed ? "CompleteCommit" : "CompleteAbort", c.nowMs(), { partitions: [] }),
      );
    } catch (e) {
      if (!(e instanceof IoError)) throw e;
      c.logger.warn(`Cannot complete transaction "${meta.transactionalId}": ${e.message}`);
      c.timers.schedule(MARKER_RETRY_BACKOFF_MS, () => this.#complete(meta, committed));
      return;
    }
    if (committed) c.counters.commits++;
    else c.counters.aborts++;
    this.#inFlight.delete(meta.transactionalId);
    if (this.#inFlight.size === 0) this.#wakeIdle();
  }

  #wakeIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }
}
