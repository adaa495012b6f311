/**
 * The HTTP listener of a broker: the hono app served by the runtime's
 * `serveHttp` (`Deno.serve` / `Bun.serve`), the throughput sampler, and a
 * stop that ends live tails before closing the server.
 *
 * @module
 */
import type { HttpServer, Runtime, TlsCertifiedKeyPem } from "../../ffi/port.ts";
import { type HttpSecurity, OPEN_HTTP_SECURITY } from "./access.ts";
import type { HostPort } from "../config.ts";
import type { BrokerCore } from "../context.ts";
import { createHttpApp } from "./app.ts";
import type { BrokerMetrics } from "../metrics/broker_metrics.ts";
import type { HttpContext } from "./context.ts";
import type { GroupSource } from "../groups/group_source.ts";
import { ThroughputHistory } from "./throughput.ts";

/** What the HTTP server needs from the broker. */
export interface HttpServerDeps {
  readonly broker: BrokerCore;
  readonly metrics: BrokerMetrics;
  readonly groups: GroupSource;
  connectionCount(): number;
  isReady(): boolean;
  readonly bodySizeBytesMax: number;
  /** Serve HTTPS with this certificate (plain HTTP when absent). */
  readonly tls?: TlsCertifiedKeyPem;
  /** Authentication and authorization (default: none, everyone may do anything). */
  readonly security?: HttpSecurity;
}

/** A running HTTP listener. */
export interface BrokerHttpServer {
  readonly address: HostPort;
  /** `"https"` when serving TLS. */
  readonly scheme: "http" | "https";
  /** Ends live tails, stops sampling, closes the listener and its connections. */
  close(): Promise<void>;
}

/** Serves the HTTP API, metrics and console on `address`. */
export async function startHttpServer(
  runtime: Runtime,
  address: HostPort,
  deps: HttpServerDeps,
): Promise<BrokerHttpServer> {
  const stopping = new AbortController();
  const { tls, security, ...shared } = deps;
  const ctx: HttpContext = { ...shared, signal: stopping.signal };
  const history = new ThroughputHistory(
    deps.broker.topics,
    deps.metrics,
    () => deps.broker.nowMs(),
    (fn) => deps.broker.background.run("Throughput sample", fn),
  );
  const app = createHttpApp(ctx, history, {
    ...(security ?? OPEN_HTTP_SECURITY),
    signal: stopping.signal,
  });
  const server: HttpServer = await runtime.serveHttp(
    { ...address, tls },
    (request, info) => app.fetch(request, info),
  );
  history.start();
  let closing: Promise<void> | undefined;
  return {
    address: { hostname: server.hostname, port: server.port },
    scheme: tls === undefined ? "http" : "https",
    close() {
      closing ??= (async () => {
        stopping.abort();
        history.stop();
        await server.close();
      })();
      return closing;
    },
  };
}
