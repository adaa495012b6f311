/**
 * A fault-injecting TCP proxy for cluster tests: it listens on a free
 * loopback port and forwards every connection to one target. Between
 * brokers it stands for the network link, so a test can cut it (open
 * connections are reset and new ones closed at once: a partition), heal it,
 * or blackhole it (connections stay open but bytes stop flowing both ways:
 * a link that died without telling anyone, which only timeouts detect).
 *
 * Everything stays on 127.0.0.1; the proxy owns no process.
 *
 * @module
 */

/** What the link does now. */
export type LinkMode = "open" | "cut" | "blackhole";

/** A running proxy started by {@linkcode startTcpProxy}. */
export interface TcpProxy {
  /** The loopback port clients connect to. */
  readonly port: number;
  /** Connections accepted since start (including ones closed by a cut). */
  readonly connectionsAccepted: number;
  /** Connections forwarding now. */
  readonly connectionsOpen: number;
  /** Bytes read from either side. */
  readonly bytesReceived: number;
  /** Bytes written to either side (less than received while a blackhole holds some). */
  readonly bytesForwarded: number;
  /** The link's mode now. */
  readonly mode: LinkMode;
  /** Resets every open connection and closes new ones at once, until {@linkcode heal}. */
  cut(): void;
  /** Keeps connections open but stops forwarding bytes in both directions, until {@linkcode heal}. */
  blackhole(): void;
  /** Forwards again; bytes held by a blackhole go on late, as TCP retransmits them. */
  heal(): void;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/** Where the proxy forwards to. */
export interface ProxyTarget {
  readonly hostname: string;
  readonly port: number;
}

interface Link {
  readonly client: Deno.Conn;
  readonly server: Deno.Conn;
  closed: boolean;
}

/** Starts a proxy on `127.0.0.1:<free port>` forwarding to `target`. */
export function startTcpProxy(target: ProxyTarget): TcpProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const links = new Set<Link>();
  let mode: LinkMode = "open";
  let accepted = 0;
  let bytesReceived = 0;
  let bytesForwarded = 0;
  // Released by heal(): pumps of a blackholed link wait on it before writing.
  let healed = Promise.withResolvers<void>();

  const closeLink = (link: Link) => {
    if (link.closed) return;
    link.closed = true;
    links.delete(link);
    for (const conn of [link.client, link.server]) {
      try {
        conn.close();
      } catch { /* already closed */ }
    }
  };

  const pump = async (link: Link, from: Deno.Conn, to: Deno.Conn) => {
    const buffer = new Uint8Array(64 * 1024);
    try {
      while (!link.closed) {
        const n = await from.read(buffer);
        if (n === null) break;
        bytesReceived += n;
        while (mode === "blackhole" && !link.closed) await healed.promise;
        if (link.closed) break;
        let written = 0;
        while (written < n) written += await to.write(buffer.subarray(written, n));
        bytesForwarded += n;
      }
    } catch { /* reset by a cut, or the peer went away */ }
    closeLink(link);
  };

  const accept = async () => {
    for await (const client of listener) {
      accepted++;
      if (mode === "cut") {
        client.close();
        continue;
      }
      let server: Deno.Conn;
      try {
        server = await Deno.connect({ hostname: target.hostname, port: target.port });
      } catch {
        client.close();
        continue;
      }
      const link: Link = { client, server, closed: false };
      links.add(link);
      pump(link, client, server);
      pump(link, server, client);
    }
  };
  const accepting = accept().catch(() => {});

  return {
    port: (listener.addr as Deno.NetAddr).port,
    get connectionsAccepted() {
      return accepted;
    },
    get connectionsOpen() {
      return links.size;
    },
    get bytesReceived() {
      return bytesReceived;
    },
    get bytesForwarded() {
      return bytesForwarded;
    },
    get mode() {
      return mode;
    },
    cut() {
      mode = "cut";
      for (const link of [...links]) closeLink(link);
      healed.resolve(); // blackholed pumps see their link closed and end
    },
    blackhole() {
      if (mode === "blackhole") return;
      mode = "blackhole";
      healed = Promise.withResolvers<void>();
    },
    heal() {
      mode = "open";
      healed.resolve();
    },
    async close() {
      mode = "cut";
      try {
        listener.close();
      } catch { /* already closed */ }
      for (const link of [...links]) closeLink(link);
      healed.resolve();
      await accepting;
    },
  };
}
