/**
 * A broker under test in its own process (`deno run main.ts` or
 * `bun run main.ts`), with what the report needs from outside it: start-up
 * time (spawn to the "listening" log line, and the broker's own figure), CPU
 * seconds and RSS from `/proc/<pid>`, the peak RSS reset between workloads
 * (`/proc/<pid>/clear_refs` 5), and the broker's counters through
 * `--stats-file` + SIGUSR2.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const DENO = join(ROOT, "node_modules/.bin/deno");
const BUN = join(ROOT, "node_modules/.bin/bun");
const START_TIMEOUT_MS = 60_000;
const CLOCK_TICKS_PER_SEC = 100; // USER_HZ on Linux

/** Which broker to start. */
export interface BrokerVariant {
  readonly runtime: "deno" | "bun";
  readonly writer: "pwrite" | "mmap";
  readonly fetchPath: "sendfile" | "copy";
  /** `"js"`: the broker runs with `DENKA_CRC32C=js` (no hardware CRC-32C). */
  readonly crc?: "js";
}

/** `deno/pwrite/sendfile`, `+js-crc` when the hardware CRC is off. */
export function variantName(v: BrokerVariant): string {
  return `${v.runtime}/${v.writer}/${v.fetchPath}${v.crc === "js" ? "+js-crc" : ""}`;
}

/** CPU and memory of a process, from /proc. */
export interface ProcSample {
  /** User + system CPU seconds since the process started. */
  readonly cpuSeconds: number;
  readonly userSeconds: number;
  readonly systemSeconds: number;
  readonly rssBytes: number;
  /** Peak RSS since start or the last {@linkcode BrokerProcess.resetPeakRss}. */
  readonly peakRssBytes: number;
}

/** Reads /proc/<pid>/stat and /proc/<pid>/status. */
export function sampleProc(pid: number): ProcSample {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const userSeconds = Number(fields[11]) / CLOCK_TICKS_PER_SEC; // field 14 of the full line
  const systemSeconds = Number(fields[12]) / CLOCK_TICKS_PER_SEC;
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kib = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
  return {
    cpuSeconds: userSeconds + systemSeconds,
    userSeconds,
    systemSeconds,
    rssBytes: kib("VmRSS"),
    peakRssBytes: kib("VmHWM"),
  };
}

/** The broker's counters as `--stats-file` writes them. */
export type BrokerCounters = Record<string, number>;

/** A running broker subprocess. */
export class BrokerProcess {
  readonly variant: BrokerVariant;
  readonly pid: number;
  readonly bootstrap: string;
  /** `host:port` by listener name, when started with `--listeners` (e.g. `{ SSL: ... }`). */
  readonly listenerBootstraps: Readonly<Record<string, string>>;
  /** Spawn to the "listening" line, as a user would see it. */
  readonly startupMs: number;
  /** The broker's own "started in X ms" (data directory open + bind). */
  readonly brokerStartupMs: number;
  readonly #child: Deno.ChildProcess;
  readonly #statsPath: string;
  readonly #stderrTail: string[];
  #lastSeq = 0;

  private constructor(
    variant: BrokerVariant,
    child: Deno.ChildProcess,
    info: {
      bootstrap: string;
      listenerBootstraps: Record<string, string>;
      startupMs: number;
      brokerStartupMs: number;
      statsPath: string;
    },
    stderrTail: string[],
  ) {
    this.variant = variant;
    this.#child = child;
    this.pid = child.pid;
    this.bootstrap = info.bootstrap;
    this.listenerBootstraps = info.listenerBootstraps;
    this.startupMs = info.startupMs;
    this.brokerStartupMs = info.brokerStartupMs;
    this.#statsPath = info.statsPath;
    this.#stderrTail = stderrTail;
  }

  /** Starts a broker on a free port over `dataDir`; resolves once it listens. */
  static async start(
    variant: BrokerVariant,
    dataDir: string,
    extraArgs: readonly string[] = [],
  ): Promise<BrokerProcess> {
    const statsPath = `${dataDir}.stats.json`;
    // `--listeners` in extraArgs replaces the one PLAINTEXT listener.
    const listen = extraArgs.includes("--listeners") ? [] : ["--listen", "127.0.0.1:0"];
    const args = [
      "main.ts",
      ...listen,
      "--data-dir",
      dataDir,
      "--writer",
      variant.writer,
      "--fetch-path",
      variant.fetchPath,
      "--stats-file",
      statsPath,
      "--log-level",
      "info",
      ...(await brokerHasOption("http") ? ["--http", "off"] : []),
      ...extraArgs,
    ];
    const [command, runArgs] = variant.runtime === "deno"
      ? [DENO, ["run", "--allow-all", ...args]]
      : [BUN, ["run", ...args]];
    const spawnedMs = performance.now();
    const child = new Deno.Command(command, {
      args: runArgs,
      cwd: ROOT,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      env: variant.crc === "js" ? { DENKA_CRC32C: "js" } : {},
    }).spawn();
    const tail: string[] = [];
    const listening = Promise.withResolvers<
      { port: number; brokerStartupMs: number; listenerBootstraps: Record<string, string> }
    >();
    (async () => {
      const decoder = new TextDecoderStream();
      let pending = "";
      for await (const text of child.stderr.pipeThrough(decoder)) {
        pending += text;
        const lines = pending.split("\n");
        pending = lines.pop()!;
        for (const line of lines) {
          tail.push(line);
          if (tail.length > 40) tail.shift();
          const m = /Denka listening on [^ ]+:(\d+) .*started in ([\d.]+) ms/.exec(line);
          if (m) {
            // With several listeners the line goes on `NAME://host:port, ...` before the `(`.
            const endpoints = line.slice(0, line.indexOf(" (")).matchAll(/(\w+):\/\/([^ ,]+)/g);
            const listenerBootstraps = Object.fromEntries([...endpoints].map((e) => [e[1], e[2]]));
            listening.resolve({
              port: Number(m[1]),
              brokerStartupMs: Number(m[2]),
              listenerBootstraps,
            });
          }
        }
      }
      listening.reject(new Error(`Broker exited before listening:\n${tail.join("\n")}`));
    })();
    const timer = setTimeout(
      () => listening.reject(new Error("Broker did not listen in time")),
      START_TIMEOUT_MS,
    );
    try {
      const { port, brokerStartupMs, listenerBootstraps } = await listening.promise;
      const startupMs = performance.now() - spawnedMs;
      // main.ts installs the SIGUSR2 handler right after listening and writes seq 1:
      // wait for it, as an early SIGUSR2 would kill the process.
      while (!(await Deno.stat(statsPath).then(() => true, () => false))) {
        await new Promise((r) => setTimeout(r, 2));
      }
      return new BrokerProcess(variant, child, {
        bootstrap: `127.0.0.1:${port}`,
        listenerBootstraps,
        startupMs,
        brokerStartupMs,
        statsPath,
      }, tail);
    } catch (e) {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  sample(): ProcSample {
    return sampleProc(this.pid);
  }

  /** Resets VmHWM to the current RSS (`echo 5 > /proc/<pid>/clear_refs`). */
  resetPeakRss(): void {
    Deno.writeTextFileSync(`/proc/${this.pid}/clear_refs`, "5");
  }

  /** Asks the broker for a fresh counters snapshot (SIGUSR2) and waits for it. */
  async counters(): Promise<BrokerCounters> {
    const current = await Deno.readTextFile(this.#statsPath).then(JSON.parse, () => ({ seq: 0 }));
    const before = Math.max(this.#lastSeq, current.seq);
    Deno.kill(this.pid, "SIGUSR2");
    const deadlineMs = performance.now() + 5000;
    for (;;) {
      try {
        const snapshot = JSON.parse(await Deno.readTextFile(this.#statsPath));
        if (snapshot.seq > before) {
          this.#lastSeq = snapshot.seq;
          return snapshot.counters;
        }
      } catch { /* between write and rename */ }
      if (performance.now() > deadlineMs) throw new Error("The broker wrote no stats snapshot");
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  /** SIGTERM (clean stop: logs flushed, clean-shutdown marker); resolves with the exit code. */
  async stop(): Promise<number> {
    try {
      this.#child.kill("SIGTERM");
    } catch { /* already gone */ }
    const status = await this.#child.status;
    await Deno.remove(this.#statsPath).catch(() => {});
    return status.code;
  }

  /** The last lines the broker logged (for error messages). */
  get logTail(): string {
    return this.#stderrTail.join("\n");
  }
}

let helpText: string | undefined;

/** True when `main.ts --help` lists `--<name>` (options other engineers are adding). */
export async function brokerHasOption(name: string): Promise<boolean> {
  if (helpText === undefined) {
    const out = await new Deno.Command(DENO, {
      args: ["run", "--allow-all", "main.ts", "--help"],
      cwd: ROOT,
      stdout: "piped",
      stderr: "null",
    }).output();
    helpText = new TextDecoder().decode(out.stdout);
  }
  return new RegExp(`^\\s+--${name}[ <]`, "m").test(helpText);
}

/** The project root (where `main.ts` lives). */
export const PROJECT_ROOT = ROOT;
/** The pinned Deno binary. */
export const DENO_PATH = DENO;
