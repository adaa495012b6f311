/**
 * The client workloads against brokers the bench did not start per cell:
 * `--target HOST:PORT` (one side: any Kafka-compatible broker) and
 * `--compare HOST:PORT` (two sides: a Denka the bench starts once over a
 * fresh data directory, and the target). Both sides run the same workloads in
 * the same order every round, each workload on one side and then the other,
 * the side that goes first alternating from round to round; round 0 is the
 * warm-up (and fills the catch-up topic on every side). A ratio Denka / target
 * is taken inside each round (`report.ts`).
 *
 * @module
 */
import type { BrokerProcess } from "./broker_proc.ts";
import { describeVersions, type MaxVersions, negotiateVersions } from "./client_versions.ts";
import { BenchConnection } from "./kafka_client.ts";
import { runLoad } from "./procs.ts";
import {
  CATCH_UP_TOPIC,
  type Cell,
  consumeCatchUp,
  fillCatchUp,
  latencyAt,
  type LoadPlan,
  measureRunning,
  measureTarget,
  produce100,
  produce1k,
  produce50,
  type Scale,
} from "./workloads.ts";

/** A broker the client workloads run against. */
export interface Side {
  /** The report's variant name: `deno/pwrite/sendfile` for Denka, `target` for the target. */
  readonly variant: string;
  readonly bootstrap: string;
  /** Denka's process, when the bench started it (its CPU and RSS are then measured too). */
  readonly broker?: BrokerProcess;
}

/** Options of {@linkcode runClientWorkloads}. */
export interface ClientRunOptions {
  readonly rounds: number;
  readonly scale: Scale;
  /** Caps on the versions every load process negotiates. */
  readonly maxVersions?: MaxVersions;
  /** True when the workload is selected (`--only`). */
  wants(workload: string): boolean;
  record(cell: Cell): void;
}

/** The client workloads, in the order each round runs them; `catchUpTopic` is w4's. */
export function clientWorkloads(scale: Scale, catchUpTopic: string): [string, LoadPlan][] {
  return [
    ["w1-produce-1k", produce1k(scale)],
    ["w2-produce-100b", produce100(scale)],
    ["w2-produce-50", produce50(scale)],
    ["w4-consume-1", consumeCatchUp(1, catchUpTopic)],
    ["w4-consume-4", consumeCatchUp(4, catchUpTopic)],
    ["w5-latency-10MBps", latencyAt(scale, 10e6)],
    ["w5-latency-50MBps", latencyAt(scale, 50e6)],
  ];
}

/** `plan` with the version caps in every spec. */
function capped(plan: LoadPlan, maxVersions: MaxVersions | undefined): LoadPlan {
  return maxVersions === undefined ? plan : (t) => plan(t).map((s) => ({ ...s, maxVersions }));
}

/** The sides in round `round`'s order: as given in even rounds, reversed in odd ones. */
export function sidesInRound<T>(sides: readonly T[], round: number): T[] {
  return round % 2 === 0 ? [...sides] : [...sides].reverse();
}

/**
 * Runs every selected client workload on every side, round by round,
 * interleaved. The catch-up topic is new in each run (`w4-catchup-<id>`), so
 * every side reads the same amount, whatever earlier runs left on a target.
 */
export async function runClientWorkloads(
  sides: readonly Side[],
  options: ClientRunOptions,
): Promise<void> {
  const { scale, maxVersions } = options;
  const catchUpTopic = `${CATCH_UP_TOPIC}-${crypto.randomUUID().slice(0, 8)}`;
  for (let round = 0; round <= options.rounds; round++) {
    const workloads = clientWorkloads(scale, catchUpTopic);
    if (round === 0 && workloads.some(([name]) => name.startsWith("w4") && options.wants(name))) {
      for (const side of sides) {
        const fill = fillCatchUp(scale.consumeBytes, catchUpTopic);
        await runLoad(capped(fill, maxVersions)(side.bootstrap));
      }
    }
    for (const [name, plan] of workloads) {
      if (!options.wants(name)) continue;
      for (const side of sidesInRound(sides, round)) {
        const load = capped(plan, maxVersions);
        options.record(
          side.broker === undefined
            ? await measureTarget(name, round, side.bootstrap, load)
            : await measureRunning(name, round, side.broker, load),
        );
      }
    }
  }
}

/** "Client versions against X: Produce 11, ..." as the load processes will negotiate them. */
export async function versionsNote(side: Side, maxVersions?: MaxVersions): Promise<string> {
  const c = await BenchConnection.connect(side.bootstrap);
  try {
    const versions = await negotiateVersions(c, maxVersions);
    return `Client versions against ${side.variant} (${side.bootstrap}): ${
      describeVersions(versions)
    }.`;
  } finally {
    c.close();
  }
}
