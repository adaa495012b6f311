/**
 * `DENKA_TEST_RUNTIME=bun`: the interop suites run against a broker started
 * as `bun run main.ts` in a subprocess (port 0, the test's data directory)
 * instead of in-process under Deno. `startTestBroker` in `harness.ts` calls
 * {@linkcode startBunBroker} in that mode.
 *
 * The handle has the address, every Kafka listener as bound (from the
 * "listening on" log line), the resolved config (resolved here from the same
 * flags), `httpUrl` when the test asked for HTTP, `close()` (SIGTERM: a clean
 * stop, waited for), the counters through {@linkcode readCounters}
 * (`--stats-file` + SIGUSR2), and `transactions.idle()` plus the views of
 * `bun_transactions.ts` over the HTTP API: the broker always has an HTTP
 * listener on a free loopback port (the one asked for, or one of its own
 * with /metrics open, from which {@linkcode readSaslMetrics} reads). A
 * refused setting (exit status 2) throws a ConfigError, as in-process.
 * In-process hooks (`nextFetchPark`, `nextFetchUnpark`, `connectionCount`,
 * `reloadTls`, the sync `counters` and `transactions` views) throw: tests
 * that need them check {@linkcode TEST_RUNTIME} and are skipped under Bun,
 * explicitly. With `DENKA_TEST_BUN_LOG=PATH`, every Bun broker's log (level
 * info) is appended to PATH.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, optionDefs, resolveConfig } from "../../broker/config.ts";
import type { BrokerCounters, BrokerHandle, StartBrokerOptions } from "../../mod.ts";
import { startBrokerFlags } from "../../_start_flags.ts";
import type { BoundListener } from "../../broker/kafka_listeners.ts";
import {
  metricValue,
  readMetricsText,
  registerRemoteTransactions,
  RemoteTransactions,
} from "./bun_transactions.ts";
import type { SaslCounters } from "../../broker/security/sasl_session.ts";

/**
 * `"deno"` (in-process, the default) or `"bun"` (a `bun run main.ts` subprocess). Read
 * through `globalThis` because `bun test` suites (tests/bun/) load this module too, where
 * there is no `Deno`.
 */
export const TEST_RUNTIME: "deno" | "bun" =
  (globalThis as { Deno?: typeof Deno }).Deno?.env.get("DENKA_TEST_RUNTIME") === "bun"
    ? "bun"
    : "deno";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const BUN_PATH = join(ROOT, "node_modules/.bin/bun");
const START_TIMEOUT_MS = 30_000;

/** The command-line flags equivalent to `options`; throws on what a subprocess cannot honour. */
function flagsOf(dataDir: string, options: StartBrokerOptions): Record<string, string> {
  const inProcessOnly = [
    options.libc !== undefined && "libc",
    options.runtime !== undefined && "runtime",
  ].filter((k) => k !== false);
  if (inProcessOnly.length > 0) {
    throw new Error(
      `Option(s) "${
        inProcessOnly.join(", ")
      }" cannot be passed to a broker under DENKA_TEST_RUNTIME=bun`,
    );
  }
  // `listeners` replaces hostname and port; otherwise one PLAINTEXT listener on a free port.
  const address = options.listeners === undefined ? { hostname: "127.0.0.1", port: 0 } : {};
  return startBrokerFlags({ ...options, ...address, dataDir });
}

const BOOL_OPTIONS = new Set(optionDefs.filter((d) => d.kind === "bool").map((d) => d.name));

/** `--name value`, or for a boolean option `--name` / `--no-name` (the parser takes no value). */
function commandLineFlag([name, value]: [string, string]): string[] {
  if (!BOOL_OPTIONS.has(name)) return [`--${name}`, value];
  return [value === "true" ? `--${name}` : `--no-${name}`];
}

const statsPaths = new WeakMap<BrokerHandle, { pid: number; path: string }>();
/** The HTTP listener of each Bun broker (the one asked for, or its own). */
const controlUrls = new WeakMap<BrokerHandle, string>();

/** Starts `bun run main.ts` over `dataDir` on a free port; resolves once it listens. */
export function startBunBroker(
  dataDir: string,
  options: StartBrokerOptions = {},
): Promise<BrokerHandle> {
  return startBunBrokerWithFlags(flagsOf(dataDir, options), options.topicDefaults ?? {});
}

/**
 * Starts `bun run main.ts` with command-line `flags` (`--name` without the dashes;
 * `data-dir` required) and topic defaults; resolves once it listens. With HTTP off (or not
 * given), the broker gets an HTTP listener on a free loopback port all the same, with
 * /metrics open (`http-ops-auth` none unless given): the handle's control surface.
 */
export async function startBunBrokerWithFlags(
  asked: Record<string, string>,
  topics: Record<string, string> = {},
): Promise<BrokerHandle> {
  const httpAsked = asked["http"] !== undefined && asked["http"] !== "off";
  const flags = httpAsked ? asked : { "http-ops-auth": "none", ...asked, http: "127.0.0.1:0" };
  const topicArgs = Object.entries(topics).flatMap(([k, v]) => ["--topic-config", `${k}=${v}`]);
  const statsPath = `${flags["data-dir"]}.stats.json`;
  const args = [
    "run",
    "main.ts",
    ...Object.entries(flags).filter(([k]) => k !== "log-level").flatMap(commandLineFlag),
    ...topicArgs,
    "--stats-file",
    statsPath,
    "--log-level",
    "info",
  ];
  const config = resolveConfig([{ options: asked, topics }]);
  const child = new Deno.Command(BUN_PATH, {
    args,
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const started = await listening(child, statsPath);
  const port = started.listeners[0].port;
  const exited = child.status;
  let closing: Promise<void> | undefined;
  const unsupported = (what: string) => () => {
    throw new Error(`${what} is not available under DENKA_TEST_RUNTIME=bun`);
  };
  const handle = {
    hostname: started.listeners[0].hostname,
    port,
    bootstrap: `${started.listeners[0].hostname}:${port}`,
    listeners: config.listeners.map((l, i): BoundListener => ({
      name: l.name,
      securityProtocol: l.securityProtocol,
      hostname: started.listeners[i].hostname,
      port: started.listeners[i].port,
    })),
    config,
    httpUrl: httpAsked ? started.httpUrl : undefined,
    transactions: {
      idle: () => remote.idle(),
      list: unsupported("broker.transactions.list() (use the HTTP API)"),
      describe: unsupported("broker.transactions.describe() (use describeTransaction())"),
      get counters() {
        return unsupported("broker.transactions.counters (use readTransactionCounters())")();
      },
    },
    get counters(): BrokerCounters {
      return unsupported("broker.counters (use readCounters())")();
    },
    get cluster() {
      // A single node has none; a clustered one's lives in the subprocess.
      return config.cluster === undefined ? undefined : unsupported("broker.cluster")();
    },
    connectionCount: unsupported("connectionCount()"),
    nextFetchPark: unsupported("nextFetchPark()"),
    nextFetchUnpark: unsupported("nextFetchUnpark()"),
    reloadTls: unsupported("reloadTls() (SIGHUP reloads, without a result)"),
    close: (): Promise<void> => {
      closing ??= (async () => {
        try {
          child.kill("SIGTERM");
        } catch { /* already gone */ }
        const status = await exited;
        await Deno.remove(statsPath).catch(() => {});
        if (status.code !== 0) throw new Error(`The Bun broker exited with ${status.code}`);
      })();
      return closing;
    },
    [Symbol.asyncDispose]: () => handle.close(),
  } as unknown as BrokerHandle;
  const remote = new RemoteTransactions(started.httpUrl, config.clusterId);
  controlUrls.set(handle, started.httpUrl);
  statsPaths.set(handle, { pid: child.pid, path: statsPath });
  registerRemoteTransactions(handle, remote);
  return handle;
}

/** What the broker's start-up log lines say: its Kafka listeners in order, and its HTTP URL. */
interface Started {
  readonly listeners: readonly { hostname: string; port: number }[];
  readonly httpUrl: string;
}

/**
 * Waits for the "listening" and "HTTP API" log lines, then for the first stats snapshot
 * (SIGUSR2 is safe after it).
 */
async function listening(child: Deno.ChildProcess, statsPath: string): Promise<Started> {
  const timer = setTimeout(() => child.kill("SIGKILL"), START_TIMEOUT_MS);
  const lines: string[] = [];
  let listeners: { hostname: string; port: number }[] | undefined;
  let httpUrl: string | undefined;
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let pending = "";
  while (listeners === undefined || httpUrl === undefined) {
    const { value, done } = await reader.read();
    if (done) {
      clearTimeout(timer);
      throw startError((await child.status).code, lines);
    }
    pending += value;
    const parts = pending.split("\n");
    pending = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      listeners ??= listenersOf(line);
      httpUrl ??= /HTTP API, \/metrics and console on (\S+)\/$/.exec(line)?.[1];
    }
  }
  // Keep draining stderr so the child never blocks on a full pipe; kept in DENKA_TEST_BUN_LOG.
  const logPath = Deno.env.get("DENKA_TEST_BUN_LOG");
  const keep = (text: string) =>
    logPath === undefined ? undefined : Deno.writeTextFileSync(logPath, text, { append: true });
  keep(lines.map((line) => `${line}\n`).join("") + pending);
  (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      keep(value);
    }
  })();
  // The watch ends when the file is there, the broker exits, or the start deadline passes
  // (killing the broker alone would leave the watch waiting for ever).
  const watcher = Deno.watchFs(dirname(statsPath));
  const stopWatching = () => {
    try {
      watcher.close();
    } catch { /* already closed */ }
  };
  clearTimeout(timer);
  const deadline = setTimeout(() => {
    child.kill("SIGKILL");
    stopWatching();
  }, START_TIMEOUT_MS);
  child.status.then(stopWatching);
  try {
    if (!(await exists(statsPath))) {
      for await (const _ of watcher) if (await exists(statsPath)) break;
    }
  } finally {
    stopWatching();
    clearTimeout(deadline);
  }
  if (!(await exists(statsPath))) {
    throw new Error(`The Bun broker wrote no stats file "${statsPath}" after listening`);
  }
  return { listeners, httpUrl };
}

/**
 * Why the broker exited before listening. The command line exits with 2 and one line
 * `denka: MESSAGE` when it refuses a setting (a ConfigError in-process; a
 * ListenerStartError too, which the process boundary cannot tell apart): a ConfigError
 * with that message, as `startBroker()` would throw.
 */
function startError(code: number, lines: readonly string[]): Error {
  const refused = lines.filter((l) => l.startsWith("denka: "));
  if (code === 2 && refused.length === 1) {
    return new ConfigError(refused[0].slice("denka: ".length));
  }
  return new Error(`The Bun broker exited with ${code} before listening:\n${lines.join("\n")}`);
}

/**
 * The bound addresses of "Denka listening on HOST:PORT (...)" or, with several
 * listeners, "Denka listening on HOST:PORT NAME://HOST:PORT, ... (...)"; undefined for another line.
 */
function listenersOf(line: string): { hostname: string; port: number }[] | undefined {
  const m = /Denka listening on (\S+):(\d+) (?:(\S+:\/\/.*?) )?\(/.exec(line);
  if (m === null) return undefined;
  if (m[3] === undefined) return [{ hostname: m[1], port: Number(m[2]) }];
  return m[3].split(", ").map((endpoint) => {
    const a = /^[^:]+:\/\/\[?(.*?)\]?:(\d+)$/.exec(endpoint)!;
    return { hostname: a[1], port: Number(a[2]) };
  });
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/**
 * The broker's counters: `broker.counters` in-process; under Bun, a fresh
 * snapshot asked for with SIGUSR2 and awaited with a file watch.
 */
export async function readCounters(broker: BrokerHandle): Promise<BrokerCounters> {
  const remote = statsPaths.get(broker);
  if (remote === undefined) return { ...broker.counters };
  const before = JSON.parse(await Deno.readTextFile(remote.path)).seq as number;
  const watcher = Deno.watchFs(dirname(remote.path));
  try {
    Deno.kill(remote.pid, "SIGUSR2");
    for (;;) {
      const snapshot = await Deno.readTextFile(remote.path).then(JSON.parse, () => undefined);
      if (snapshot !== undefined && snapshot.seq > before) return snapshot.counters;
      await nextEvent(watcher);
    }
  } finally {
    watcher.close();
  }
}

async function nextEvent(watcher: Deno.FsWatcher): Promise<void> {
  const it = watcher[Symbol.asyncIterator]();
  const timer = setTimeout(() => watcher.close(), START_TIMEOUT_MS);
  try {
    const next = await it.next();
    if (next.done) throw new Error("No stats snapshot from the Bun broker in time");
  } finally {
    clearTimeout(timer);
  }
}

/** The SASL login counters of a Bun broker, from its `/metrics` (open on its control listener). */
export async function readSaslMetrics(broker: BrokerHandle): Promise<SaslCounters> {
  const url = controlUrls.get(broker);
  if (url === undefined) throw new Error("Not a Bun test broker");
  const text = await readMetricsText(`${url}/metrics`);
  const value = (name: string) => metricValue(text, `denka_${name}_total`);
  return {
    logins: value("successful_authentication"),
    reauthentications: value("successful_reauthentication"),
    failedLogins: value("failed_authentication"),
    expiredSessionsClosed: value("expired_connections_killed"),
  };
}
