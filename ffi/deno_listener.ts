/**
 * The Deno listener behind {@linkcode Runtime.listen}: `Deno.listen` for TCP,
 * `Deno.listenTls` (rustls, TLS 1.2 and 1.3) for TLS, and one accept loop
 * that hands each connection to `serve`.
 *
 * A TLS certificate is bound to a `Deno.TlsListener` when it is created, and
 * Deno has no call to change it, nor (without `--unstable-net`) `reusePort`
 * to bind a second listener beside the first. A reload therefore closes the
 * listener, waits for its pending accept to be cancelled (the port is free
 * then), and binds a new one on the same address; the accept loop goes on
 * with the new one, and open connections keep theirs. For that moment
 * (well under a millisecond) a connecting client is refused and retries,
 * as Kafka clients do. When the new certificate is refused, the old one is
 * bound again. `Deno.listenTls` cannot ask for client certificates, so
 * `clientAuth` other than `"none"` is refused.
 *
 * A `Deno.TlsConn` has no `setNoDelay`, and Deno leaves Nagle's algorithm on:
 * a response written in two pieces then waits for the client's delayed ACK
 * (45 ms per round trip measured, against 1 ms). Linux copies TCP_NODELAY
 * from a listening socket to the sockets it accepts, so it is set on the
 * TLS listener's socket, found by its port in `/proc/self/net/tcp{,6}` and
 * its inode among `/proc/self/fd` (Deno does not expose the fd).
 *
 * @module
 */
import type { Listener, TlsServerOptions } from "./port.ts";

const ACCEPT_RETRY_MS = 100;
/** The `st` column of a listening socket in `/proc/net/tcp` (TCP_LISTEN). */
const TCP_LISTEN_STATE = "0A";
/** One "accept failed" line per this long, at most (with a count of those left out). */
const ACCEPT_FAILURE_LOG_INTERVAL_MS = 10_000;

/** Why a Deno TLS listener cannot verify client certificates (the broker's start-up error says it). */
export const DENO_CLIENT_AUTH_UNSUPPORTED =
  "Deno's TLS listener (Deno.listenTls) cannot ask clients for certificates";

/** A connection from {@linkcode denoListen}: TCP, or TLS when `tls` is true. */
export type AcceptedConn = { conn: Deno.TcpConn; tls: false } | { conn: Deno.TlsConn; tls: true };

/** What the listener needs from the libc binding. */
export interface DenoListenCalls {
  /** TCP_NODELAY on socket `fd`; false when the kernel refuses. */
  setTcpNoDelay(fd: number): boolean;
}

function bind(
  address: { hostname: string; port: number },
  tls: TlsServerOptions | undefined,
  calls: DenoListenCalls,
): Deno.Listener {
  if (tls === undefined) return Deno.listen({ ...address, transport: "tcp" });
  if (tls.clientAuth !== "none") {
    throw new Error(`${DENO_CLIENT_AUTH_UNSUPPORTED} (ssl.client.auth "${tls.clientAuth}").`);
  }
  const listener = Deno.listenTls({ ...address, cert: tls.certPem, key: tls.keyPem });
  const fds = listeningSocketFds((listener.addr as Deno.NetAddr).port);
  if (fds.length === 0 || !fds.every((fd) => calls.setTcpNoDelay(fd))) {
    console.error(
      `denka: could not set TCP_NODELAY on the TLS listener of port ${
        (listener.addr as Deno.NetAddr).port
      }: its connections keep Nagle's algorithm`,
    );
  }
  return listener;
}

/** Inodes of this process's TCP sockets listening on `port` (IPv4 and IPv6). */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const table of ["/proc/self/net/tcp", "/proc/self/net/tcp6"]) {
    let text: string;
    try {
      text = Deno.readTextFileSync(table);
    } catch {
      continue;
    }
    for (const row of text.split("\n").slice(1)) {
      // sl local_address rem_address st ... inode: "0100007F:1F90 00000000:0000 0A ..."
      const cols = row.trim().split(/\s+/);
      if (
        cols.length > 9 && cols[3] === TCP_LISTEN_STATE &&
        parseInt(cols[1].split(":")[1], 16) === port
      ) {
        inodes.add(cols[9]);
      }
    }
  }
  return inodes;
}

/** The fds of this process that are sockets listening on `port`. */
function listeningSocketFds(port: number): number[] {
  const inodes = listeningInodes(port);
  const fds: number[] = [];
  if (inodes.size === 0) return fds;
  for (const entry of Deno.readDirSync("/proc/self/fd")) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(Deno.readLinkSync(`/proc/self/fd/${entry.name}`));
      if (m !== null && inodes.has(m[1])) fds.push(Number(entry.name));
    } catch {
      // Closed since the listing (the fd of the directory listing itself, ...).
    }
  }
  return fds;
}

/** Binds `options` (over TLS with `options.tls`) and serves every accepted connection. */
export function denoListen(
  options: { hostname: string; port: number; tls?: TlsServerOptions },
  serve: (accepted: AcceptedConn) => Promise<void>,
  calls: DenoListenCalls,
): Listener {
  let tls = options.tls;
  let current = bind(options, tls, calls);
  const addr = current.addr as Deno.NetAddr;
  const bound = { hostname: addr.hostname, port: addr.port };
  const logAcceptFailure = acceptFailureLog();
  let closed = false;
  /** While a TLS reload swaps listeners: resolved by the accept loop once the old accept ended. */
  let swap: { acceptEnded: PromiseWithResolvers<void>; done: Promise<void> } | undefined;
  const acceptLoop = async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await current.accept();
      } catch (error) {
        if (closed) return;
        if (swap !== undefined) {
          swap.acceptEnded.resolve(); // the old listener's port is free now
          await swap.done;
          continue;
        }
        // E.g. EMFILE: keep serving the open connections and try again shortly.
        logAcceptFailure(error);
        await new Promise((resolve) => setTimeout(resolve, ACCEPT_RETRY_MS));
        continue;
      }
      const accepted = (tls === undefined
        ? { conn: conn as Deno.TcpConn, tls: false }
        : { conn: conn as Deno.TlsConn, tls: true }) as AcceptedConn;
      serve(accepted).catch((error) => {
        console.error("denka: connection handler failed", error);
      });
    }
  };
  const loopDone = acceptLoop().catch((error) => console.error("denka: accept loop failed", error));
  const handle: Listener = {
    hostname: bound.hostname,
    port: bound.port,
    close() {
      if (!closed) {
        closed = true;
        closeQuietly(current);
        swap?.acceptEnded.resolve();
      }
      // The port is released once the pending accept has been cancelled.
      return loopDone;
    },
  };
  if (tls === undefined) return handle;
  let reloads: Promise<void> = Promise.resolve();
  const reload = async (next: TlsServerOptions): Promise<void> => {
    if (closed) throw new Error("The listener is closed.");
    const done = Promise.withResolvers<void>();
    swap = { acceptEnded: Promise.withResolvers(), done: done.promise };
    try {
      closeQuietly(current);
      await swap.acceptEnded.promise;
      if (closed) return;
      try {
        current = bind(bound, next, calls);
        tls = next;
      } catch (error) {
        current = bind(bound, tls, calls); // the certificate that worked until now
        throw error;
      }
    } finally {
      swap = undefined;
      done.resolve();
    }
  };
  return {
    ...handle,
    reloadTls(next: TlsServerOptions): Promise<void> {
      const run = reloads.then(() => reload(next));
      reloads = run.catch(() => {});
      return run;
    },
  };
}

function closeQuietly(listener: Deno.Listener): void {
  try {
    listener.close();
  } catch {
    // Already closed (a failed swap): nothing to release.
  }
}

/** Logs accept failures (EMFILE, ...) as one line per interval with a count, not a trace each. */
function acceptFailureLog(): (error: unknown) => void {
  let lastMs = -Infinity;
  let suppressedCount = 0;
  return (error) => {
    const nowMs = Date.now();
    if (nowMs - lastMs < ACCEPT_FAILURE_LOG_INTERVAL_MS) {
      suppressedCount++;
      return;
    }
    const more = suppressedCount > 0 ? ` (${suppressedCount} more since the last line)` : "";
    console.error(`denka: accept failed: ${(error as Error)?.message ?? error}${more}`);
    lastMs = nowMs;
    suppressedCount = 0;
  };
}
