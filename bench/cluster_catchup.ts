/**
 * Follower catch-up for `bench/cluster.ts`: a follower is stopped (SIGSTOP),
 * the other brokers take `totalBytes` of acks=1 produce on the partitions
 * they lead, and the follower is resumed (SIGCONT); the time runs from the
 * resume until every one of those partitions' log on the follower is as long
 * as on its leader (followers append the leader's batches unchanged, so the
 * segment files end byte for byte at the same length). The follower's log
 * sizes are read from its data directory every {@linkcode SIZE_POLL_MS}: from
 * outside the process there is no event for "caught up", and the sizes need
 * no request that a follower would answer NOT_LEADER_OR_FOLLOWER.
 *
 * @module
 */
import { join } from "node:path";
import type { BenchCluster } from "./cluster_nodes.ts";
import type { LoadSpec } from "./loadgen.ts";
import { runLoad } from "./procs.ts";
import { wallMs } from "./loadgen.ts";

/** Between two reads of the follower's log sizes. */
const SIZE_POLL_MS = 10;
/** The longest a catch-up may take before the bench gives up. */
const CATCH_UP_TIMEOUT_MS = 300_000;
/** The longest the stopped follower's leaders get to take the data (below its lease). */
const FILL_MAX_MS = 60_000;

/** What one catch-up measured. */
export interface CatchUpResult {
  readonly follower: number;
  /** Bytes the follower copied (its partitions' growth while catching up). */
  readonly bytes: number;
  /** SIGCONT to the last partition reaching its leader's length. */
  readonly seconds: number;
  readonly bytesPerSec: number;
  /** SIGCONT to the follower's first new byte (its fetchers waking up). */
  readonly firstByteMs: number;
  /** CPU seconds per GB copied: the follower, and the leaders serving it. */
  readonly followerCpuSecPerGB: number;
  readonly leadersCpuSecPerGB: number;
  /** The produce that filled the leaders meanwhile (acks=1). */
  readonly fillBytesPerSec: number;
}

/** Total bytes of the `.log` segment files of `topic`-`partition` under `dataDir`. */
function logBytes(dataDir: string, topic: string, partition: number): number {
  const dir = join(dataDir, `${topic}-${partition}`);
  let total = 0;
  try {
    for (const entry of Deno.readDirSync(dir)) {
      if (entry.isFile && entry.name.endsWith(".log")) {
        total += Deno.statSync(join(dir, entry.name)).size;
      }
    }
  } catch {
    return 0;
  }
  return total;
}

/**
 * Stops `follower`, fills `topic` (created by the caller with a full ISR)
 * with `totalBytes` on the partitions other brokers lead, resumes it and
 * times its catch-up.
 */
export async function measureCatchUp(
  cluster: BenchCluster,
  topic: string,
  follower: number,
  totalBytes: number,
  log: (message: string) => void,
): Promise<CatchUpResult> {
  const view = await cluster.metadata(topic);
  const byLeader = new Map<number, number[]>();
  for (const p of view.partitions) {
    if (p.leader === follower) continue;
    byLeader.set(p.leader, [...byLeader.get(p.leader) ?? [], p.partition]);
  }
  const partitions = [...byLeader.values()].flat();
  const specs: LoadSpec[] = [...byLeader].map(([leader, assigned]) => ({
    mode: "produce",
    target: cluster.broker(leader).bootstrap,
    topic,
    partitions: view.partitions.length,
    assigned,
    skipCreate: true,
    recordBytes: 1024,
    batchBytes: 1024 * 1024,
    acks: 1,
    connections: 2,
    inFlight: 2,
    durationMs: FILL_MAX_MS,
    totalBytes: Math.ceil(totalBytes / byLeader.size),
  }));
  const pid = cluster.broker(follower).pid;
  Deno.kill(pid, "SIGSTOP");
  let fill;
  try {
    fill = await runLoad(specs);
  } catch (e) {
    Deno.kill(pid, "SIGCONT");
    throw e;
  }
  log(`filled ${(fill.recordBytes / 2 ** 20).toFixed(0)} MiB while broker ${follower} was stopped`);
  const leaderOf = new Map(view.partitions.map((p) => [p.partition, p.leader]));
  const target = partitions.map((p) => logBytes(cluster.dataDir(leaderOf.get(p)!), topic, p));
  const followerDir = cluster.dataDir(follower);
  const sizes = () => partitions.map((p) => logBytes(followerDir, topic, p));
  const before = sizes().reduce((a, b) => a + b, 0);
  const leaders = [...byLeader.keys()];
  const leadersCpu = () => leaders.reduce((s, id) => s + cluster.sample(id).cpuSeconds, 0);
  const followerCpu0 = cluster.sample(follower).cpuSeconds;
  const leadersCpu0 = leadersCpu();
  const resumedMs = wallMs();
  Deno.kill(pid, "SIGCONT");
  let firstByteMs: number | undefined;
  for (;;) {
    const now = sizes();
    const atMs = wallMs();
    const total = now.reduce((a, b) => a + b, 0);
    if (firstByteMs === undefined && total > before) firstByteMs = atMs - resumedMs;
    if (now.every((size, i) => size >= target[i])) {
      const bytes = total - before;
      const seconds = (atMs - resumedMs) / 1000;
      const gb = bytes / 1e9;
      return {
        follower,
        bytes,
        seconds,
        bytesPerSec: bytes / seconds,
        firstByteMs: firstByteMs ?? 0,
        followerCpuSecPerGB: (cluster.sample(follower).cpuSeconds - followerCpu0) / gb,
        leadersCpuSecPerGB: (leadersCpu() - leadersCpu0) / gb,
        fillBytesPerSec: fill.bytesPerSec,
      };
    }
    if (atMs - resumedMs > CATCH_UP_TIMEOUT_MS) {
      throw new Error(
        `Broker ${follower} did not catch up within ${CATCH_UP_TIMEOUT_MS} ms (${total} of ${
          target.reduce((a, b) => a + b, 0)
        } bytes)`,
      );
    }
    await new Promise((r) => setTimeout(r, SIZE_POLL_MS));
  }
}
