/**
 * Turns the cells of a run into medians, same-round ratios, the issue's
 * targets (met or not), and a markdown table.
 *
 * A ratio is computed inside each round (both figures taken minutes apart at
 * most, on the same noisy machine) and then summarised over rounds as
 * median (min-max).
 *
 * @module
 */
import type { Cell } from "./workloads.ts";

/** Median and range of a list of figures. */
export interface Stat {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

function stat(values: readonly number[]): Stat | undefined {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { median, min: v[0], max: v[v.length - 1], n: v.length };
}

type Field = keyof Cell | "idleCpuCores" | "idleRssBytes";

function pick(
  cells: readonly Cell[],
  workload: string,
  variant: string,
  field: Field,
): Stat | undefined {
  return stat(
    cells.filter((c) => c.workload === workload && c.variant === variant)
      .map((c) => (c as unknown as Record<string, number>)[field]),
  );
}

/** Per-round ratio a/b of `field` between two (workload, variant) cells. */
function ratio(
  cells: readonly Cell[],
  a: [string, string],
  b: [string, string],
  field: Field = "bytesPerSec",
): Stat | undefined {
  const rounds = [...new Set(cells.map((c) => c.round))];
  const values: number[] = [];
  for (const r of rounds) {
    const find = ([w, v]: [string, string]) =>
      cells.find((c) => c.round === r && c.workload === w && c.variant === v) as
        | Record<string, number>
        | undefined;
    const x = find(a)?.[field];
    const y = find(b)?.[field];
    if (x !== undefined && y !== undefined && y !== 0) values.push(x / y);
  }
  return stat(values);
}

/** One line of the targets table. */
export interface TargetLine {
  readonly name: string;
  readonly target: string;
  readonly figure: Stat | undefined;
  readonly unit: string;
  readonly met: boolean | undefined;
}

/** One workload of a `--compare` run: both sides' figures and Denka / target per round. */
export interface ComparisonLine {
  readonly workload: string;
  /** Denka's variant name (`deno/pwrite/sendfile`). */
  readonly denka: string;
  readonly bytesPerSec: { denka?: Stat; target?: Stat; ratio?: Stat };
  /** Latency workloads only. */
  readonly p50Ms?: { denka?: Stat; target?: Stat; ratio?: Stat };
  readonly p99Ms?: { denka?: Stat; target?: Stat; ratio?: Stat };
}

/** Everything the markdown needs. */
export interface Summary {
  readonly rows: { workload: string; variant: string; stats: Partial<Record<Field, Stat>> }[];
  readonly ratios: { name: string; figure: Stat | undefined }[];
  readonly targets: TargetLine[];
  /** `--compare` runs: Denka / target per workload (empty otherwise). */
  readonly comparison: ComparisonLine[];
}

/** The variant name of the broker `--target` / `--compare` point at. */
export const TARGET_VARIANT = "target";

/** Denka / target per workload that ran on both, ratios taken inside each round. */
export function compareWithTarget(cells: readonly Cell[]): ComparisonLine[] {
  const workloads = [
    ...new Set(cells.filter((c) => c.variant === TARGET_VARIANT).map((c) => c.workload)),
  ];
  const lines: ComparisonLine[] = [];
  for (const workload of workloads) {
    const denka = cells.find((c) => c.workload === workload && c.variant !== TARGET_VARIANT)
      ?.variant;
    if (denka === undefined) continue;
    const both = (field: Field) => ({
      denka: pick(cells, workload, denka, field),
      target: pick(cells, workload, TARGET_VARIANT, field),
      ratio: ratio(cells, [workload, denka], [workload, TARGET_VARIANT], field),
    });
    const latency = cells.some((c) => c.workload === workload && c.p99Ms !== undefined);
    lines.push({
      workload,
      denka,
      bytesPerSec: both("bytesPerSec"),
      ...(latency ? { p50Ms: both("p50Ms"), p99Ms: both("p99Ms") } : {}),
    });
  }
  return lines;
}

const ROW_FIELDS: Field[] = [
  "bytesPerSec",
  "recordsPerSec",
  "cpuSecPerGB",
  "cpuCores",
  "peakRssBytes",
  "rssBytes",
  "sendfileBytes",
  "copyBytes",
  "sendfileCalls",
  "wouldBlock",
  "p50Ms",
  "p99Ms",
  "p999Ms",
  "startupMs",
  "brokerStartupMs",
  "idleCpuCores",
  "idleRssBytes",
];

/** Medians per (workload, variant), same-round ratios, and the targets. */
export function summarize(cells: readonly Cell[]): Summary {
  const keys = [...new Set(cells.map((c) => `${c.workload}|${c.variant}`))];
  const rows = keys.map((k) => {
    const [workload, variant] = k.split("|");
    const stats: Partial<Record<Field, Stat>> = {};
    for (const f of ROW_FIELDS) {
      const s = pick(cells, workload, variant, f);
      if (s !== undefined) stats[f] = s;
    }
    return { workload, variant, stats };
  });
  const D = "deno/pwrite/sendfile";
  const B = "bun/pwrite/sendfile";
  const ratios = [
    {
      name: "w1 produce 1 KiB, deno / ingest ceiling",
      figure: ratio(cells, ["w1-produce-1k", D], ["ceiling-ingest", "js"]),
    },
    {
      name: "w1 produce 1 KiB, bun / ingest ceiling",
      figure: ratio(cells, ["w1-produce-1k", B], ["ceiling-ingest", "js"]),
    },
    {
      name: "w1 produce, load generator sink / deno broker",
      figure: ratio(cells, ["ceiling-sink-produce-1k", "loadgen"], ["w1-produce-1k", D]),
    },
    {
      name: "w2 50 producers, load generator sink / deno broker",
      figure: ratio(cells, ["ceiling-sink-produce-50", "loadgen"], ["w2-produce-50", D]),
    },
    {
      name: "CRC-32C: ISA-L (FFI) / JS",
      figure: ratio(cells, ["ceiling-crc32c", "isa-l"], ["ceiling-crc32c", "js"]),
    },
    {
      name: "w1 produce, deno: hardware CRC / JS CRC (MB/s)",
      figure: ratio(cells, ["w1-produce-1k", D], ["w1-produce-1k", `${D}+js-crc`]),
    },
    {
      name: "w1 produce, deno: hardware CRC / JS CRC (broker CPU s/GB)",
      figure: ratio(cells, ["w1-produce-1k", D], ["w1-produce-1k", `${D}+js-crc`], "cpuSecPerGB"),
    },
    {
      name: "w2 100-byte records, deno: hardware CRC / JS CRC (MB/s)",
      figure: ratio(cells, ["w2-produce-100b", D], ["w2-produce-100b", `${D}+js-crc`]),
    },
    {
      name: "w2 50 producers, deno: hardware CRC / JS CRC (MB/s)",
      figure: ratio(cells, ["w2-produce-50", D], ["w2-produce-50", `${D}+js-crc`]),
    },
    {
      name: "w1 produce, deno: mmap / pwrite",
      figure: ratio(cells, ["w1-produce-1k", "deno/mmap/sendfile"], ["w1-produce-1k", D]),
    },
    {
      name: "w1 produce, bun: mmap / pwrite",
      figure: ratio(cells, ["w1-produce-1k", "bun/mmap/sendfile"], ["w1-produce-1k", B]),
    },
    {
      name: "w1 produce, bun / deno (pwrite)",
      figure: ratio(cells, ["w1-produce-1k", B], ["w1-produce-1k", D]),
    },
    {
      name: "w4 consume 1, deno / loopback ceiling",
      figure: ratio(cells, ["w4-consume-1", D], ["ceiling-loopback", "js"]),
    },
    {
      name: "w4 consume 1, bun / loopback ceiling",
      figure: ratio(cells, ["w4-consume-1", B], ["ceiling-loopback", "js"]),
    },
    {
      name: "w4 consume 1, deno: sendfile / copy",
      figure: ratio(cells, ["w4-consume-1", D], ["w4-consume-1", "deno/pwrite/copy"]),
    },
    {
      name: "w4 consume 1, bun: sendfile / copy",
      figure: ratio(cells, ["w4-consume-1", B], ["w4-consume-1", "bun/pwrite/copy"]),
    },
    {
      name: "w4 consume 4, deno: sendfile / copy",
      figure: ratio(cells, ["w4-consume-4", D], ["w4-consume-4", "deno/pwrite/copy"]),
    },
    {
      name: "w4 consume 1, bun / deno (sendfile)",
      figure: ratio(cells, ["w4-consume-1", B], ["w4-consume-1", D]),
    },
    {
      name: "w3 acks=all / acks=1 (sync flush), deno",
      figure: ratio(cells, ["w3-sync-acks-all", D], ["w3-sync-acks-1", D]),
    },
    {
      name: "w3 acks=all (sync) / w1 acks=1, deno",
      figure: ratio(cells, ["w3-sync-acks-all", D], ["w1-produce-1k", D]),
    },
    {
      name: "w3 acks=all (sync) / w1 acks=1, bun",
      figure: ratio(cells, ["w3-sync-acks-all", B], ["w1-produce-1k", B]),
    },
    {
      name: "w3 acks=all (sync), deno / disk sync ceiling",
      figure: ratio(cells, ["w3-sync-acks-all", D], ["ceiling-sync-64k", "js"]),
    },
    {
      name: "w3 acks=all (sync), bun / disk sync ceiling",
      figure: ratio(cells, ["w3-sync-acks-all", B], ["ceiling-sync-64k", "js"]),
    },
    {
      name: "w5 latency p99 at 50 MB/s, deno / echo ceiling p99",
      figure: ratio(cells, ["w5-latency-50MBps", D], ["ceiling-echo-50MBps", "js"], "p99Ms"),
    },
    {
      name: "w5 latency p99 at 50 MB/s, bun / echo ceiling p99",
      figure: ratio(cells, ["w5-latency-50MBps", B], ["ceiling-echo-50MBps", "js"], "p99Ms"),
    },
    {
      name: "disk sync ceiling (64 KiB × 16) / w1 acks=1, deno",
      figure: ratio(cells, ["ceiling-sync-64k", "js"], ["w1-produce-1k", D]),
    },
  ];
  const r = (name: string) => ratios.find((x) => x.name === name)?.figure;
  const within = (s: Stat | undefined, lo: number, hi: number) =>
    s === undefined ? undefined : s.median >= lo && s.median <= hi;
  const atLeast = (s: Stat | undefined, lo: number) => s === undefined ? undefined : s.median >= lo;
  const atMost = (s: Stat | undefined, hi: number) => s === undefined ? undefined : s.median <= hi;
  const row = (w: string, v: string, f: Field) =>
    rows.find((x) => x.workload === w && x.variant === v)?.stats[f];
  const MB = 1e6;
  const scaled = (s: Stat | undefined, k: number): Stat | undefined =>
    s === undefined ? undefined : { median: s.median / k, min: s.min / k, max: s.max / k, n: s.n };
  const line = (
    name: string,
    target: string,
    figure: Stat | undefined,
    unit: string,
    met: boolean | undefined,
  ) => ({ name, target, figure, unit, met });
  const targets: TargetLine[] = [
    line(
      "Consume, 1 consumer, deno (ratio to loopback)",
      "≥ 0.60",
      r("w4 consume 1, deno / loopback ceiling"),
      "",
      atLeast(r("w4 consume 1, deno / loopback ceiling"), 0.6),
    ),
    line(
      "Consume, 1 consumer, bun (ratio to loopback)",
      "≥ 0.60",
      r("w4 consume 1, bun / loopback ceiling"),
      "",
      atLeast(r("w4 consume 1, bun / loopback ceiling"), 0.6),
    ),
    line(
      "Produce 1 KiB acks=1, deno (ratio to ingest)",
      "≥ 0.50",
      r("w1 produce 1 KiB, deno / ingest ceiling"),
      "",
      atLeast(r("w1 produce 1 KiB, deno / ingest ceiling"), 0.5),
    ),
    line(
      "Produce 1 KiB acks=1, bun (ratio to ingest)",
      "≥ 0.50",
      r("w1 produce 1 KiB, bun / ingest ceiling"),
      "",
      atLeast(r("w1 produce 1 KiB, bun / ingest ceiling"), 0.5),
    ),
    line(
      "Produce 100-byte records, deno",
      "≥ 1.5 M/s",
      scaled(row("w2-produce-100b", D, "recordsPerSec"), 1e6),
      "M rec/s",
      atLeast(scaled(row("w2-produce-100b", D, "recordsPerSec"), 1e6), 1.5),
    ),
    line(
      "Produce 100-byte records, bun",
      "≥ 1.5 M/s",
      scaled(row("w2-produce-100b", B, "recordsPerSec"), 1e6),
      "M rec/s",
      atLeast(scaled(row("w2-produce-100b", B, "recordsPerSec"), 1e6), 1.5),
    ),
    line(
      "acks=all sync / acks=1, 16 producers, deno",
      "≥ 0.25",
      r("w3 acks=all (sync) / w1 acks=1, deno"),
      "",
      atLeast(r("w3 acks=all (sync) / w1 acks=1, deno"), 0.25),
    ),
    line(
      "E2E latency p99 at 50 MB/s, deno",
      "≤ 5 ms",
      row("w5-latency-50MBps", D, "p99Ms"),
      "ms",
      atMost(row("w5-latency-50MBps", D, "p99Ms"), 5),
    ),
    line(
      "E2E latency p99.9 at 50 MB/s, deno",
      "≤ 20 ms",
      row("w5-latency-50MBps", D, "p999Ms"),
      "ms",
      atMost(row("w5-latency-50MBps", D, "p999Ms"), 20),
    ),
    line(
      "E2E latency p99 at 50 MB/s, bun",
      "≤ 5 ms",
      row("w5-latency-50MBps", B, "p99Ms"),
      "ms",
      atMost(row("w5-latency-50MBps", B, "p99Ms"), 5),
    ),
    line(
      "E2E latency p99.9 at 50 MB/s, bun",
      "≤ 20 ms",
      row("w5-latency-50MBps", B, "p999Ms"),
      "ms",
      atMost(row("w5-latency-50MBps", B, "p999Ms"), 20),
    ),
    line(
      "Broker CPU per GB fetched, deno sendfile",
      "≤ 0.5 s",
      row("w4-consume-1", D, "cpuSecPerGB"),
      "s/GB",
      atMost(row("w4-consume-1", D, "cpuSecPerGB"), 0.5),
    ),
    line(
      "Broker CPU per GB fetched, bun sendfile",
      "≤ 0.5 s",
      row("w4-consume-1", B, "cpuSecPerGB"),
      "s/GB",
      atMost(row("w4-consume-1", B, "cpuSecPerGB"), 0.5),
    ),
    line(
      "Idle RSS, empty, deno",
      "≤ 80 MB",
      scaled(row("w7-startup-empty", D, "rssBytes"), MB),
      "MB",
      atMost(scaled(row("w7-startup-empty", D, "rssBytes"), MB), 80),
    ),
    line(
      "Idle RSS, empty, bun",
      "≤ 80 MB",
      scaled(row("w7-startup-empty", B, "rssBytes"), MB),
      "MB",
      atMost(scaled(row("w7-startup-empty", B, "rssBytes"), MB), 80),
    ),
    line(
      "Peak RSS, 1,000 partitions under load, deno",
      "≤ 250 MB",
      scaled(row("w6-1000-partitions", D, "peakRssBytes"), MB),
      "MB",
      atMost(scaled(row("w6-1000-partitions", D, "peakRssBytes"), MB), 250),
    ),
    line(
      "Peak RSS, 1,000 partitions under load, bun",
      "≤ 250 MB",
      scaled(row("w6-1000-partitions", B, "peakRssBytes"), MB),
      "MB",
      atMost(scaled(row("w6-1000-partitions", B, "peakRssBytes"), MB), 250),
    ),
    line(
      "Start-up, empty, deno (spawn to listening)",
      "≤ 300 ms",
      row("w7-startup-empty", D, "startupMs"),
      "ms",
      atMost(row("w7-startup-empty", D, "startupMs"), 300),
    ),
    line(
      "Start-up, empty, bun (spawn to listening)",
      "≤ 300 ms",
      row("w7-startup-empty", B, "startupMs"),
      "ms",
      atMost(row("w7-startup-empty", B, "startupMs"), 300),
    ),
    line(
      "Start-up with data, deno (spawn to listening)",
      "≤ 2000 ms",
      row("w7-startup-data", D, "startupMs"),
      "ms",
      atMost(row("w7-startup-data", D, "startupMs"), 2000),
    ),
    line(
      "Start-up with data, bun (spawn to listening)",
      "≤ 2000 ms",
      row("w7-startup-data", B, "startupMs"),
      "ms",
      atMost(row("w7-startup-data", B, "startupMs"), 2000),
    ),
    line(
      "Deno vs Bun, produce (bun / deno)",
      "0.85-1.15",
      r("w1 produce, bun / deno (pwrite)"),
      "",
      within(r("w1 produce, bun / deno (pwrite)"), 0.85, 1.15),
    ),
    line(
      "Deno vs Bun, consume (bun / deno)",
      "0.85-1.15",
      r("w4 consume 1, bun / deno (sendfile)"),
      "",
      within(r("w4 consume 1, bun / deno (sendfile)"), 0.85, 1.15),
    ),
    line(
      "Zero-copy: sendfile / copy, 1 consumer, deno",
      "≥ 1.00",
      r("w4 consume 1, deno: sendfile / copy"),
      "",
      atLeast(r("w4 consume 1, deno: sendfile / copy"), 1),
    ),
    line(
      "Zero-copy: sendfile / copy, 1 consumer, bun",
      "≥ 1.00",
      r("w4 consume 1, bun: sendfile / copy"),
      "",
      atLeast(r("w4 consume 1, bun: sendfile / copy"), 1),
    ),
  ];
  return { rows, ratios, targets, comparison: compareWithTarget(cells) };
}

function fmt(s: Stat | undefined, digits = 2, k = 1): string {
  if (s === undefined) return "–";
  const f = (x: number) => (x / k).toFixed(digits);
  return s.n > 1 ? `${f(s.median)} (${f(s.min)}–${f(s.max)})` : f(s.median);
}

function renderComparison(out: string[], lines: readonly ComparisonLine[]): void {
  if (lines.length === 0) return;
  out.push(
    "",
    "## Denka / target",
    "",
    "Ratios are taken inside each round (above 1: Denka moved more MB/s, or had the higher latency).",
    "",
    "| workload | Denka MB/s | target MB/s | Denka / target MB/s | Denka p50 / p99 ms | target p50 / p99 ms | Denka / target p99 |",
    "|---|---|---|---|---|---|---|",
  );
  for (const l of lines) {
    const lat = (side: "denka" | "target") =>
      l.p99Ms === undefined ? "" : `${fmt(l.p50Ms?.[side])} / ${fmt(l.p99Ms[side])}`;
    out.push(
      `| ${l.workload} | ${fmt(l.bytesPerSec.denka, 0, 1e6)} | ${
        fmt(l.bytesPerSec.target, 0, 1e6)
      } | ${fmt(l.bytesPerSec.ratio)} | ${lat("denka")} | ${lat("target")} | ${
        l.p99Ms === undefined ? "" : fmt(l.p99Ms.ratio)
      } |`,
    );
  }
}

/** The run as markdown: machine, targets, ratios, every workload. */
export function renderMarkdown(report: {
  startedAt: string;
  durationSec: number;
  options: { quick: boolean; rounds: number; target: string | null; compare?: string | null };
  machine: Record<string, string>;
  notes: string[];
  summary: Summary;
}): string {
  const { summary, machine, options } = report;
  const out: string[] = [];
  out.push(`# Denka benchmark, ${report.startedAt}`);
  out.push("");
  out.push(
    `${
      options.quick ? "Quick" : "Full"
    } run, ${options.rounds} measured round(s) after a discarded warm-up, ` +
      `${report.durationSec.toFixed(0)} s${options.target ? `, against ${options.target}` : ""}${
        options.compare ? `, Denka compared with ${options.compare}` : ""
      }. ` +
      `Machine: ${machine.cpu}, ${machine.memory}, Linux ${machine.kernel}, Deno ${machine.deno}; ` +
      `load average ${machine.loadAverageAtStart} at start, ${machine.loadAverageAtEnd} at end. ` +
      "Cells: median (min–max) over rounds; ratios are taken inside each round.",
  );
  for (const n of report.notes) out.push("", `> ${n}`);
  // The issue's targets are about the broker suite, not a client run against a target.
  const clientRun = Boolean(options.target) || Boolean(options.compare);
  if (!clientRun && summary.targets.some((t) => t.figure !== undefined)) {
    out.push("", "## Targets", "", "| target | goal | measured | met |", "|---|---|---|---|");
    for (const t of summary.targets) {
      const met = t.met === undefined ? "not measured" : t.met ? "yes" : "**no**";
      out.push(`| ${t.name} | ${t.target} | ${fmt(t.figure)} ${t.unit} | ${met} |`);
    }
  }
  renderComparison(out, summary.comparison ?? []);
  if (summary.ratios.some((r) => r.figure !== undefined)) {
    out.push("", "## Same-round ratios", "", "| ratio | median (min–max) |", "|---|---|");
    for (const r of summary.ratios) {
      if (r.figure !== undefined) out.push(`| ${r.name} | ${fmt(r.figure)} |`);
    }
  }
  out.push(
    "",
    "## Workloads",
    "",
    "| workload | broker (runtime/writer/fetch) | MB/s | M records/s | broker CPU s/GB | broker cores | peak RSS MB | sendfile / copy MB | p50 / p99 / p99.9 ms |",
    "|---|---|---|---|---|---|---|---|---|",
  );
  for (const r of summary.rows) {
    if (r.workload.startsWith("w7")) continue;
    const s = r.stats;
    const moved = (s.sendfileBytes?.median ?? 0) + (s.copyBytes?.median ?? 0) > 0
      ? `${fmt(s.sendfileBytes, 0, 1e6)} / ${fmt(s.copyBytes, 0, 1e6)}`
      : "";
    const lat = s.p99Ms ? `${fmt(s.p50Ms)} / ${fmt(s.p99Ms)} / ${fmt(s.p999Ms)}` : "";
    out.push(
      `| ${r.workload} | ${r.variant} | ${fmt(s.bytesPerSec, 0, 1e6)} | ${
        fmt(s.recordsPerSec, 2, 1e6)
      } | ${fmt(s.cpuSecPerGB)} | ${fmt(s.cpuCores)} | ${
        fmt(s.peakRssBytes, 0, 1e6)
      } | ${moved} | ${lat} |`,
    );
  }
  const idle = summary.rows.filter((r) => r.workload.startsWith("w7") || r.stats.idleRssBytes);
  if (idle.length > 0) {
    out.push(
      "",
      "## Start-up and idle",
      "",
      "| case | runtime | spawn to listening ms | broker's own start ms | idle RSS MB | idle CPU cores |",
      "|---|---|---|---|---|---|",
    );
    for (const r of idle) {
      const s = r.stats;
      out.push(
        `| ${r.workload} | ${r.variant} | ${fmt(s.startupMs, 0)} | ${fmt(s.brokerStartupMs, 1)} | ${
          fmt(s.idleRssBytes ?? s.rssBytes, 0, 1e6)
        } | ${fmt(s.idleCpuCores, 3)} |`,
      );
    }
  }
  return out.join("\n") + "\n";
}
