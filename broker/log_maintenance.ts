/**
 * The broker's background log work, on timers and off the produce path:
 * retention (every `log.retention.check.interval.ms`), compaction of
 * `cleanup.policy=compact` topics (same timer, only when a new segment became
 * inactive or a tombstone horizon passed), producer-id expiry
 * (`producer.id.expiration.ms`, one day), and the `flush.ms` policy (checked
 * every second). The clock is injectable for tests; each step can also be
 * run by hand.
 *
 * Nothing here can end the process (see `util/background.ts`): an error in
 * one partition's retention or cleaning is logged and the other partitions go
 * on. A partition whose cleaning fails with anything but an I/O error (which
 * is retried at the next run) is marked *uncleanable*, as Kafka's
 * `LogCleanerManager` does: logged once with the reason, counted in
 * `/metrics` (`denka_log_cleaner_uncleanable_partitions`, Kafka's
 * `uncleanable-partitions-count`), and not cleaned again until the broker
 * restarts. Its records stay readable and appendable; only compaction stops.
 *
 * @module
 */
import { IoError } from "../ffi/port.ts";
import { compactLog } from "../storage/cleaner.ts";
import type { GroupCommit } from "../storage/flusher.ts";
import type { PartitionLog } from "../storage/partition_log.ts";
import { BackgroundTasks, errorText, isAssertionFailure } from "../util/background.ts";
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
  /** Where errors of the timers' runs go (default: one of its own on `logger`). */
  readonly background?: BackgroundTasks;
  /** The cleaner (default {@linkcode compactLog}; tests inject one that fails). */
  readonly compact?: typeof compactLog;
}

/** A partition the cleaner gave up on, with why. */
export interface UncleanablePartition {
  readonly log: PartitionLog;
  readonly reason: string;
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
  /** Logs the cleaner gave up on, with the reason (weak: a deleted topic's logs drop out). */
  readonly #uncleanable = new WeakMap<PartitionLog, string>();
  readonly #background: BackgroundTasks;
  readonly #compact: typeof compactLog;
  #timers: ReturnType<typeof setInterval>[] = [];
  /** The run in progress or queued; it never rejects. */
  #running: Promise<unknown> | undefined;
  /** Kafka's producer.id.expiration.ms; a dynamic broker setting, changed at run time. */
  producerIdExpirationMs: number;

  constructor(topics: TopicRegistry, options: LogMaintenanceOptions) {
    this.#topics = topics;
    this.#options = options;
    this.producerIdExpirationMs = options.producerIdExpirationMs ?? PRODUCER_ID_EXPIRATION_MS;
    this.#background = options.background ?? new BackgroundTasks(options.logger);
    this.#compact = options.compact ?? compactLog;
  }

  /** Starts the timers. */
  start(): void {
    this.#timers.push(
      setInterval(() => {
        if (this.#running !== undefined) return; // a long run is not queued behind again and again
        this.#background.watch("Log maintenance", this.runOnce());
      }, this.#options.retentionCheckIntervalMs),
      setInterval(
        () => this.#background.run("The flush.ms check", () => this.checkFlushPolicy()),
        FLUSH_CHECK_INTERVAL_MS,
      ),
    );
  }

  /** Stops the timers and waits for a run in progress (its errors went to the background tasks). */
  async stop(): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    await this.#running;
  }

  /**
   * Retention, producer expiry, then compaction; runs one after another. Rejects only
   * with a failed assertion: every other error is contained per partition.
   */
  runOnce(): Promise<MaintenanceTotals> {
    const run = async () => {
      const totals = this.runRetention();
      totals.segmentsCompacted = await this.runCleaner();
      return totals;
    };
    const chained = (this.#running ?? Promise.resolve()).then(run);
    // #running never rejects: the caller of runOnce() gets the error (the timer's watcher).
    const settled: Promise<unknown> = chained.catch(() => {}).finally(() => {
      if (this.#running === settled) this.#running = undefined;
    });
    this.#running = settled;
    return chained;
  }

  /** Live partitions the cleaner gave up on (Kafka's `uncleanable-partitions-count` counts them). */
  uncleanablePartitions(): UncleanablePartition[] {
    const out: UncleanablePartition[] = [];
    for (const log of this.#logs()) {
      const reason = this.#uncleanable.get(log);
      if (reason !== undefined) out.push({ log, reason });
    }
    return out;
  }

  /** Deletes segments past retention and expires idle producers in every partition. */
  runRetention(): MaintenanceTotals {
    const nowMs = this.#options.nowMs();
    const totals = { segmentsDeleted: 0, segmentsCompacted: 0, producersExpired: 0 };
    for (const log of this.#logs()) {
      try {
        totals.segmentsDeleted += log.deleteRetentionBreached(nowMs).count;
        totals.producersExpired += log.expireProducers(nowMs, this.producerIdExpirationMs);
      } catch (error) {
        this.#background.failed("Retention", error, log.dir);
      }
    }
    return totals;
  }

  /** Compacts every `cleanup.policy=compact` log with something to clean; returns segments rewritten. */
  async runCleaner(): Promise<number> {
    let rewritten = 0;
    for (const log of this.#logs()) {
      if (!log.config.cleanupCompact || log.isClosed || this.#uncleanable.has(log)) continue;
      const nowMs = this.#options.nowMs();
      const activeBaseOffset = log.activeSegmentBaseOffset;
      const last = this.#cleaned.get(log);
      if (
        last !== undefined && last.activeBaseOffset === activeBaseOffset &&
        nowMs < last.nextHorizonMs
      ) continue;
      try {
        const result = await this.#compact(log, { nowMs });
        if (result.unreadable !== undefined) {
          this.#markUncleanable(log, result.unreadable);
          continue;
        }
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
        this.#cleaningFailed(log, error);
      }
    }
    return rewritten;
  }

  /**
   * Requests a flush of every log whose unflushed data is older than its `flush.ms`, by the
   * broker's clock (the logs' `lastFlushMs` is kept by the same clock).
   */
  checkFlushPolicy(): void {
    const nowMs = this.#options.nowMs();
    for (const log of this.#logs()) {
      const flushMs = log.config.flushMs;
      if (
        Number.isFinite(flushMs) && log.unflushedRecords > 0 &&
        nowMs - log.lastFlushMs >= flushMs
      ) this.#options.flusher.request(log);
    }
  }

  *#logs(): Generator<PartitionLog> {
    for (const topic of this.#topics.list()) {
      for (const p of topic.partitions) if (!p.log.isClosed) yield p.log;
    }
  }

  /** An I/O error is retried at the next run; a failed assertion stops the broker; the rest: uncleanable. */
  #cleaningFailed(log: PartitionLog, error: unknown): void {
    if (error instanceof IoError || isAssertionFailure(error)) {
      this.#background.failed("Compaction", error, log.dir);
      return;
    }
    this.#markUncleanable(log, errorText(error));
  }

  #markUncleanable(log: PartitionLog, reason: string): void {
    this.#uncleanable.set(log, reason);
    this.#options.logger.error(
      `Marked "${log.dir}" uncleanable: its compaction failed with ${reason}. Its records stay readable and appendable; it will not be compacted again until the broker restarts.`,
    );
  }
}
