/**
 * The tables of `bench/cluster.ts`: replicated produce against one broker,
 * follower catch-up, and failover times against the goal (the lease TTL, i.e.
 * `broker.session.timeout.ms`, plus one second), with the surviving brokers'
 * log lines for the slowest kill of each setting.
 *
 * @module
 */
import type { BrokerVariant } from "./broker_proc.ts";
import type { CatchUpResult } from "./cluster_catchup.ts";
import type { FailoverSample } from "./cluster_failover.ts";

/** What failover may take beyond the lease TTL (issue 13's goal). */
export const FAILOVER_SLACK_MS = 1000;

/** One produce measurement. */
export interface ProduceCell {
  readonly setup: "single acks=1" | "cluster rf=3 acks=all";
  /** 1..rounds (each after the same warm-up window). */
  readonly round: number;
  readonly recordBytes: number;
  readonly bytesPerSec: number;
  /** Produce request to acknowledgement, over every request of the window. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Broker CPU seconds (user + system, summed over every broker) per GB acknowledged. */
  readonly cpuSecPerGB: number;
  /** Broker CPU seconds per wall second, summed over every broker. */
  readonly cpuCores: number;
  /** Broker CPU per wall second over a window without load, before the warm-up. */
  readonly idleCores: number;
  readonly errors: number;
}

/** Everything one run measured (the JSON file). */
export interface ClusterResults {
  readonly startedAt: string;
  readonly flags: Record<string, unknown>;
  readonly scale: {
    produceMs: number;
    rounds: number;
    warmupMs: number;
    kills: number;
    catchUpBytes: number;
    shortSessionMs: number;
  };
  readonly variant: BrokerVariant;
  readonly produce: ProduceCell[];
  readonly catchUp: CatchUpResult;
  readonly failover: { sessionTimeoutMs: number; samples: FailoverSample[] }[];
  readonly loadAverage: number[];
  /** Brokers that had to be SIGKILLed at the end of a cluster, with their last log lines. */
  readonly notes: string[];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function spread(values: number[], digits = 0): string {
  if (values.length === 0) return "–";
  const m = median(values).toFixed(digits);
  if (values.length < 2) return m;
  return `${m} (${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)})`;
}

function sizeName(bytes: number): string {
  return bytes >= 1024 ? `${bytes / 1024} KiB` : `${bytes} B`;
}

const SETUPS: ProduceCell["setup"][] = ["single acks=1", "cluster rf=3 acks=all"];

/** Copies of each acknowledged byte written to the (one, shared) disk. */
function copiesOf(setup: ProduceCell["setup"]): number {
  return setup === "single acks=1" ? 1 : 3;
}

function produceTable(cells: ProduceCell[]): string {
  const lines = [
    "| records | setup | MB/s | log writes MB/s | p50 ms | p99 ms | broker CPU s/GB | broker cores | idle cores | errors |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  const sizes = [...new Set(cells.map((c) => c.recordBytes))];
  const of = (size: number, setup: string) =>
    cells.filter((c) => c.recordBytes === size && c.setup === setup);
  for (const size of sizes) {
    for (const setup of SETUPS) {
      const cs = of(size, setup);
      if (cs.length === 0) continue;
      lines.push(
        `| ${sizeName(size)} | ${setup} | ${spread(cs.map((c) => c.bytesPerSec / 1e6))} | ${
          spread(cs.map((c) => c.bytesPerSec * copiesOf(setup) / 1e6))
        } | ${spread(cs.map((c) => c.p50Ms), 1)} | ${spread(cs.map((c) => c.p99Ms), 1)} | ${
          spread(cs.map((c) => c.cpuSecPerGB), 2)
        } | ${spread(cs.map((c) => c.cpuCores), 2)} | ${cs[0].idleCores?.toFixed(2) ?? "–"} | ${
          cs.reduce((a, c) => a + c.errors, 0)
        } |`,
      );
    }
  }
  lines.push(
    "",
    "| records | cluster / single: MB/s | broker CPU s/GB | p99 |",
    "| --- | --- | --- | --- |",
  );
  for (const size of sizes) {
    const [single, cluster] = SETUPS.map((setup) => of(size, setup));
    if (single.length === 0 || cluster.length === 0) continue;
    const ratio = (f: (c: ProduceCell) => number) =>
      (median(cluster.map(f)) / median(single.map(f))).toFixed(2);
    lines.push(
      `| ${sizeName(size)} | ${ratio((c) => c.bytesPerSec)} | ${ratio((c) => c.cpuSecPerGB)} | ${
        ratio((c) => c.p99Ms)
      } |`,
    );
  }
  return lines.join("\n");
}

function catchUpTable(r: CatchUpResult): string {
  return [
    "| follower | copied MiB | seconds | MB/s | first byte ms | follower CPU s/GB | leaders CPU s/GB | fill MB/s (acks=1, 2 brokers) |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
    `| ${r.follower} | ${(r.bytes / 2 ** 20).toFixed(0)} | ${r.seconds.toFixed(2)} | ${
      (r.bytesPerSec / 1e6).toFixed(0)
    } | ${r.firstByteMs.toFixed(0)} | ${r.followerCpuSecPerGB.toFixed(2)} | ${
      r.leadersCpuSecPerGB.toFixed(2)
    } | ${(r.fillBytesPerSec / 1e6).toFixed(0)} |`,
  ].join("\n");
}

function failoverTable(runs: ClusterResults["failover"]): string {
  const lines = [
    "| session timeout ms | kills | kill → metadata names successor, ms | kill → first ack by successor, ms | goal ms | kills within goal | controller killed |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const run of runs) {
    const goalMs = run.sessionTimeoutMs + FAILOVER_SLACK_MS;
    const s = run.samples;
    lines.push(
      `| ${run.sessionTimeoutMs} | ${s.length} | ${spread(s.map((x) => x.electionMs))} | ${
        spread(s.map((x) => x.failoverMs))
      } | ${goalMs} | ${s.filter((x) => x.failoverMs <= goalMs).length} | ${
        s.filter((x) => x.killedWasController).length
      } |`,
    );
  }
  lines.push("", "Every kill (ms): ");
  for (const run of runs) {
    lines.push(
      `- ${run.sessionTimeoutMs} ms: ` +
        run.samples.map((x) =>
          `${x.killedNode}${x.killedWasController ? "(c)" : ""}→${x.newLeader} ${
            x.failoverMs.toFixed(0)
          }`
        ).join(", "),
    );
  }
  return lines.join("\n");
}

/** The slowest kill of each setting, with the survivors' log lines. */
function slowestKills(runs: ClusterResults["failover"]): string {
  const parts: string[] = [];
  for (const run of runs) {
    const slowest = [...run.samples].sort((a, b) => b.failoverMs - a.failoverMs)[0];
    if (slowest === undefined) continue;
    parts.push(
      `Session timeout ${run.sessionTimeoutMs} ms, slowest kill: broker ${slowest.killedNode} ` +
        `after ${slowest.failoverMs.toFixed(0)} ms (failed attempts ${
          JSON.stringify(slowest.failures)
        }); surviving brokers' log from the kill to the first ack:\n\n` +
        "```\n" + (slowest.logLines.join("\n") || "(no lines)") + "\n```",
    );
  }
  return parts.join("\n\n");
}

/** The markdown report of one run. */
export function clusterMarkdown(r: ClusterResults): string {
  return `# Cluster benchmark (${r.startedAt})\n\n` +
    `Broker processes ${r.variant.runtime}/${r.variant.writer}/${r.variant.fetchPath}; ` +
    `produce windows ${r.scale.produceMs} ms × ${r.scale.rounds} round(s) after a ${r.scale.warmupMs} ms warm-up (figures: median (min–max) over rounds); load average at the end ${
      r.loadAverage.map((x) => x.toFixed(1)).join(", ")
    }.\n\n` +
    `## Replicated produce\n\nThree brokers and etcd, replication factor 3, min.insync.replicas=2, ` +
    `acks=all (one load process per leader broker, to the partitions it leads), against one broker without etcd, acks=1 ` +
    `(three load processes over its partitions); 12 partitions, 1 MiB batches, ` +
    `2 connections × 2 in flight per process. Latency: produce request to acknowledgement. CPU: every ` +
    `broker's user + system time per GB acknowledged to the producers (etcd not counted); ` +
    `broker cores: that CPU time per wall second; ` +
    `idle cores: the same brokers without load (3 s before the warm-up); log writes: MB/s × ` +
    `copies (every broker's log is on this machine's one disk).\n\n${produceTable(r.produce)}\n\n` +
    `## Follower catch-up\n\nOne follower SIGSTOPped while the other two brokers took ` +
    `${r.scale.catchUpBytes / 2 ** 20} MiB (acks=1) on the partitions they lead, then SIGCONT; ` +
    `until its logs are as long as its leaders'.\n\n${catchUpTable(r.catchUp)}\n\n` +
    `## Failover\n\nSIGKILL of partition 0's leader (replication factor 3, min.insync.replicas=2) ` +
    `under a producer retrying every 20 ms (acks=all); the killed broker is restarted and back ` +
    `in the ISR before the next kill.\n\n${failoverTable(r.failover)}\n\n${
      slowestKills(r.failover)
    }\n` +
    (r.notes.length === 0
      ? ""
      : `\n## Notes\n\n${r.notes.map((n) => "```\n" + n + "\n```").join("\n\n")}\n`);
}
