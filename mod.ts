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
import {
  type BoundListener,
  ListenerStartError,
  type TlsReloadResult,
} from "./broker/kafka_listeners.ts";
import type { GroupCoordinator } from "./broker/groups/coordinator.ts";
import type { ClusterNode } from "./broker/cluster/cluster_node.ts";
import type { TransactionCoordinator } from "./broker/transactions/coordinator.ts";
import type { Libc, Runtime } from "./ffi/port.ts";
import type { LogLevel } from "./util/log.ts";
import { startBrokerFlags } from "./_start_flags.ts";

export type {
  BoundListener,
  BrokerConfig,
  BrokerCounters,
  Libc,
  LogLevel,
  Runtime,
  TlsReloadResult,
};

/** Consumer groups as an embedding program or a test sees them. */
export type GroupsHandle = Pick<
  GroupCoordinator,
  "lag" | "describe" | "list" | "state" | "groupIds" | "waitFor"
>;
/** Transactions as an embedding program or a test sees them. */
export type TransactionsHandle = Pick<
  TransactionCoordinator,
  "list" | "describe" | "idle" | "counters"
>;
export { ConfigError, ListenerStartError };

/** Options of {@linkcode startBroker}; every one has a default. */
export interface StartBrokerOptions {
  /** Interface to listen on. Default `"127.0.0.1"`. */
  hostname?: string;
  /** Port to listen on; `0` picks a free one. Default `9092`. */
  port?: number;
  /** Address clients are told to use, `HOST:PORT`. Default: the bound address. */
  advertise?: string;
  /**
   * Kafka's `listeners`, e.g. `"PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0"` (port 0: a free
   * one each), in place of `hostname` and `port` (giving both is an error).
   */
  listeners?: string;
  /** Kafka's `advertised.listeners`, `NAME://HOST:PORT,...`. Default: the bound addresses. */
  advertisedListeners?: string;
  /** Kafka's `listener.security.protocol.map`, `NAME:PROTOCOL,...` (custom listener names). */
  listenerSecurityProtocolMap?: string;
  /** Kafka's `inter.broker.listener.name`. Default `PLAINTEXT`, else the first listener. */
  interBrokerListenerName?: string;
  /** Certificate and key (PEM files) of SSL and SASL_SSL listeners, and client-certificate policy. */
  tls?: {
    certFile: string;
    keyFile: string;
    /** CA (PEM) that client certificates must chain to. */
    caFile?: string;
    /** Kafka's ssl.client.auth. Default `"none"`; others need Bun. */
    clientAuth?: "none" | "requested" | "required";
  };
  /** Where partitions live. Default `"./data"`. */
  dataDir?: string;
  /** Partitions of an auto-created topic. Default 1. */
  partitions?: number;
  /** Create topics on first use (Metadata). Default true. */
  autoCreateTopics?: boolean;
  /** Segment writer. Default `"pwrite"`. */
  writer?: "pwrite" | "mmap";
  /**
   * How fetched records reach the socket. Default `"auto"`: sendfile in both
   * runtimes (copy, pread + write, where the runtime hides the socket's fd).
   */
  fetchPath?: "auto" | "sendfile" | "copy";
  /** `"sync"`: acks=all waits for the disk (group commit). Default `"async"` (the page cache). */
  flush?: "sync" | "async";
  /** How often retention and compaction run. Default 300000. */
  retentionCheckIntervalMs?: number;
  /** Defaults for every topic, by Kafka property name (`"segment.bytes"`, ...). */
  topicDefaults?: Record<string, string>;
  /** Kafka's group.initial.rebalance.delay.ms. Default 0. */
  groupInitialRebalanceDelayMs?: number;
  /** Kafka's group.min.session.timeout.ms (default 6000) and group.max.session.timeout.ms. */
  groupMinSessionTimeoutMs?: number;
  groupMaxSessionTimeoutMs?: number;
  /** Kafka's offsets.retention.minutes. Default 10080 (7 days). */
  offsetsRetentionMinutes?: number;
  /**
   * The HTTP API, /metrics and console: `{ port: 0 }` picks a free port on
   * 127.0.0.1. Default off when embedded (the CLI defaults to 127.0.0.1:8080).
   */
  http?: { hostname?: string; port: number } | false;
  /** Largest HTTP request body. Default 10485760. */
  httpMaxBodyBytes?: number;
  /** Serve the HTTP API over HTTPS with the certificate and key of `tls`. Default false. */
  httpTls?: boolean;
  /**
   * `"required"`: HTTP calls need Basic credentials or a bearer JWT. Default:
   * required when an authorizer or a SASL listener is configured, else none.
   */
  httpAuth?: "none" | "required";
  /** `"none"`: /metrics and /health/* answer without credentials. Default: as `httpAuth`. */
  httpOpsAuth?: "none" | "required";
  /** Bytes per second each client id may produce (Kafka's quota.producer.default). Default unlimited. */
  quotaProducerByteRate?: number;
  /** Bytes per second each client id may fetch (Kafka's quota.consumer.default). Default unlimited. */
  quotaConsumerByteRate?: number;
  /** Samples a client's byte rate is measured over (Kafka's quota.window.num). Default 11. */
  quotaWindowNum?: number;
  /** Length of one quota sample (Kafka's quota.window.size.seconds). Default 1. */
  quotaWindowSizeSeconds?: number;
  /** Default `"warn"` when embedded. */
  logLevel?: LogLevel;
  /** Largest request frame (Kafka's socket.request.max.bytes). Default 104857600. */
  requestMaxBytes?: number;
  /**
   * Bytes of requests read but not yet answered, across all connections
   * (Kafka's queued.max.request.bytes; -1 unbounded). Default: `requestMaxBytes`.
   */
  queuedMaxRequestBytes?: number;
  /** Close a connection with no traffic for this long (Kafka's connections.max.idle.ms). Default 600000. */
  connectionsMaxIdleMs?: number;
  /** Close a connection whose request frame is not whole this long after its first byte. Default 30000. */
  connectionsFrameTimeoutMs?: number;
  /** Open client connections at most (Kafka's max.connections). Default unlimited. */
  maxConnections?: number;
  /** Open client connections per IP address at most (Kafka's max.connections.per.ip). Default unlimited. */
  maxConnectionsPerIp?: number;
  /** This broker's id in a cluster (Kafka's node.id). Default 0. */
  nodeId?: number;
  /** etcd client URLs: join a cluster (Kafka's ZooKeeper role). Default none: a single node. */
  etcd?: readonly string[];
  /** Kafka's broker.rack (rack-aware replica assignment). */
  brokerRack?: string;
  /** Kafka's default.replication.factor (cluster). Default 1. */
  defaultReplicationFactor?: number;
  /** Kafka's broker.session.timeout.ms: the etcd lease TTL (cluster). Default 9000. */
  brokerSessionTimeoutMs?: number;
  /** Kafka's offsets.topic.num.partitions (cluster). Default 50. */
  offsetsTopicNumPartitions?: number;
  /** Kafka's offsets.topic.replication.factor (cluster). Default 3. */
  offsetsTopicReplicationFactor?: number;
  /** Kafka's transaction.state.log.num.partitions. Default 50. */
  transactionStateLogNumPartitions?: number;
  /** Kafka's transaction.state.log.replication.factor (cluster; capped by live brokers). Default 3. */
  transactionStateLogReplicationFactor?: number;
  /** Kafka's auto.leader.rebalance.enable (cluster). Default true. */
  autoLeaderRebalance?: boolean;
  /** Kafka's replica.lag.time.max.ms (cluster). Default 30000. */
  replicaLagTimeMaxMs?: number;
  /** Kafka's replica.fetch.backoff.ms (cluster). Default 1000. */
  replicaFetchBackoffMs?: number;
  /** Kafka's replica.socket.timeout.ms (cluster). Default 30000. */
  replicaSocketTimeoutMs?: number;
  /** Kafka's transaction.max.timeout.ms. Default 900000. */
  transactionMaxTimeoutMs?: number;
  /** Kafka's transaction.abort.timed.out.transaction.cleanup.interval.ms. Default 10000. */
  transactionAbortTimedOutTransactionCleanupIntervalMs?: number;
  /**
   * Check every request against ACLs (Kafka's authorizer.class.name); `"acl"` is the
   * only authorizer. Default none: everything is allowed.
   */
  authorizer?: "acl";
  /** Principals the authorizer allows everything (Kafka's super.users), e.g. `["User:admin"]`. */
  superUsers?: readonly string[];
  /** With an authorizer, a resource without ACLs is open to all (Kafka's allow.everyone.if.no.acl.found). Default false. */
  allowEveryoneIfNoAclFound?: boolean;
  /** Ports to run on (tests may inject the in-memory libc). Default: the runtime's. */
  libc?: Libc;
  runtime?: Runtime;
}

/** A running broker. */
export interface BrokerHandle {
  /** The first listener's bound address. */
  readonly hostname: string;
  readonly port: number;
  /** `"host:port"` of the first listener, ready for a client's bootstrap servers. */
  readonly bootstrap: string;
  /** Every Kafka listener as bound (name, security protocol, host, port). */
  readonly listeners: readonly BoundListener[];
  readonly config: BrokerConfig;
  /** `http(s)://host:port` of the HTTP API and console, or undefined when HTTP is off. */
  readonly httpUrl: string | undefined;
  /** Live counters: bytes sent by sendfile and by copy, requests, connections. */
  readonly counters: Readonly<BrokerCounters>;
  /** Consumer groups: lag, descriptions, and `waitFor` to await a group change. */
  readonly groups: GroupsHandle;
  /** Transactions: `list`, `describe`, and `idle` to await the markers in flight. */
  readonly transactions: TransactionsHandle;
  /** Open client connections. */
  connectionCount(): number;
  /** Cluster membership and metadata (with `etcd`), else undefined. */
  readonly cluster: ClusterNode | undefined;
  /** Resolves when the next long-poll fetch parks, waiting for data (for ordering tests). */
  nextFetchPark(): Promise<void>;
  /** Resolves with the reason when the next parked fetch is released. */
  nextFetchUnpark(): Promise<"appended" | "timeout" | "aborted">;
  /** Reads the TLS certificate and key again, as SIGHUP does (a bad file keeps the old one). */
  reloadTls(): Promise<TlsReloadResult>;
  /** Stops the broker: connections closed, logs flushed and closed. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts a broker in this process. */
export async function startBroker(options: StartBrokerOptions = {}): Promise<BrokerHandle> {
  const flags = startBrokerFlags(options);
  const config = resolveConfig([{ options: flags, topics: options.topicDefaults ?? {} }]);
  const deps: BrokerDeps = { libc: options.libc, runtime: options.runtime };
  const broker = await Broker.start(config, deps);
  const { hostname, port } = broker.address;
  return {
    hostname,
    port,
    bootstrap: `${hostname}:${port}`,
    listeners: broker.listeners,
    httpUrl: broker.httpUrl,
    config,
    counters: broker.counters,
    groups: broker.groups,
    transactions: broker.transactions,
    connectionCount: () => broker.connectionCount,
    get cluster() {
      return broker.cluster;
    },
    nextFetchPark: () => broker.waiters.nextPark(),
    nextFetchUnpark: () => broker.waiters.nextUnpark(),
    reloadTls: () => broker.reloadTls(),
    close: () => broker.close(),
    [Symbol.asyncDispose]: () => broker.close(),
  };
}
