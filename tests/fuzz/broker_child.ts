/**
 * The broker under fuzz, in its own process (`deno run main.ts` or
 * `bun run main.ts`), so that a crash is seen rather than taking the fuzzer
 * down: its exit, its RSS from `/proc/<pid>/status`, and the log lines that
 * say a handler or a background task failed.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const START_TIMEOUT_MS = 60_000;
/** Log lines kept for a failure report. */
const LOG_TAIL_LINES = 30;
/** Log lines about a client's bad request, left out of the tail (every mutated case logs one). */
const CLIENT_MISTAKE_LINE =
  /WARN \[denka\] Closing connection \d+ from [^:]+:\d+: (?!internal error)/;
/** Log lines that mean a bug, not a client's mistake. */
const BUG_LINE =
  /Bug while|internal error|Unhandled|Uncaught|uncaught|panic|RangeError|TypeError|FATAL|out of memory/;

/** The runtime the broker runs under. */
export type Runtime = "deno" | "bun";

/** A running broker subprocess. */
export class BrokerChild {
  readonly pid: number;
  readonly bootstrap: string;
  readonly runtime: Runtime;
  readonly #child: Deno.ChildProcess;
  readonly #tail: string[];
  readonly #bugLines: string[];
  #exit: Deno.CommandStatus | undefined;

  private constructor(
    child: Deno.ChildProcess,
    info: { bootstrap: string; runtime: Runtime; tail: string[]; bugLines: string[] },
  ) {
    this.#child = child;
    this.pid = child.pid;
    this.bootstrap = info.bootstrap;
    this.runtime = info.runtime;
    this.#tail = info.tail;
    this.#bugLines = info.bugLines;
    child.status.then((s) => this.#exit = s);
  }

  /** Starts a broker over `dataDir` on a free port with `args` added; resolves once it listens. */
  static async start(
    runtime: Runtime,
    dataDir: string,
    args: readonly string[],
  ): Promise<BrokerChild> {
    const brokerArgs = [
      "main.ts",
      "--listen",
      "127.0.0.1:0",
      "--data-dir",
      dataDir,
      "--http",
      "off",
      "--log-level",
      "info",
      ...args,
    ];
    const [command, runArgs] = runtime === "deno"
      ? [join(ROOT, "node_modules/.bin/deno"), ["run", "--allow-all", ...brokerArgs]]
      : [join(ROOT, "node_modules/.bin/bun"), ["run", ...brokerArgs]];
    const child = new Deno.Command(command, {
      args: runArgs,
      cwd: ROOT,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const tail: string[] = [];
    const bugLines: string[] = [];
    const listening = Promise.withResolvers<number>();
    (async () => {
      let pending = "";
      for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
        pending += text;
        const lines = pending.split("\n");
        pending = lines.pop()!;
        for (const line of lines) {
          if (!CLIENT_MISTAKE_LINE.test(line)) tail.push(line);
          if (tail.length > LOG_TAIL_LINES) tail.shift();
          if (BUG_LINE.test(line)) bugLines.push(line);
          const m = /Denka listening on [^ ]+:(\d+) /.exec(line);
          if (m) listening.resolve(Number(m[1]));
        }
      }
      listening.reject(new Error(`The broker exited before listening:\n${tail.join("\n")}`));
    })();
    const timer = setTimeout(() => {
      listening.reject(new Error("The broker did not listen in time"));
    }, START_TIMEOUT_MS);
    try {
      const port = await listening.promise;
      return new BrokerChild(child, { bootstrap: `127.0.0.1:${port}`, runtime, tail, bugLines });
    } catch (e) {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      await child.status;
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The exit status once the process has ended, else undefined. */
  get exited(): Deno.CommandStatus | undefined {
    return this.#exit;
  }

  /** Resolves after the process has exited or `timeoutMs` has passed, whichever comes first. */
  async waitExit(timeoutMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#child.status,
      new Promise((resolve) => timer = setTimeout(resolve, timeoutMs)),
    ]);
    clearTimeout(timer);
  }

  /** Resident set size from /proc/<pid>/status (0 once the process is gone). */
  rssBytes(): number {
    try {
      const status = Deno.readTextFileSync(`/proc/${this.pid}/status`);
      return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
    } catch {
      return 0;
    }
  }

  /** Log lines that name a bug, taken (each is returned once). */
  takeBugLines(): string[] {
    return this.#bugLines.splice(0);
  }

  /** The last log lines. */
  get logTail(): string {
    return this.#tail.join("\n");
  }

  /** SIGTERM (a clean stop), SIGKILL after `timeoutMs`; resolves with the exit status. */
  async stop(timeoutMs = 20_000): Promise<Deno.CommandStatus> {
    if (this.#exit !== undefined) return this.#exit;
    try {
      this.#child.kill("SIGTERM");
    } catch { /* gone */ }
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* gone */ }
    }, timeoutMs);
    try {
      return await this.#child.status;
    } finally {
      clearTimeout(timer);
    }
  }
}
