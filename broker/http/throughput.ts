/**
 * Throughput history for the console's chart: every
 * {@linkcode THROUGHPUT_SAMPLE_MS} the end offset of every topic (summed over
 * its partitions) and its bytes in/out are sampled into a ring of the last
 * {@linkcode THROUGHPUT_SAMPLES_MAX} samples (ten minutes).
 *
 * @module
 */
import type { TopicRegistry } from "../topics.ts";
import type { BrokerMetrics } from "../metrics/broker_metrics.ts";

/** Time between samples. */
export const THROUGHPUT_SAMPLE_MS = 5_000;
/** Samples kept. */
export const THROUGHPUT_SAMPLES_MAX = 120;

/** One sample: cumulative values per topic at `timeMs`. */
export interface ThroughputSample {
  readonly timeMs: number;
  readonly topics: Record<string, { endOffset: number; bytesIn: number; bytesOut: number }>;
}

/** A ring of samples, filled by a timer between {@linkcode start} and {@linkcode stop}. */
export class ThroughputHistory {
  readonly #samples: ThroughputSample[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    readonly topics: TopicRegistry,
    readonly metrics: BrokerMetrics,
    readonly nowMs: () => number,
    /** Runs a timer's sample (the broker's contains its errors; see `util/background.ts`). */
    readonly runContained: (fn: () => void) => void = (fn) => fn(),
  ) {}

  start(): void {
    this.sample();
    this.#timer = setInterval(() => this.runContained(() => this.sample()), THROUGHPUT_SAMPLE_MS);
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Takes a sample now. */
  sample(): void {
    const topics: ThroughputSample["topics"] = {};
    for (const t of this.topics.list()) {
      let endOffset = 0;
      for (const p of t.partitions) endOffset += p.log.highWatermark;
      topics[t.name] = {
        endOffset,
        bytesIn: this.metrics.bytesIn.value({ topic: t.name }),
        bytesOut: this.metrics.bytesOut.value({ topic: t.name }),
      };
    }
    this.#samples.push({ timeMs: this.nowMs(), topics });
    if (this.#samples.length > THROUGHPUT_SAMPLES_MAX) this.#samples.shift();
  }

  /** The samples, oldest first, plus one taken now. */
  snapshot(): ThroughputSample[] {
    this.sample();
    const all = [...this.#samples];
    this.#samples.pop();
    return all;
  }
}
