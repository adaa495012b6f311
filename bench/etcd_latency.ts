/**
 * Call latencies of the etcd coordinator (`broker/cluster/etcd.ts`) against a
 * local one-member etcd, under Deno and Bun: put, txn (a compare-and-swap on
 * a mod revision), range (a 10-key prefix), get, keepalive, campaign (an
 * uncontended win; the resign after it is not timed), and a watch (from a
 * put's call to its event arriving on an open watch stream).
 *
 *   node_modules/.bin/deno run -A bench/etcd_latency.ts            # starts etcd, runs both runtimes
 *   node_modules/.bin/bun bench/etcd_latency.ts --endpoint URL     # one runtime, one JSON line
 *
 * Calls run one at a time (latency, not throughput). etcd fsyncs every
 * write, so write latencies are the disk's fdatasync time plus the gateway.
 *
 * @module
 */
import { encodeText } from "../broker/cluster/coordinator.ts";
import { EtcdCoordinator } from "../broker/cluster/etcd.ts";

const WARMUP_CALLS = 50;
const MEASURED_CALLS = 400;

interface OpStats {
  readonly op: string;
  readonly calls: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
}

interface RuntimeResult {
  readonly runtime: string;
  readonly ops: readonly OpStats[];
}

// deno-lint-ignore no-explicit-any
const globals = globalThis as any;
const runtimeName: string = globals.Deno !== undefined ? "deno" : "bun";
const args: string[] = globals.Deno?.args ?? globals.process.argv.slice(2);

async function timeOp(
  op: string,
  call: (i: number) => Promise<unknown>,
  after?: (i: number) => Promise<unknown>,
): Promise<OpStats> {
  const samplesMs: number[] = [];
  for (let i = 0; i < WARMUP_CALLS + MEASURED_CALLS; i++) {
    const startMs = performance.now();
    await call(i);
    const tookMs = performance.now() - startMs;
    if (i >= WARMUP_CALLS) samplesMs.push(tookMs);
    if (after !== undefined) await after(i);
  }
  samplesMs.sort((a, b) => a - b);
  const at = (q: number) =>
    samplesMs[Math.min(samplesMs.length - 1, Math.floor(q * samplesMs.length))];
  const round = (ms: number) => Math.round(ms * 1000) / 1000;
  return {
    op,
    calls: samplesMs.length,
    p50Ms: round(at(0.5)),
    p99Ms: round(at(0.99)),
    meanMs: round(samplesMs.reduce((a, b) => a + b, 0) / samplesMs.length),
  };
}

async function measure(endpoint: string): Promise<RuntimeResult> {
  const c = new EtcdCoordinator({ endpoints: [endpoint], rootPrefix: `/bench/${runtimeName}/` });
  try {
    const value = encodeText(JSON.stringify({ leader: 1, leaderEpoch: 3, isr: [1, 2, 3] }));
    for (let i = 0; i < 10; i++) await c.put(`topics/t${i}`, value);
    const ops: OpStats[] = [];
    ops.push(await timeOp("put", (i) => c.put(`p/${i % 16}`, value)));
    let modRevision = (await c.put("state", value)).revision;
    ops.push(
      await timeOp("txn (CAS)", async () => {
        const result = await c.txn({
          compares: [{ key: "state", target: "modRevision", equals: modRevision }],
          ops: [{ op: "put", key: "state", value }],
        });
        if (!result.succeeded) throw new Error("The benchmark's CAS failed");
        modRevision = result.revision;
      }),
    );
    ops.push(await timeOp("range (10 keys)", () => c.range("topics/")));
    ops.push(await timeOp("get", () => c.get("state")));
    const lease = await c.grantLease(60_000, { keepAlive: false });
    ops.push(await timeOp("keepalive", () => c.keepAlive(lease)));
    let won: Awaited<ReturnType<typeof c.campaign>> | undefined;
    ops.push(
      await timeOp(
        "campaign (uncontended)",
        async () => (won = await c.campaign("controller", value, lease)),
        () => c.resign(won!),
      ),
    );
    await c.revokeLease(lease);
    const watch = c.watch("w/", (await c.range("w/")).revision + 1);
    ops.push(
      await timeOp("watch (put to event)", async (i) => {
        await c.put(`w/${i % 16}`, value);
        const next = await watch.next();
        if (next.done || next.value.kind !== "events") throw new Error("The watch ended");
      }),
    );
    await watch.return!();
    return { runtime: runtimeName, ops };
  } finally {
    await c.close();
  }
}

function table(results: readonly RuntimeResult[]): string {
  const lines = [
    "| op | runtime | p50 ms | p99 ms | mean ms |",
    "| --- | --- | ---: | ---: | ---: |",
  ];
  for (const op of results[0].ops.map((o) => o.op)) {
    for (const r of results) {
      const s = r.ops.find((o) => o.op === op)!;
      lines.push(`| ${op} | ${r.runtime} | ${s.p50Ms} | ${s.p99Ms} | ${s.meanMs} |`);
    }
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  const endpointAt = args.indexOf("--endpoint");
  if (endpointAt >= 0) {
    console.log(JSON.stringify(await measure(args[endpointAt + 1])));
    return;
  }
  if (runtimeName !== "deno") throw new Error("Without --endpoint, run this under Deno");
  const { startEtcd } = await import("../tests/cluster/etcd_server.ts");
  const server = await startEtcd();
  try {
    const deno = await measure(server.clientUrl);
    const bunPath = new URL("../node_modules/.bin/bun", import.meta.url).pathname;
    const out = await new globals.Deno.Command(bunPath, {
      args: [new URL(import.meta.url).pathname, "--endpoint", server.clientUrl],
      stderr: "inherit",
    }).output();
    const text = new TextDecoder().decode(out.stdout).trim();
    if (out.code !== 0) throw new Error(`bun exited with ${out.code}: ${text}`);
    const bun = JSON.parse(text.slice(text.lastIndexOf("\n") + 1)) as RuntimeResult;
    console.log(table([deno, bun]));
    console.log(JSON.stringify({ results: [deno, bun] }));
  } finally {
    await server.close();
  }
}

await main();
