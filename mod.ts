/**
 * Denka: a Kafka-compatible broker for Deno and Bun.
 *
 * ```ts
 * import { startBroker } from "./mod.ts";
 * const broker = await startBroker({ port: 0, dataDir: await Deno.makeTempDir() });
 * // point any Kafka client at broker.bootstrap ("127.0.0.1:<port>")
 * await broker.close();
 * ```
 *
 * Importing this module has no side effects.
 *
 * @module
 */
import { Broker, type BrokerDeps } from "./broker/broker.ts";
import { type BrokerConfig, ConfigError, resolveConfig } from "./broker/config.ts";
import type { BrokerCounters } from "./broker/context.ts";
import type { Libc, Runtime } from "./ffi/port.ts";
import type { LogLevel } from "./util/log.ts";

export type { BrokerConfig, BrokerCounters, Libc, LogLevel, Runtime };
export { ConfigError };

/** Options of {@linkcode startBroker}; every one has a default. */
export interface StartBrokerOptions {
  /** Interface to listen on. Default `"127.0.0.1"`. */
  hostname?: string;
  /** Port to listen on; `0` picks a free one. Default `9092`. */
  port?: number;
  /** Address clients are told to use, `HOST:PORT`. Default: the bound address. */
  advertise?: string;
  /** Where partitions live. Default `"./data"`. */
  dataDir?: string;
  /** Partitions of an auto-created topic. Default 1. */
  partitions?: number;
  /** Create topics on first use (Metadata). Default true. */
  autoCreateTopics?: boolean;
  /** Segment writer. Default `"pwrite"`. */
  writer?: "pwrite" | "mmap";
  /** How fetched records reach the socket. Default `"sendfile"`. */
  fetchPath?: "sendfile" | "copy";
  /** Defaults for every topic, by Kafka property name (`"segment.bytes"`, ...). */
  topicDefaults?: Record<string, string>;
  /** Default `"warn"` when embedded. */
  logLevel?: LogLevel;
  /** Ports to run on (tests may inject the in-memory libc). Default: the runtime's. */
  libc?: Libc;
  runtime?: Runtime;
}

/** A running broker. */
export interface BrokerHandle {
  readonly hostname: string;
  readonly port: number;
  /** `"host:port"`, ready for a client's bootstrap servers. */
  readonly bootstrap: string;
  readonly config: BrokerConfig;
  /** Live counters: bytes sent by sendfile and by copy, requests, connections. */
  readonly counters: Readonly<BrokerCounters>;
  /** Open client connections. */
  connectionCount(): number;
  /** Resolves when the next long-poll fetch parks, waiting for data (for ordering tests). */
  nextFetchPark(): Promise<void>;
  /** Resolves with the reason when the next parked fetch is released. */
  nextFetchUnpark(): Promise<"appended" | "timeout" | "aborted">;
  /** Stops the broker: connections closed, logs flushed and closed. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts a broker in this process. */
export async function startBroker(options: StartBrokerOptions = {}): Promise<BrokerHandle> {
  const flags: Record<string, string> = {
    listen: `${options.hostname ?? "127.0.0.1"}:${options.port ?? 9092}`,
    "log-level": options.logLevel ?? "warn",
  };
  if (options.advertise !== undefined) flags["advertise"] = options.advertise;
  if (options.dataDir !== undefined) flags["data-dir"] = options.dataDir;
  if (options.partitions !== undefined) flags["partitions"] = String(options.partitions);
  if (options.autoCreateTopics !== undefined) {
    flags["auto-create"] = String(options.autoCreateTopics);
  }
  if (options.writer !== undefined) flags["writer"] = options.writer;
  if (options.fetchPath !== undefined) flags["fetch-path"] = options.fetchPath;
  const config = resolveConfig([{ options: flags, topics: options.topicDefaults ?? {} }]);
  const deps: BrokerDeps = { libc: options.libc, runtime: options.runtime };
  const broker = await Broker.start(config, deps);
  const { hostname, port } = broker.address;
  return {
    hostname,
    port,
    bootstrap: `${hostname}:${port}`,
    config,
    counters: broker.counters,
    connectionCount: () => broker.connectionCount,
    nextFetchPark: () => broker.waiters.nextPark(),
    nextFetchUnpark: () => broker.waiters.nextUnpark(),
    close: () => broker.close(),
    [Symbol.asyncDispose]: () => broker.close(),
  };
}
