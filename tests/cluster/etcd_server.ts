/**
 * A real etcd for tests: Debian's `etcd-server` (`/usr/bin/etcd`, 3.4)
 * started on loopback with free ports and a fresh data directory, ready when
 * it logs that it serves client requests (an event, not a poll), stopped by
 * its PID. `restart()` brings it back on the same ports and data, for tests
 * that take etcd away under a running cluster.
 *
 * @module
 */

/** Where Debian's `etcd-server` puts the binary. */
export const ETCD_BINARY_PATH = "/usr/bin/etcd";
/** How long etcd may take to serve clients after it starts. */
export const ETCD_START_TIMEOUT_MS = 20_000;
/** How long etcd may take to exit after SIGTERM before it gets SIGKILL. */
export const ETCD_STOP_TIMEOUT_MS = 10_000;
/** Log lines kept for error messages. */
const LOG_LINES_KEPT = 40;
const READY_LINE = "serving insecure client requests on";

/** Whether `/usr/bin/etcd` is installed (the etcd half of a suite is skipped otherwise). */
export function etcdInstalled(): boolean {
  try {
    return Deno.statSync(ETCD_BINARY_PATH).isFile;
  } catch {
    return false;
  }
}

/** A running etcd started by {@linkcode startEtcd}. */
export interface EtcdServer {
  /** `http://127.0.0.1:<port>`. */
  readonly clientUrl: string;
  readonly dataDir: string;
  /** The current process's id. */
  readonly pid: number;
  /** Sends a signal to the current process (e.g. `SIGSTOP`, `SIGCONT`, `SIGKILL`). */
  kill(signal: Deno.Signal): void;
  /** Stops the process (SIGTERM, then SIGKILL after the deadline); the data stays. */
  stop(): Promise<void>;
  /** Starts it again on the same ports and data directory. */
  restart(): Promise<void>;
  /** Stops it and removes its data directory. */
  close(): Promise<void>;
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

interface Running {
  readonly child: Deno.ChildProcess;
  readonly exited: Promise<Deno.CommandStatus>;
}

/** Starts a one-member etcd on loopback; retried on fresh ports if they were taken meanwhile. */
export async function startEtcd(): Promise<EtcdServer> {
  const dataDir = await Deno.makeTempDir({ prefix: "denka-etcd-" });
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const ports = { client: freePort(), peer: freePort() };
    try {
      let running = await launch(dataDir, ports.client, ports.peer);
      const server: EtcdServer = {
        clientUrl: `http://127.0.0.1:${ports.client}`,
        dataDir,
        get pid() {
          return running.child.pid;
        },
        kill: (signal) => running.child.kill(signal),
        stop: () => stopProcess(running),
        restart: async () => {
          await stopProcess(running);
          running = await launch(dataDir, ports.client, ports.peer);
        },
        close: async () => {
          await stopProcess(running);
          await Deno.remove(dataDir, { recursive: true });
        },
      };
      return server;
    } catch (error) {
      lastError = error;
      await Deno.remove(`${dataDir}/member`, { recursive: true }).catch(() => {});
    }
  }
  await Deno.remove(dataDir, { recursive: true });
  throw lastError;
}

async function launch(dataDir: string, clientPort: number, peerPort: number): Promise<Running> {
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const child = new Deno.Command(ETCD_BINARY_PATH, {
    args: [
      "--name=denka-test",
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${clientUrl}`,
      `--advertise-client-urls=${clientUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=denka-test=${peerUrl}`,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const exited = child.status;
  const lines: string[] = [];
  const ready = Promise.withResolvers<void>();
  // Read stderr to the end (a full pipe would stall etcd); resolve when it serves clients.
  const drained = (async () => {
    const stream = child.stderr.pipeThrough(new TextDecoderStream());
    let buffer = "";
    for await (const chunk of stream) {
      buffer += chunk;
      for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        lines.push(line);
        if (lines.length > LOG_LINES_KEPT) lines.shift();
        if (line.includes(READY_LINE)) ready.resolve();
      }
    }
  })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), ETCD_START_TIMEOUT_MS);
  });
  const outcome = await Promise.race([
    ready.promise.then(() => "ready" as const),
    exited.then(() => "exited" as const),
    deadline,
  ]);
  clearTimeout(timer);
  if (outcome === "ready") return { child, exited: exited.finally(() => drained) };
  if (outcome === "timeout") child.kill("SIGKILL");
  await exited;
  await drained;
  throw new Error(
    `etcd on port ${clientPort} ${
      outcome === "timeout" ? `was not ready within ${ETCD_START_TIMEOUT_MS} ms` : "exited"
    }; its last lines:\n${lines.join("\n")}`,
  );
}

async function stopProcess(running: Running): Promise<void> {
  try {
    running.child.kill("SIGCONT");
    running.child.kill("SIGTERM");
  } catch {
    // Already exited.
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), ETCD_STOP_TIMEOUT_MS);
  });
  const outcome = await Promise.race([running.exited.then(() => "exited" as const), deadline]);
  clearTimeout(timer);
  if (outcome === "timeout") {
    running.child.kill("SIGKILL");
  }
  await running.exited;
}
