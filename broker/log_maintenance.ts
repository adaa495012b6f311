/**
 * The broker's background log work, on timers and off the produce path:
 * retention (every `log.retention.check.interval.ms`), compaction of
 * `cleanup.policy=compact` topics (same timer, only when a new segment became
 * inactive or a tombstone horizon passed), producer-id expiry
 * (`producer.id.expiration.ms`, one day), and the `flush.ms` policy (checked
 * every second). The clock is injectable for tests; each step can also be
 * run by hand.
 *
 * @module
 */
import { IoError } from "../ffi/port.ts";
import { compactLog } from "../storage/cleaner.ts";
import type { GroupCommit } from "../storage/flusher.ts";
import type { PartitionLog } from "../storage/partition_log.ts";
import type { Logger } from "../util/log.ts";
import type { TopicRegistry } from "./topics.ts";

/** Kafka's `producer.id.expiration.ms` default. */
export const PRODUCER_ID_EXPIRATION_MS = 24 * 60 * 60 * 1000;
/** How often logs with a finite `flush.ms` are checked. */
export const FLUSH_CHECK_INTERVAL_MS = 1000;

/** Options of {@linkcode LogMaintenance}. */
export interface LogMaintenanceOptions {
  readonly retentionCheckIntervalMs: number;
  readonly nowMs: () => number;
  readonly logger: Logger;
  readonly flusher: GroupCommit;
  readonly producerIdExpirationMs?: number;
}

/** Totals of one {@linkcode LogMaintenance.runRetention} or cleaner run. */
export interface MaintenanceTotals {
  segmentsDeleted: number;
  segmentsCompacted: number;
  producersExpired: number;
}

/** See the module doc. */
export class LogMaintenance {
  readonly #topics: TopicRegistry;
  readonly #options: LogMaintenanceOptions;
  /** Per compacted log: the active segment's base offset and the next tombstone horizon at the last run. */
  readonly #cleaned = new WeakMap<
    PartitionLog,
    { activeBaseOffset: number; nextHorizonMs: number }
  >();
  #timers: ReturnType<typeof setInterval>[] = [];
  #running: Promise<unknown> | undefined;

  constructor(topics: TopicRegistry, options: LogMaintenanceOptions) {
    this.#topics = topics;
    this.#options = options;
  }

  /** Starts the timers. */
  start(): void {
    this.#timers.push(
      setInterval(() => void this.runOnce(), this.#options.retentionCheckIntervalMs),
      setInterval(() => this.checkFlushPolicy(), FLUSH_CHECK_INTERVAL_MS),
    );
  }

  /** Stops the timers and waits for a run in progress. */
  async stop(): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    await this.#running;
  }

  /** Retention, producer expiry, then compaction; a run already in progress is joined. */
  runOnce(): Promise<MaintenanceTotals> {
    const run = async () => {
      const totals = this.runRetention();
      totals.segmentsCompacted = await this.runCleaner();
      return totals;
    };
    const chained = (this.#running ?? Promise.resolve()).then(run);
    this.#running = chained.finally(() => {
      if (this.#running === chained) this.#running = undefined;
    });
    return chained;
  }

  /** Deletes segments past retention and expires idle producers in every partition. */
  runRetention(): MaintenanceTotals {
    const nowMs = this.#options.nowMs();
    const totals = { segmentsDeleted: 0, segmentsCompacted: 0, producersExpired: 0 };
    for (const log of this.#logs()) {
      try {
        totals.segmentsDeleted += log.deleteRetentionBreached(nowMs).count;
      } catch (error) {
        this.#failed(log, "Retention", error);
      }
      totals.producersExpired += log.expireProducers(
        nowMs,
        this.#options.producerIdExpirationMs ?? PRODUCER_ID_EXPIRATION_MS,
      );
    }
    return totals;
  }

  /** Compacts every `cleanup.policy=compact` log with something to clean; returns segments rewritten. */
  async runCleaner(): Promise<number> {
    let rewritten = 0;
    for (const log of this.#logs()) {
      if (!log.config.cleanupCompact || log.isClosed) continue;
      const nowMs = this.#options.nowMs();
      const activeBaseOffset = log.activeSegmentBaseOffset;
      const last = this.#cleaned.get(log);
      if (
        last !== undefined && last.activeBaseOffset === activeBaseOffset &&
        nowMs < last.nextHorizonMs
      ) continue;
      try {
        const result = await compactLog(log, { nowMs });
        rewritten += result.segmentsRewritten;
        this.#cleaned.set(log, { activeBaseOffset, nextHorizonMs: result.nextHorizonMs });
        if (result.segmentsRewritten > 0) {
          this.#options.logger.info(
            `Compacted "${log.dir}": ${result.segmentsRewritten} segment(s) rewritten, ${result.recordsRemoved} record(s) and ${result.tombstonesRemoved} tombstone(s) removed${
              result.batchesSkipped > 0
                ? `, ${result.batchesSkipped} snappy/lz4 batch(es) kept whole`
                : ""
            }.`,
          );
        }
      } catch (error) {
        this.#failed(log, "Compaction", error);
      }
    }
    return rewritten;
  }

  /** Requests a flush of every log whose unflushed data is older than its `flush.ms`. */
  checkFlushPolicy(): void {
    for (const log of this.#logs()) {
      const flushMs = log.config.flushMs;
      if (
        Number.isFinite(flushMs) && log.unflushedRecords > 0 &&
        Date.now() - log.lastFlushMs >= flushMs
      ) this.#options.flusher.request(log);
    }
  }

  *#logs(): Generator<PartitionLog> {
    for (const topic of this.#topics.list()) {
      for (const p of topic.partitions) if (!p.log.isClosed) yield p.log;
    }
  }

  #failed(log: PartitionLog, what: string, error: unknown): void {
    if (!(error instanceof IoError)) throw error;
    this.#options.logger.error(`${what} of "${log.dir}" failed: ${error.message}`);
  }
}
