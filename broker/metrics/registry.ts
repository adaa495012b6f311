/**
 * A small Prometheus registry: labelled counters and histograms that code
 * increments, gauges read at scrape time, and the text exposition format
 * (version 0.0.4).
 *
 * @module
 */

/** Label values by label name. */
export type Labels = Readonly<Record<string, string>>;

/** Latency buckets in seconds (Prometheus' defaults, finer at the low end). */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [
  0.0001,
  0.00025,
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
];

function labelKey(labels: Labels): string {
  return Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join("\u0000");
}

function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"');
}

/** `{a="x",b="y"}`, or "" without labels. */
export function formatLabels(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return "";
  return `{${keys.map((k) => `${k}="${escapeLabel(labels[k])}"`).join(",")}}`;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/** A monotonically increasing count per label set. */
export class Counter {
  readonly #values = new Map<string, { labels: Labels; value: number }>();
  constructor(readonly name: string, readonly help: string) {}

  inc(labels: Labels = {}, by = 1): void {
    const key = labelKey(labels);
    const entry = this.#values.get(key);
    if (entry === undefined) this.#values.set(key, { labels, value: by });
    else entry.value += by;
  }

  /** The current value for `labels` (0 when never incremented). */
  value(labels: Labels = {}): number {
    return this.#values.get(labelKey(labels))?.value ?? 0;
  }

  /** Drops the series whose labels match `match` (a deleted topic's). */
  remove(match: (labels: Labels) => boolean): void {
    for (const [key, entry] of this.#values) if (match(entry.labels)) this.#values.delete(key);
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`);
    for (const { labels, value } of this.#values.values()) {
      out.push(`${this.name}${formatLabels(labels)} ${formatValue(value)}`);
    }
  }
}

interface HistogramSeries {
  readonly labels: Labels;
  readonly bucketCounts: number[];
  count: number;
  sum: number;
}

/** Observations counted into cumulative buckets per label set. */
export class Histogram {
  readonly #series = new Map<string, HistogramSeries>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly bucketsUpper: readonly number[] = LATENCY_BUCKETS_SECONDS,
  ) {}

  observe(value: number, labels: Labels = {}): void {
    const key = labelKey(labels);
    let s = this.#series.get(key);
    if (s === undefined) {
      s = { labels, bucketCounts: this.bucketsUpper.map(() => 0), count: 0, sum: 0 };
      this.#series.set(key, s);
    }
    for (let i = 0; i < this.bucketsUpper.length; i++) {
      if (value <= this.bucketsUpper[i]) s.bucketCounts[i]++;
    }
    s.count++;
    s.sum += value;
  }

  /** Observations so far for `labels`. */
  count(labels: Labels = {}): number {
    return this.#series.get(labelKey(labels))?.count ?? 0;
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    for (const s of this.#series.values()) {
      this.bucketsUpper.forEach((upper, i) => {
        const labels = formatLabels({ ...s.labels, le: String(upper) });
        out.push(`${this.name}_bucket${labels} ${s.bucketCounts[i]}`);
      });
      out.push(`${this.name}_bucket${formatLabels({ ...s.labels, le: "+Inf" })} ${s.count}`);
      out.push(`${this.name}_sum${formatLabels(s.labels)} ${formatValue(s.sum)}`);
      out.push(`${this.name}_count${formatLabels(s.labels)} ${s.count}`);
    }
  }
}

/** One sample of a gauge read at scrape time. */
export interface GaugeSample {
  readonly labels: Labels;
  readonly value: number;
}

/** A value (or values per label set) read when scraped. */
export class Gauge {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly collect: () => GaugeSample[],
    readonly type: "gauge" | "counter" = "gauge",
  ) {}

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`);
    for (const { labels, value } of this.collect()) {
      out.push(`${this.name}${formatLabels(labels)} ${formatValue(value)}`);
    }
  }
}

/** The metrics of one broker, rendered in registration order. */
export class MetricsRegistry {
  readonly #metrics: (Counter | Histogram | Gauge)[] = [];

  counter(name: string, help: string): Counter {
    return this.#add(new Counter(name, help));
  }

  histogram(name: string, help: string, bucketsUpper?: readonly number[]): Histogram {
    return this.#add(new Histogram(name, help, bucketsUpper));
  }

  /** A gauge (or a counter kept elsewhere, `type: "counter"`) read at scrape time. */
  gauge(
    name: string,
    help: string,
    collect: () => GaugeSample[],
    type: "gauge" | "counter" = "gauge",
  ): Gauge {
    return this.#add(new Gauge(name, help, collect, type));
  }

  /** The text exposition format. */
  render(): string {
    const out: string[] = [];
    for (const m of this.#metrics) m.render(out);
    return out.join("\n") + "\n";
  }

  #add<T extends Counter | Histogram | Gauge>(metric: T): T {
    if (this.#metrics.some((m) => m.name === metric.name)) {
      throw new Error(`Metric "${metric.name}" is registered twice.`);
    }
    this.#metrics.push(metric);
    return metric;
  }
}
