/**
 * Child processes of the benchmark: load generators and ceiling programs,
 * each printing JSON lines on stdout.
 *
 * @module
 */
import type { CeilingResult } from "./ceilings.ts";
import { DENO_PATH, PROJECT_ROOT } from "./broker_proc.ts";
import type { LoadResult, LoadSpec } from "./loadgen.ts";

const PROCESS_TIMEOUT_MS = 600_000;

/** Runs `deno run -A bench/<script> ...args`; returns its last stdout line parsed as JSON. */
export async function runDenoJson<T>(script: string, args: readonly string[]): Promise<T> {
  const child = new Deno.Command(DENO_PATH, {
    args: ["run", "--allow-all", `bench/${script}`, ...args],
    cwd: PROJECT_ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), PROCESS_TIMEOUT_MS);
  const out = await child.output();
  clearTimeout(timer);
  const text = new TextDecoder().decode(out.stdout).trim();
  if (out.code !== 0) {
    throw new Error(
      `bench/${script} exited with ${out.code}: ${
        new TextDecoder().decode(out.stderr).slice(-2000)
      }`,
    );
  }
  return JSON.parse(text.slice(text.lastIndexOf("\n") + 1)) as T;
}

/** A load spread over several processes, merged into one window. */
export interface MergedLoad {
  readonly recordBytes: number;
  readonly records: number;
  readonly requests: number;
  readonly errors: number;
  readonly elapsedSec: number;
  readonly bytesPerSec: number;
  readonly recordsPerSec: number;
  readonly latenciesMs: number[];
}

/** Runs one load process per spec, all at once, and merges their results. */
export async function runLoad(specs: readonly LoadSpec[]): Promise<MergedLoad> {
  const results = await Promise.all(
    specs.map((s) => runDenoJson<LoadResult>("loadgen.ts", [JSON.stringify(s)])),
  );
  const startMs = Math.min(...results.map((r) => r.startMs));
  const endMs = Math.max(...results.map((r) => r.endMs));
  const sum = (f: (r: LoadResult) => number) => results.reduce((a, r) => a + f(r), 0);
  const elapsedSec = Math.max(1e-6, (endMs - startMs) / 1000);
  const latenciesMs = results.flatMap((r) => r.latenciesMs ?? []).sort((a, b) => a - b);
  return {
    recordBytes: sum((r) => r.recordBytes),
    records: sum((r) => r.records),
    requests: sum((r) => r.requests),
    errors: sum((r) => r.errors),
    elapsedSec,
    bytesPerSec: sum((r) => r.recordBytes) / elapsedSec,
    recordsPerSec: sum((r) => r.records) / elapsedSec,
    latenciesMs,
  };
}

/** A ceiling server (`ingest`, `sink`, `loop-recv`) that printed its port. */
export interface CeilingServer {
  readonly target: string;
  /** Its final result (servers print it when the client hangs up or on SIGTERM). */
  readonly result: Promise<CeilingResult>;
  stop(): void;
}

/** Starts `bench/ceilings.ts <mode> ...args` and waits for its port. */
export async function startCeilingServer(
  mode: string,
  args: readonly string[] = [],
): Promise<CeilingServer> {
  const child = new Deno.Command(DENO_PATH, {
    args: ["run", "--allow-all", "bench/ceilings.ts", mode, ...args],
    cwd: PROJECT_ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const nextLine = async (): Promise<string> => {
    for (;;) {
      const at = buffered.indexOf("\n");
      if (at >= 0) {
        const line = buffered.slice(0, at);
        buffered = buffered.slice(at + 1);
        return line;
      }
      const { value, done } = await lines.read();
      if (done) throw new Error(`bench/ceilings.ts ${mode} ended early`);
      buffered += value;
    }
  };
  const { port } = JSON.parse(await nextLine());
  const result = nextLine().then((line) => JSON.parse(line) as CeilingResult);
  result.finally(() => child.status).catch(() => {});
  return {
    target: `127.0.0.1:${port}`,
    result,
    stop: () => {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
    },
  };
}

/** Runs the latency ceiling (`ceilings.ts echo` / `echo-client`): round trips in ms, sorted. */
export async function echoCeiling(
  messageBytes: number,
  intervalMs: number,
  durationMs: number,
): Promise<number[]> {
  const server = await startCeilingServer("echo");
  const r = await runDenoJson<CeilingResult>("ceilings.ts", [
    "echo-client",
    server.target,
    String(messageBytes),
    String(intervalMs),
    String(durationMs),
  ]);
  await server.result;
  return r.latenciesMs ?? [];
}

/** Runs the sync ceiling (`ceilings.ts sync`): bytes per second made durable. */
export async function syncCeiling(
  dir: string,
  files: number,
  batchBytes: number,
  durationMs: number,
): Promise<number> {
  const r = await runDenoJson<CeilingResult>("ceilings.ts", [
    "sync",
    dir,
    String(files),
    String(batchBytes),
    String(durationMs),
  ]);
  return r.bytes / ((r.endMs - r.startMs) / 1000);
}

/** Runs the loopback ceiling: a sender process writing `totalBytes` in 1 MiB writes. */
export async function loopbackCeiling(totalBytes: number): Promise<number> {
  const receiver = await startCeilingServer("loop-recv");
  await runDenoJson<CeilingResult>("ceilings.ts", [
    "loop-send",
    receiver.target,
    String(totalBytes),
  ]);
  const r = await receiver.result;
  return r.bytes / ((r.endMs - r.startMs) / 1000);
}
