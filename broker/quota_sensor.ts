/**
 * A byte rate measured the way Kafka's quota sensors measure it
 * (`org.apache.kafka.common.metrics.stats.Rate` over a `SampledStat`): the
 * total of `windowCount` samples, each `windowSizeMs` long, divided by the
 * time they span, where that span is never taken as shorter than
 * `windowCount - 1` whole samples. A sample older than the whole window is
 * reset before it is read.
 *
 * When a recorded value takes the rate above the quota, the throttle time is
 * Kafka's (`ClientQuotaManager` / `QuotaUtils.throttleTime`):
 * `(rate - quota) / quota * windowMs`, the time the client must stay silent
 * for its rate over the window to come back down to the quota.
 *
 * The samples live in two typed arrays allocated once per sensor: recording
 * allocates nothing.
 *
 * @module
 */
import { assert } from "../util/assert.ts";

/** How a rate is sampled: Kafka's quota.window.num and quota.window.size.seconds. */
export interface QuotaWindow {
  /** Samples kept (quota.window.num, Kafka's default 11). */
  readonly windowCount: number;
  /** Length of one sample (quota.window.size.seconds × 1000, Kafka's default 1000). */
  readonly windowSizeMs: number;
}

/** Kafka's defaults: 11 samples of one second. */
export const KAFKA_QUOTA_WINDOW: QuotaWindow = { windowCount: 11, windowSizeMs: 1000 };

/** Longest throttle reported: throttle_time_ms is an int32 (and so is a timer's delay). */
export const THROTTLE_MS_MAX = 2 ** 31 - 1;

/** One client's rate of one kind (bytes produced, or bytes fetched). */
export class QuotaSensor {
  readonly #windowCount: number;
  readonly #windowSizeMs: number;
  /** Start of each sample (Kafka's `lastWindowMs`). */
  readonly #startMs: Float64Array;
  readonly #value: Float64Array;
  #sampleCount = 0;
  #current = 0;

  constructor(window: QuotaWindow) {
    assert(Number.isInteger(window.windowCount) && window.windowCount >= 1);
    assert(window.windowSizeMs > 0);
    this.#windowCount = window.windowCount;
    this.#windowSizeMs = window.windowSizeMs;
    this.#startMs = new Float64Array(window.windowCount);
    this.#value = new Float64Array(window.windowCount);
  }

  /** Adds `value` to the current sample, starting a new sample when the current one is complete. */
  record(value: number, nowMs: number): void {
    if (this.#sampleCount === 0) {
      this.#sampleCount = 1;
      this.#current = 0;
      this.#reset(0, nowMs);
    } else if (nowMs - this.#startMs[this.#current] >= this.#windowSizeMs) {
      this.#current = (this.#current + 1) % this.#windowCount;
      if (this.#current >= this.#sampleCount) this.#sampleCount = this.#current + 1;
      this.#reset(this.#current, nowMs);
    }
    this.#value[this.#current] += value;
  }

  /** The rate in units per second at `nowMs` (0 before anything was recorded). */
  ratePerSec(nowMs: number): number {
    if (this.#sampleCount === 0) return 0;
    const windowMs = this.windowMs(nowMs);
    return this.#total() / (windowMs / 1000);
  }

  /**
   * The span the rate divides by (Kafka's `Rate.windowSize`): from the start
   * of the oldest live sample to `nowMs`, at least `windowCount - 1` whole
   * samples. Resets samples that have aged out of the window first.
   */
  windowMs(nowMs: number): number {
    this.#purge(nowMs);
    let oldestMs = this.#startMs[0];
    for (let i = 1; i < this.#sampleCount; i++) {
      if (this.#startMs[i] < oldestMs) oldestMs = this.#startMs[i];
    }
    let elapsedMs = nowMs - oldestMs;
    const fullWindows = Math.floor(elapsedMs / this.#windowSizeMs);
    const minFullWindows = this.#windowCount - 1;
    if (fullWindows < minFullWindows) {
      elapsedMs += (minFullWindows - fullWindows) * this.#windowSizeMs;
    }
    return elapsedMs;
  }

  /**
   * Records `value`, then checks the rate against `quotaPerSec`: 0 when it is
   * within the quota, else the throttle time in ms (Kafka's formula, capped
   * at {@linkcode THROTTLE_MS_MAX}).
   */
  recordAndThrottleMs(value: number, quotaPerSec: number, nowMs: number): number {
    assert(quotaPerSec > 0);
    this.record(value, nowMs);
    const windowMs = this.windowMs(nowMs);
    const ratePerSec = this.#total() / (windowMs / 1000);
    if (ratePerSec <= quotaPerSec) return 0;
    const throttleMs = Math.round((ratePerSec - quotaPerSec) / quotaPerSec * windowMs);
    return Math.min(throttleMs, THROTTLE_MS_MAX);
  }

  #total(): number {
    let total = 0;
    for (let i = 0; i < this.#sampleCount; i++) total += this.#value[i];
    return total;
  }

  /** Kafka's `purgeObsoleteSamples`: a sample older than the whole window restarts at `nowMs`. */
  #purge(nowMs: number): void {
    const expireAgeMs = this.#windowCount * this.#windowSizeMs;
    for (let i = 0; i < this.#sampleCount; i++) {
      if (nowMs - this.#startMs[i] >= expireAgeMs) this.#reset(i, nowMs);
    }
  }

  #reset(index: number, nowMs: number): void {
    this.#startMs[index] = nowMs;
    this.#value[index] = 0;
  }
}
