/**
 * Broker settings: one table of options, read from (lowest to highest
 * precedence) built-in defaults, a config file (`--config`, Kafka
 * `server.properties` style or JSON), environment variables (`DENKA_*`) and
 * the command line. Every limit carries its unit in its name.
 *
 * @module
 */
import {
  INTER_BROKER_SASL_MECHANISMS,
  type InterBrokerSaslMechanism,
} from "./cluster/inter_broker_login.ts";
import { TXN_SETTINGS_DEFAULT, type TxnSettings } from "./transactions/settings.ts";
import { parseArgs } from "../util/args.ts";
import type { LogLevel } from "../util/log.ts";
import {
  type ListenerConfig,
  ListenerConfigError,
  resolveListeners,
  usesTls,
} from "./listeners.ts";
import { resolveTlsSettings, TlsMaterialError, type TlsSettings } from "./tls.ts";
import {
  resolveSaslConfig,
  SASL_OPTION_DEFS,
  type SaslConfig,
  SaslConfigError,
} from "./security/sasl_config.ts";
import {
  defaultTopicConfigs,
  TopicConfigError,
  type TopicConfigs,
  validateTopicConfig,
} from "./topic_config.ts";

/** A host and port. */
export interface HostPort {
  readonly hostname: string;
  readonly port: number;
}

/** Everything the broker needs to start. */
export interface BrokerConfig {
  readonly nodeId: number;
  readonly clusterId: string;
  /** The first listener's address (`--listen`, or the first of `listeners`). */
  readonly listen: HostPort;
  /** What Metadata tells clients of the first listener to connect to; defaults to `listen`. */
  readonly advertise: HostPort | undefined;
  /** Every Kafka listener (Kafka's listeners, advertised.listeners, listener.security.protocol.map). */
  readonly listeners: readonly ListenerConfig[];
  /** Kafka's inter.broker.listener.name: the name of the listener other brokers use. */
  readonly interBrokerListenerName: string;
  /** The certificate and key of SSL and SASL_SSL listeners; undefined when not set. */
  readonly tls: TlsSettings | undefined;
  readonly dataDir: string;
  readonly defaultPartitions: number;
  readonly autoCreateTopics: boolean;
  readonly writerKind: "pwrite" | "mmap";
  /** `"auto"` picks by runtime, from `deno task bench` figures (see `resolveFetchPath`). */
  readonly fetchPath: "auto" | "sendfile" | "copy";
  /** Largest request frame accepted (Kafka's socket.request.max.bytes). */
  readonly requestSizeBytesMax: number;
  /** `sync`: acks=all is answered once the data is on disk (group commit); `async`: the page cache. */
  readonly flushMode: "sync" | "async";
  /** How often retention, compaction and producer expiry run (log.retention.check.interval.ms). */
  readonly retentionCheckIntervalMs: number;
  /** The HTTP API, metrics and console listener; `undefined` when `--http off`. */
  readonly http: HostPort | undefined;
  /** Largest HTTP request body accepted. */
  readonly httpBodySizeBytesMax: number;
  /** Serve the HTTP listener over HTTPS with `tlsCertFile` and `tlsKeyFile`. */
  readonly httpTls: boolean;
  /** Credentials on the HTTP API and console; `undefined`: decided by `resolveHttpAuth`. */
  readonly httpAuth: "none" | "required" | undefined;
  /** Credentials on `/metrics` and `/health/*`; `undefined`: as `httpAuth`. */
  readonly httpOpsAuth: "none" | "required" | undefined;
  /** PEM certificate chain (Kafka's ssl.certificate.location). */
  readonly tlsCertFile: string | undefined;
  /** PEM private key (Kafka's ssl.key.location). */
  readonly tlsKeyFile: string | undefined;
  /** Where `main.ts` writes the counters as JSON on SIGUSR2 and at stop (benchmarks); off when unset. */
  readonly statsFile: string | undefined;
  /** Kafka's group.initial.rebalance.delay.ms: how long a new group's first rebalance waits for more members. */
  readonly groupInitialRebalanceDelayMs: number;
  /** Kafka's group.min.session.timeout.ms / group.max.session.timeout.ms. */
  readonly groupMinSessionTimeoutMs: number;
  readonly groupMaxSessionTimeoutMs: number;
  /** Kafka's offsets.retention.minutes (committed offsets of groups left Empty). */
  readonly offsetsRetentionMinutes: number;
  /** Kafka's offsets.retention.check.interval.ms. */
  readonly offsetsRetentionCheckIntervalMs: number;
  /** Kafka's offset.metadata.max.bytes. */
  readonly offsetMetadataMaxBytes: number;
  /** The transaction coordinator's settings (transaction.max.timeout.ms, ...). */
  readonly txnSettings: TxnSettings;
  /** Kafka's max.incremental.fetch.session.cache.slots: fetch sessions held at once (0: none). */
  readonly fetchSessionCacheSlotsMax: number;
  /** Kafka's quota.producer.default: bytes/s any client id may produce; undefined = unlimited. */
  readonly quotaProducerBytesPerSec: number | undefined;
  /** Kafka's quota.consumer.default: bytes/s any client id may fetch; undefined = unlimited. */
  readonly quotaConsumerBytesPerSec: number | undefined;
  /** Kafka's quota.window.num: samples a client's byte rate is measured over. */
  readonly quotaWindowCount: number;
  /** Kafka's quota.window.size.seconds, in ms: the length of one sample. */
  readonly quotaWindowSizeMs: number;
  readonly logLevel: LogLevel;
  /**
   * Kafka's queued.max.request.bytes: bytes of requests read and not yet
   * answered, across all connections (`Infinity` for -1, unbounded). At
   * least `requestSizeBytesMax`, so the largest request always fits.
   */
  readonly queuedRequestBytesMax: number;
  /** Kafka's connections.max.idle.ms: a connection with no traffic for this long is closed. */
  readonly connectionsIdleMsMax: number;
  /** How long a request frame may take to arrive whole once its first byte has (Denka's own limit). */
  readonly frameTimeoutMs: number;
  /** Kafka's max.connections. */
  readonly connectionsMax: number;
  /** Kafka's max.connections.per.ip. */
  readonly connectionsPerIpMax: number;
  /** Defaults for every topic, by Kafka topic property name. */
  readonly topicDefaults: TopicConfigs;
  /** Kafka's authorizer.class.name: `"acl"` checks every request against ACLs; undefined: all allowed. */
  readonly authorizer: "acl" | undefined;
  /** Kafka's super.users: principals (`User:NAME`) the authorizer allows everything. */
  readonly superUsers: readonly string[];
  /** Kafka's allow.everyone.if.no.acl.found: a resource without ACLs is open to all. */
  readonly allowEveryoneIfNoAclFound: boolean;
  /** SASL on the Kafka listeners (mechanisms, OAUTHBEARER token checks, re-authentication). */
  readonly sasl: SaslConfig;
  /** Cluster membership (`--etcd`); undefined: a single node, as before. */
  readonly cluster: ClusterConfig | undefined;
}

/** A broker's cluster settings (Kafka's names). */
export interface ClusterConfig {
  /** etcd client URLs (etcd.endpoints). */
  readonly etcdEndpoints: readonly string[];
  /** broker.rack, for rack-aware replica assignment. */
  readonly rack: string | undefined;
  /** default.replication.factor: of auto-created topics and CreateTopics with -1. */
  readonly defaultReplicationFactor: number;
  /** offsets.topic.replication.factor and offsets.topic.num.partitions. */
  readonly offsetsTopicReplicationFactor: number;
  readonly offsetsTopicPartitions: number;
  /** transaction.state.log.replication.factor (capped by the live brokers when created). */
  readonly txnStateLogReplicationFactor: number;
  /** broker.session.timeout.ms: the registration lease's TTL. */
  readonly sessionTimeoutMs: number;
  /** auto.leader.rebalance.enable, leader.imbalance.check.interval.seconds (in ms), leader.imbalance.per.broker.percentage. */
  readonly autoLeaderRebalance: boolean;
  readonly leaderImbalanceCheckIntervalMs: number;
  readonly leaderImbalancePercent: number;
  /** replica.lag.time.max.ms, replica.fetch.backoff.ms, replica.socket.timeout.ms. */
  readonly replicaLagTimeMaxMs: number;
  readonly replicaFetchBackoffMs: number;
  readonly replicaSocketTimeoutMs: number;
  /**
   * On a SASL inter-broker listener, this broker's login there (the password is read
   * from `passwordFile` when the broker joins the cluster).
   */
  readonly interBrokerSasl?: {
    readonly mechanism: InterBrokerSaslMechanism;
    readonly username: string;
    readonly passwordFile: string;
  };
  /** On an SSL or SASL_SSL inter-broker listener: the CA file to trust (`tls-ca`), else the system roots. */
  readonly interBrokerTls?: { readonly caFile: string | undefined };
}

type Kind = "hostport" | "string" | "int" | "bool" | "enum";

interface OptionDef {
  readonly name: string;
  readonly kind: Kind;
  readonly defaultValue?: string;
  /** Kafka broker property accepted in config files. */
  readonly kafkaKey?: string;
  /** Topic property this option sets the default of. */
  readonly topicKey?: string;
  readonly choices?: readonly string[];
  readonly doc: string;
}

/** The broker's options; `--name`, `DENKA_NAME`, and `name=` in a config file. */
export const optionDefs: readonly OptionDef[] = [
  {
    name: "listen",
    kind: "hostport",
    doc: "one PLAINTEXT Kafka listener, the short form of --listeners (default 127.0.0.1:9092)",
  },
  { name: "advertise", kind: "hostport", doc: "address given to clients (default: --listen)" },
  {
    name: "listeners",
    kind: "string",
    kafkaKey: "listeners",
    doc:
      "Kafka listeners, NAME://HOST:PORT,... (e.g. PLAINTEXT://127.0.0.1:9092,SSL://0.0.0.0:9093)",
  },
  {
    name: "advertised-listeners",
    kind: "string",
    kafkaKey: "advertised.listeners",
    doc: "what each listener's clients are told to connect to, NAME://HOST:PORT,...",
  },
  {
    name: "listener-security-protocol-map",
    kind: "string",
    kafkaKey: "listener.security.protocol.map",
    doc:
      "security protocol of each listener name, NAME:PROTOCOL,... (default: a name that is a protocol uses it)",
  },
  {
    name: "inter-broker-listener-name",
    kind: "string",
    kafkaKey: "inter.broker.listener.name",
    doc: "the listener other brokers use (default PLAINTEXT, else the first listener)",
  },
  {
    name: "tls-cert",
    kind: "string",
    kafkaKey: "ssl.certificate.location",
    doc:
      "PEM certificate chain of SSL and SASL_SSL listeners (reloaded on SIGHUP) and of HTTPS (--http-tls)",
  },
  {
    name: "sasl-mechanism-inter-broker-protocol",
    kind: "enum",
    defaultValue: "PLAIN",
    choices: INTER_BROKER_SASL_MECHANISMS,
    kafkaKey: "sasl.mechanism.inter.broker.protocol",
    doc:
      "SASL mechanism brokers log in to each other with on a SASL inter-broker listener; the principal needs CLUSTER_ACTION on the cluster or a place in super.users when an authorizer is on",
  },
  {
    name: "inter-broker-username",
    kind: "string",
    doc:
      "this broker's SASL user on a SASL inter-broker listener (Kafka: listener.name.<listener>.<mechanism>.sasl.jaas.config)",
  },
  {
    name: "inter-broker-password-file",
    kind: "string",
    doc:
      "file holding the password of --inter-broker-username (one line; trailing newline ignored)",
  },
  {
    name: "tls-key",
    kind: "string",
    kafkaKey: "ssl.key.location",
    doc: "PEM private key (unencrypted) of the certificate (reloaded on SIGHUP)",
  },
  {
    name: "tls-ca",
    kind: "string",
    kafkaKey: "ssl.truststore.location",
    doc: "PEM CA certificates client certificates must chain to",
  },
  {
    name: "ssl-client-auth",
    kind: "enum",
    defaultValue: "none",
    choices: ["none", "requested", "required"],
    kafkaKey: "ssl.client.auth",
    doc: "ask TLS clients for a certificate; its subject becomes the principal (Bun only)",
  },
  {
    name: "data-dir",
    kind: "string",
    defaultValue: "./data",
    kafkaKey: "log.dirs",
    doc: "where partitions live",
  },
  { name: "config", kind: "string", doc: "config file (key=value lines, or .json)" },
  {
    name: "stats-file",
    kind: "string",
    doc: "write the counters as JSON here on SIGUSR2 and at stop (benchmarks)",
  },
  {
    name: "partitions",
    kind: "int",
    defaultValue: "1",
    kafkaKey: "num.partitions",
    doc: "partitions of an auto-created topic",
  },
  {
    name: "segment-bytes",
    kind: "int",
    kafkaKey: "log.segment.bytes",
    topicKey: "segment.bytes",
    doc: "segment size before roll (default 1073741824)",
  },
  {
    name: "segment-ms",
    kind: "int",
    kafkaKey: "log.roll.ms",
    topicKey: "segment.ms",
    doc: "segment age before roll (default 604800000)",
  },
  {
    name: "index-interval-bytes",
    kind: "int",
    kafkaKey: "log.index.interval.bytes",
    topicKey: "index.interval.bytes",
    doc: "log bytes between index entries (default 4096)",
  },
  {
    name: "segment-index-bytes",
    kind: "int",
    kafkaKey: "log.index.size.max.bytes",
    topicKey: "segment.index.bytes",
    doc: "preallocated index file size (default 10485760)",
  },
  {
    name: "max-message-bytes",
    kind: "int",
    kafkaKey: "message.max.bytes",
    topicKey: "max.message.bytes",
    doc: "largest record batch (default 1048588)",
  },
  {
    name: "auto-create",
    kind: "bool",
    defaultValue: "true",
    kafkaKey: "auto.create.topics.enable",
    doc: "create topics on first use",
  },
  {
    name: "writer",
    kind: "enum",
    defaultValue: "pwrite",
    choices: ["pwrite", "mmap"],
    doc: "segment writer",
  },
  {
    name: "fetch-path",
    kind: "enum",
    defaultValue: "auto",
    choices: ["auto", "sendfile", "copy"],
    doc:
      "how fetched records reach the socket (auto: sendfile, which measured at least as fast as the copy path in both runtimes and costs less CPU)",
  },
  {
    name: "request-max-bytes",
    kind: "int",
    defaultValue: "104857600",
    kafkaKey: "socket.request.max.bytes",
    doc: "largest request frame",
  },
  {
    name: "http",
    kind: "string",
    defaultValue: "127.0.0.1:8080",
    doc: "HTTP API, /metrics and web console (HOST:PORT, or off)",
  },
  {
    name: "http-max-body-bytes",
    kind: "int",
    defaultValue: "10485760",
    doc: "largest HTTP request body",
  },
  {
    name: "http-tls",
    kind: "bool",
    defaultValue: "false",
    doc: "serve the HTTP API and console over HTTPS with --tls-cert and --tls-key",
  },
  {
    name: "http-auth",
    kind: "enum",
    choices: ["none", "required"],
    doc:
      "required: every HTTP call needs Basic credentials (checked against the SCRAM credentials) or a bearer JWT (default: required when an authorizer or a SASL listener is configured, else none)",
  },
  {
    name: "http-ops-auth",
    kind: "enum",
    choices: ["none", "required"],
    doc:
      "none: /metrics and /health/* answer without credentials (for scrapers and probes); default: as --http-auth",
  },
  {
    name: "flush",
    kind: "enum",
    defaultValue: "async",
    choices: ["async", "sync"],
    doc: "sync: acks=all waits for fdatasync (group commit); async: the page cache",
  },
  {
    name: "retention-check-interval-ms",
    kind: "int",
    defaultValue: "300000",
    kafkaKey: "log.retention.check.interval.ms",
    doc: "how often retention and compaction run",
  },
  {
    name: "group-initial-rebalance-delay-ms",
    kind: "int",
    defaultValue: "0",
    kafkaKey: "group.initial.rebalance.delay.ms",
    doc: "wait for more members before a new group's first rebalance (Kafka's default is 3000)",
  },
  {
    name: "group-min-session-timeout-ms",
    kind: "int",
    defaultValue: "6000",
    kafkaKey: "group.min.session.timeout.ms",
    doc: "shortest session timeout a group member may ask for",
  },
  {
    name: "group-max-session-timeout-ms",
    kind: "int",
    defaultValue: "1800000",
    kafkaKey: "group.max.session.timeout.ms",
    doc: "longest session timeout a group member may ask for",
  },
  {
    name: "offsets-retention-minutes",
    kind: "int",
    defaultValue: "10080",
    kafkaKey: "offsets.retention.minutes",
    doc: "keep committed offsets this long after their group became empty",
  },
  {
    name: "offsets-retention-check-interval-ms",
    kind: "int",
    defaultValue: "600000",
    kafkaKey: "offsets.retention.check.interval.ms",
    doc: "how often expired committed offsets are removed",
  },
  {
    name: "offset-metadata-max-bytes",
    kind: "int",
    defaultValue: "4096",
    kafkaKey: "offset.metadata.max.bytes",
    doc: "largest metadata string of a committed offset",
  },
  {
    name: "transaction-max-timeout-ms",
    kind: "int",
    defaultValue: "900000",
    kafkaKey: "transaction.max.timeout.ms",
    doc: "largest transaction.timeout.ms a transactional producer may ask for",
  },
  {
    name: "transaction-abort-timed-out-transaction-cleanup-interval-ms",
    kind: "int",
    defaultValue: "10000",
    kafkaKey: "transaction.abort.timed.out.transaction.cleanup.interval.ms",
    doc: "how often transactions open longer than their timeout are aborted",
  },
  {
    name: "transactional-id-expiration-ms",
    kind: "int",
    defaultValue: "604800000",
    kafkaKey: "transactional.id.expiration.ms",
    doc: "forget a transactional id idle this long",
  },
  {
    name: "transaction-remove-expired-transaction-cleanup-interval-ms",
    kind: "int",
    defaultValue: "3600000",
    kafkaKey: "transaction.remove.expired.transaction.cleanup.interval.ms",
    doc: "how often expired transactional ids are removed",
  },
  {
    name: "transaction-state-log-num-partitions",
    kind: "int",
    defaultValue: "50",
    kafkaKey: "transaction.state.log.num.partitions",
    doc: "partitions of __transaction_state (which one owns a transactional id)",
  },
  {
    name: "fetch-session-cache-slots",
    kind: "int",
    defaultValue: "1000",
    kafkaKey: "max.incremental.fetch.session.cache.slots",
    doc: "incremental fetch sessions (KIP-227) held at once; 0 turns them off",
  },
  {
    name: "quota-producer-byte-rate",
    kind: "int",
    kafkaKey: "quota.producer.default",
    doc:
      "bytes/s each client id may produce, unless a client quota says otherwise (default unlimited)",
  },
  {
    name: "quota-consumer-byte-rate",
    kind: "int",
    kafkaKey: "quota.consumer.default",
    doc:
      "bytes/s each client id may fetch, unless a client quota says otherwise (default unlimited)",
  },
  {
    name: "quota-window-num",
    kind: "int",
    defaultValue: "11",
    kafkaKey: "quota.window.num",
    doc: "samples a client's byte rate is measured over",
  },
  {
    name: "quota-window-size-seconds",
    kind: "int",
    defaultValue: "1",
    kafkaKey: "quota.window.size.seconds",
    doc: "length of one quota sample",
  },
  {
    name: "node-id",
    kind: "int",
    defaultValue: "0",
    kafkaKey: "node.id",
    doc: "this broker's id in a cluster",
  },
  {
    name: "etcd",
    kind: "string",
    defaultValue: "",
    kafkaKey: "etcd.endpoints",
    doc: "etcd client URLs, comma-separated (a cluster); none: a single node",
  },
  { name: "broker-rack", kind: "string", kafkaKey: "broker.rack", doc: "rack of this broker" },
  {
    name: "default-replication-factor",
    kind: "int",
    defaultValue: "1",
    kafkaKey: "default.replication.factor",
    doc: "replicas of an auto-created topic (cluster)",
  },
  {
    name: "offsets-topic-replication-factor",
    kind: "int",
    defaultValue: "3",
    kafkaKey: "offsets.topic.replication.factor",
    doc: "replicas of __consumer_offsets (cluster)",
  },
  {
    name: "transaction-state-log-replication-factor",
    kind: "int",
    defaultValue: "3",
    kafkaKey: "transaction.state.log.replication.factor",
    doc: "replicas of __transaction_state (cluster)",
  },
  {
    name: "offsets-topic-num-partitions",
    kind: "int",
    defaultValue: "50",
    kafkaKey: "offsets.topic.num.partitions",
    doc: "partitions of __consumer_offsets (cluster)",
  },
  {
    name: "broker-session-timeout-ms",
    kind: "int",
    defaultValue: "9000",
    kafkaKey: "broker.session.timeout.ms",
    doc: "a broker silent this long leaves the cluster (its etcd lease TTL)",
  },
  {
    name: "auto-leader-rebalance",
    kind: "bool",
    defaultValue: "true",
    kafkaKey: "auto.leader.rebalance.enable",
    doc: "move leadership back to preferred replicas (cluster)",
  },
  {
    name: "leader-imbalance-check-interval-seconds",
    kind: "int",
    defaultValue: "300",
    kafkaKey: "leader.imbalance.check.interval.seconds",
    doc: "how often the controller checks leader imbalance",
  },
  {
    name: "leader-imbalance-per-broker-percentage",
    kind: "int",
    defaultValue: "10",
    kafkaKey: "leader.imbalance.per.broker.percentage",
    doc: "imbalance a broker may have before a rebalance",
  },
  {
    name: "replica-lag-time-max-ms",
    kind: "int",
    defaultValue: "30000",
    kafkaKey: "replica.lag.time.max.ms",
    doc: "a follower not caught up this long leaves the ISR (cluster)",
  },
  {
    name: "replica-fetch-backoff-ms",
    kind: "int",
    defaultValue: "1000",
    kafkaKey: "replica.fetch.backoff.ms",
    doc: "a follower's wait after a fetch error (cluster)",
  },
  {
    name: "replica-socket-timeout-ms",
    kind: "int",
    defaultValue: "30000",
    kafkaKey: "replica.socket.timeout.ms",
    doc: "a follower's fetch unanswered this long closes its link (cluster)",
  },
  {
    name: "cluster-id",
    kind: "string",
    defaultValue: "denka-cluster",
    kafkaKey: "cluster.id",
    doc: "cluster id in Metadata",
  },
  {
    name: "log-level",
    kind: "enum",
    defaultValue: "info",
    choices: ["debug", "info", "warn", "error", "silent"],
    doc: "log verbosity",
  },
  {
    name: "queued-max-request-bytes",
    kind: "int",
    kafkaKey: "queued.max.request.bytes",
    doc:
      "bytes of requests read but not yet answered, across all connections; past it connections stop reading until there is room (-1: unbounded, Kafka's default; default here: request-max-bytes, 104857600, so the broker's request memory is bounded yet the largest request fits; must be -1 or at least request-max-bytes)",
  },
  {
    name: "connections-max-idle-ms",
    kind: "int",
    defaultValue: "600000",
    kafkaKey: "connections.max.idle.ms",
    doc: "close a connection with no traffic for this long",
  },
  {
    name: "connections-frame-timeout-ms",
    kind: "int",
    defaultValue: "30000",
    doc:
      "close a connection whose request frame has not arrived whole this long after its first byte (Denka's own limit; 30 s is the clients' default request.timeout.ms, after which they give up on the request anyway)",
  },
  {
    name: "max-connections",
    kind: "int",
    defaultValue: "2147483647",
    kafkaKey: "max.connections",
    doc: "open client connections at most; more are closed at once",
  },
  {
    name: "max-connections-per-ip",
    kind: "int",
    defaultValue: "2147483647",
    kafkaKey: "max.connections.per.ip",
    doc: "open client connections from one IP address at most; more are closed at once",
  },
  {
    name: "authorizer",
    kind: "string",
    kafkaKey: "authorizer.class.name",
    doc:
      "check every request against ACLs: acl (or Kafka's kafka.security.authorizer.AclAuthorizer or org.apache.kafka.metadata.authorizer.StandardAuthorizer); default none, everything allowed",
  },
  {
    name: "super-users",
    kind: "string",
    kafkaKey: "super.users",
    doc: "principals the authorizer allows everything, e.g. User:admin;User:ops",
  },
  {
    name: "allow-everyone-if-no-acl-found",
    kind: "bool",
    defaultValue: "false",
    kafkaKey: "allow.everyone.if.no.acl.found",
    doc: "with an authorizer, allow everyone on a resource that has no ACL",
  },
  ...SASL_OPTION_DEFS,
];

/** The values `authorizer.class.name` accepts for the ACL authorizer. */
const ACL_AUTHORIZER_NAMES: readonly string[] = [
  "acl",
  "kafka.security.authorizer.AclAuthorizer",
  "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
];

/** The Kafka listener when neither `listen` nor `listeners` is set. */
export const DEFAULT_LISTEN = "127.0.0.1:9092";

/** A setting that cannot be used, with a sentence saying why. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Parses `HOST:PORT` (IPv6 in brackets). */
export function parseHostPort(value: string): HostPort {
  const m = /^(\[[^\]]+\]|[^:]*):(\d{1,5})$/.exec(value.trim());
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || port > 65535) {
    throw new ConfigError(`Address "${value}" is not HOST:PORT.`);
  }
  const hostname = m[1].replace(/^\[|\]$/g, "") || "0.0.0.0";
  return { hostname, port };
}

/** The `--help` text. */
export function helpText(): string {
  const lines = ["Usage: denka [options]", "", "Options (also DENKA_<NAME> env vars):"];
  for (const d of optionDefs) {
    const arg = d.kind === "bool" ? `--${d.name} / --no-${d.name}` : `--${d.name} <${d.kind}>`;
    const extra = [
      d.choices ? `one of ${d.choices.join("|")}` : "",
      d.defaultValue !== undefined ? `default ${d.defaultValue}` : "",
      d.kafkaKey ? `file key ${d.kafkaKey}` : "",
    ].filter(Boolean).join("; ");
    lines.push(`  ${arg.padEnd(36)} ${d.doc}${extra ? ` (${extra})` : ""}`);
  }
  lines.push(
    `  ${"--topic-config <key=value>".padEnd(36)} default topic setting by Kafka name, repeatable`,
    `  ${"--help".padEnd(36)} print this help`,
    "",
    "Config files may also set any Kafka topic property (e.g. retention.ms=60000)",
    "as a default for every topic.",
  );
  return lines.join("\n");
}

/** Raw settings by option name, plus topic defaults by Kafka topic name. */
export interface RawSettings {
  readonly options: Record<string, string>;
  readonly topics: Record<string, string>;
}

/** Parses a config file's text: `key=value` lines (`#` comments) or a JSON object. */
export function parseConfigText(text: string, isJson: boolean): RawSettings {
  const entries: [string, string][] = [];
  if (isJson) {
    const obj = JSON.parse(text);
    if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
      throw new ConfigError("A JSON config file must hold one object.");
    }
    for (const [k, v] of Object.entries(obj)) entries.push([k, String(v)]);
  } else {
    for (const [i, raw] of text.split(/\r?\n/).entries()) {
      const line = raw.trim();
      if (line === "" || line.startsWith("#") || line.startsWith("!")) continue;
      const eq = line.search(/[=:]/);
      if (eq <= 0) throw new ConfigError(`Config line ${i + 1} is not key=value: "${raw}".`);
      entries.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
    }
  }
  const options: Record<string, string> = {};
  const topics: Record<string, string> = {};
  for (const [key, value] of entries) {
    const def = optionDefs.find((d) => d.name === key || d.kafkaKey === key);
    if (def !== undefined) options[def.name] = value;
    else if (key in defaultTopicConfigs()) topics[key] = value;
    else throw new ConfigError(`Unknown config key "${key}".`);
  }
  return { options, topics };
}

/** Settings from `DENKA_*` environment variables. */
export function settingsFromEnv(env: Record<string, string | undefined>): RawSettings {
  const options: Record<string, string> = {};
  for (const d of optionDefs) {
    const value = env[`DENKA_${d.name.toUpperCase().replaceAll("-", "_")}`];
    if (value !== undefined && value !== "") options[d.name] = value;
  }
  return { options, topics: {} };
}

/** Settings from command-line arguments; `help` is true when `--help` was given. */
export function settingsFromArgs(args: string[]): RawSettings & { help: boolean } {
  const spec: Record<string, { type: "string" | "boolean"; multiple?: boolean }> = {
    help: { type: "boolean" },
    "topic-config": { type: "string", multiple: true },
  };
  for (const d of optionDefs) {
    spec[d.name] = { type: d.kind === "bool" ? "boolean" : "string" };
    if (d.kind === "bool") spec[`no-${d.name}`] = { type: "boolean" };
  }
  let parsed;
  try {
    parsed = parseArgs({ args, options: spec, strict: true, allowPositionals: false });
  } catch (e) {
    throw new ConfigError(`${(e as Error).message} (see --help).`);
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  const options: Record<string, string> = {};
  for (const d of optionDefs) {
    if (values[d.name] !== undefined) options[d.name] = String(values[d.name]);
    if (d.kind === "bool" && values[`no-${d.name}`]) options[d.name] = "false";
  }
  const topics: Record<string, string> = {};
  for (const kv of (values["topic-config"] as string[] | undefined) ?? []) {
    const eq = kv.indexOf("=");
    if (eq <= 0) throw new ConfigError(`--topic-config wants key=value, got "${kv}".`);
    topics[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return { options, topics, help: values.help === true };
}

/** Merges layers (later wins) and checks every value. */
export function resolveConfig(layers: readonly RawSettings[]): BrokerConfig {
  const opts: Record<string, string> = {};
  const topicDefaults = defaultTopicConfigs();
  for (const d of optionDefs) if (d.defaultValue !== undefined) opts[d.name] = d.defaultValue;
  for (const layer of layers) {
    Object.assign(opts, layer.options);
    for (const [k, v] of Object.entries(layer.topics)) topicDefaults[k] = checkTopic(k, v);
  }
  for (const d of optionDefs) {
    if (d.topicKey !== undefined && opts[d.name] !== undefined) {
      topicDefaults[d.topicKey] = checkTopic(d.topicKey, opts[d.name]);
    }
  }
  const { listeners, interBrokerListenerName } = listenerOptions(opts);
  const tls = tlsOptions(opts, listeners);
  return {
    nodeId: intOption(opts, "node-id", 0, 2147483647),
    clusterId: opts["cluster-id"],
    listen: { hostname: listeners[0].hostname, port: listeners[0].port },
    advertise: listeners[0].advertised,
    listeners,
    interBrokerListenerName,
    tls,
    dataDir: opts["data-dir"],
    defaultPartitions: intOption(opts, "partitions", 1, 100000),
    autoCreateTopics: boolOption(opts, "auto-create"),
    writerKind: enumOption(opts, "writer") as BrokerConfig["writerKind"],
    fetchPath: enumOption(opts, "fetch-path") as BrokerConfig["fetchPath"],
    requestSizeBytesMax: intOption(opts, "request-max-bytes", 1024, 2147483647),
    flushMode: enumOption(opts, "flush") as BrokerConfig["flushMode"],
    retentionCheckIntervalMs: intOption(opts, "retention-check-interval-ms", 1, 2147483647),
    http: opts["http"].trim().toLowerCase() === "off" ? undefined : parseHostPort(opts["http"]),
    httpBodySizeBytesMax: intOption(opts, "http-max-body-bytes", 1024, 2147483647),
    ...httpSecurityOptions(opts),
    statsFile: opts["stats-file"] || undefined,
    groupInitialRebalanceDelayMs: intOption(
      opts,
      "group-initial-rebalance-delay-ms",
      0,
      2147483647,
    ),
    groupMinSessionTimeoutMs: intOption(opts, "group-min-session-timeout-ms", 1, 2147483647),
    groupMaxSessionTimeoutMs: intOption(opts, "group-max-session-timeout-ms", 1, 2147483647),
    offsetsRetentionMinutes: intOption(opts, "offsets-retention-minutes", 1, 2147483647),
    offsetsRetentionCheckIntervalMs: intOption(
      opts,
      "offsets-retention-check-interval-ms",
      1,
      2147483647,
    ),
    offsetMetadataMaxBytes: intOption(opts, "offset-metadata-max-bytes", 0, 2147483647),
    txnSettings: txnSettings(opts),
    fetchSessionCacheSlotsMax: intOption(opts, "fetch-session-cache-slots", 0, 1_000_000),
    quotaProducerBytesPerSec: optionalIntOption(opts, "quota-producer-byte-rate", 1),
    quotaConsumerBytesPerSec: optionalIntOption(opts, "quota-consumer-byte-rate", 1),
    quotaWindowCount: intOption(opts, "quota-window-num", 1, 1000),
    quotaWindowSizeMs: intOption(opts, "quota-window-size-seconds", 1, 3600) * 1000,
    logLevel: enumOption(opts, "log-level") as LogLevel,
    queuedRequestBytesMax: queuedRequestBytesMax(opts),
    connectionsIdleMsMax: intOption(opts, "connections-max-idle-ms", 1, 2147483647),
    frameTimeoutMs: intOption(opts, "connections-frame-timeout-ms", 1, 2147483647),
    connectionsMax: intOption(opts, "max-connections", 0, 2147483647),
    connectionsPerIpMax: intOption(opts, "max-connections-per-ip", 0, 2147483647),
    topicDefaults,
    authorizer: authorizerOption(opts),
    superUsers: superUsersOption(opts),
    allowEveryoneIfNoAclFound: boolOption(opts, "allow-everyone-if-no-acl-found"),
    sasl: saslConfig(opts),
    cluster: clusterConfig(opts, listeners.find((l) => l.name === interBrokerListenerName)),
  };
}

/** authorizer.class.name: empty for none, else one of {@linkcode ACL_AUTHORIZER_NAMES}. */
function authorizerOption(opts: Record<string, string>): "acl" | undefined {
  const raw = opts["authorizer"]?.trim() ?? "";
  if (raw === "") return undefined;
  if (ACL_AUTHORIZER_NAMES.includes(raw)) return "acl";
  throw new ConfigError(
    `Option "authorizer" must be one of ${ACL_AUTHORIZER_NAMES.join(", ")}, got "${raw}".`,
  );
}

/** super.users: `User:a;User:b`, each a principal TYPE:NAME. */
function superUsersOption(opts: Record<string, string>): string[] {
  const users = (opts["super-users"] ?? "").split(";").map((s) => s.trim()).filter((s) => s !== "");
  const bad = users.find((u) => u.indexOf(":") <= 0);
  if (bad !== undefined) {
    throw new ConfigError(`Option "super-users" wants principals like User:NAME, got "${bad}".`);
  }
  return users;
}

/** The listeners from `listen` or `listeners` and the settings that go with them. */
function listenerOptions(opts: Record<string, string>) {
  if (opts["listen"] !== undefined) parseHostPort(opts["listen"]);
  if (opts["advertise"] !== undefined) parseHostPort(opts["advertise"]);
  try {
    return resolveListeners({
      listen: opts["listen"],
      advertise: opts["advertise"],
      listeners: opts["listeners"],
      advertisedListeners: opts["advertised-listeners"],
      securityProtocolMap: opts["listener-security-protocol-map"],
      interBrokerListenerName: opts["inter-broker-listener-name"],
    }, DEFAULT_LISTEN);
  } catch (e) {
    if (e instanceof ListenerConfigError) throw new ConfigError(e.message);
    throw e;
  }
}

function saslConfig(opts: Record<string, string>): SaslConfig {
  try {
    return resolveSaslConfig(opts);
  } catch (e) {
    if (e instanceof SaslConfigError) throw new ConfigError(e.message);
    throw e;
  }
}

/** The TLS settings; a TLS listener without a certificate is an error. */
function tlsOptions(
  opts: Record<string, string>,
  listeners: readonly ListenerConfig[],
): TlsSettings | undefined {
  let tls: TlsSettings | undefined;
  try {
    tls = resolveTlsSettings({
      certFile: opts["tls-cert"],
      keyFile: opts["tls-key"],
      caFile: opts["tls-ca"],
      clientAuth: opts["ssl-client-auth"],
    });
  } catch (e) {
    if (e instanceof TlsMaterialError) throw new ConfigError(e.message);
    throw e;
  }
  const secure = listeners.find((l) => usesTls(l.securityProtocol));
  if (secure !== undefined && tls === undefined) {
    throw new ConfigError(
      `Listener "${secure.name}" uses ${secure.securityProtocol}: set "tls-cert" (ssl.certificate.location) and "tls-key" (ssl.key.location).`,
    );
  }
  return tls;
}

/** The HTTP listener's TLS and authentication settings, checked together. */
function httpSecurityOptions(opts: Record<string, string>): Pick<
  BrokerConfig,
  "httpTls" | "httpAuth" | "httpOpsAuth" | "tlsCertFile" | "tlsKeyFile"
> {
  const tlsCertFile = opts["tls-cert"]?.trim() || undefined;
  const tlsKeyFile = opts["tls-key"]?.trim() || undefined;
  const httpTls = boolOption(opts, "http-tls");
  if (httpTls && (tlsCertFile === undefined || tlsKeyFile === undefined)) {
    throw new ConfigError(`Option "http-tls" needs both "tls-cert" and "tls-key".`);
  }
  const optionalEnum = (name: string) =>
    opts[name] === undefined ? undefined : enumOption(opts, name) as "none" | "required";
  return {
    httpTls,
    httpAuth: optionalEnum("http-auth"),
    httpOpsAuth: optionalEnum("http-ops-auth"),
    tlsCertFile,
    tlsKeyFile,
  };
}

/**
 * The cluster settings, or undefined without `--etcd`. Followers fetch from their leader's
 * inter-broker listener with its security: TLS and a SASL login as it asks.
 */
function clusterConfig(
  opts: Record<string, string>,
  interBroker: ListenerConfig | undefined,
): ClusterConfig | undefined {
  const endpoints = (opts["etcd"] ?? "").split(",").map((e) => e.trim()).filter((e) => e !== "");
  if (endpoints.length === 0) return undefined;
  const interBrokerSasl = interBrokerSaslConfig(opts, interBroker);
  const interBrokerTls = interBrokerTlsConfig(opts, interBroker);
  for (const e of endpoints) {
    if (!/^https?:\/\/[^/]+$/.test(e)) {
      throw new ConfigError(`Option "etcd" wants URLs like http://HOST:2379, got "${e}".`);
    }
  }
  return {
    etcdEndpoints: endpoints,
    rack: opts["broker-rack"] || undefined,
    defaultReplicationFactor: intOption(opts, "default-replication-factor", 1, 32767),
    offsetsTopicReplicationFactor: intOption(opts, "offsets-topic-replication-factor", 1, 32767),
    offsetsTopicPartitions: intOption(opts, "offsets-topic-num-partitions", 1, 10000),
    txnStateLogReplicationFactor: intOption(
      opts,
      "transaction-state-log-replication-factor",
      1,
      32767,
    ),
    sessionTimeoutMs: intOption(opts, "broker-session-timeout-ms", 1000, 2147483647),
    autoLeaderRebalance: boolOption(opts, "auto-leader-rebalance"),
    leaderImbalanceCheckIntervalMs:
      intOption(opts, "leader-imbalance-check-interval-seconds", 1, 2147483) *
      1000,
    leaderImbalancePercent: intOption(opts, "leader-imbalance-per-broker-percentage", 0, 100),
    replicaLagTimeMaxMs: intOption(opts, "replica-lag-time-max-ms", 1, 2147483647),
    replicaFetchBackoffMs: intOption(opts, "replica-fetch-backoff-ms", 0, 2147483647),
    replicaSocketTimeoutMs: intOption(opts, "replica-socket-timeout-ms", 1, 2147483647),
    interBrokerSasl,
    interBrokerTls,
  };
}

/**
 * TLS to the inter-broker listener (SSL, SASL_SSL), trusting `tls-ca` or the system roots. A
 * listener that requires client certificates is refused: followers present none.
 */
function interBrokerTlsConfig(
  opts: Record<string, string>,
  interBroker: ListenerConfig | undefined,
): ClusterConfig["interBrokerTls"] {
  const protocol = interBroker?.securityProtocol ?? "PLAINTEXT";
  if (protocol !== "SSL" && protocol !== "SASL_SSL") return undefined;
  if (opts["ssl-client-auth"] === "required") {
    throw new ConfigError(
      `The inter-broker listener "${
        interBroker!.name
      }" uses ${protocol} with "ssl-client-auth" required: followers present no client certificate; set "inter-broker-listener-name" to another listener.`,
    );
  }
  return { caFile: opts["tls-ca"]?.trim() || undefined };
}

/** The broker's own SASL login when the inter-broker listener needs one (SASL_PLAINTEXT, SASL_SSL). */
function interBrokerSaslConfig(
  opts: Record<string, string>,
  interBroker: ListenerConfig | undefined,
): ClusterConfig["interBrokerSasl"] {
  const protocol = interBroker?.securityProtocol ?? "PLAINTEXT";
  if (protocol !== "SASL_PLAINTEXT" && protocol !== "SASL_SSL") return undefined;
  const username = opts["inter-broker-username"]?.trim() || undefined;
  const passwordFile = opts["inter-broker-password-file"]?.trim() || undefined;
  if (username === undefined || passwordFile === undefined) {
    throw new ConfigError(
      `The inter-broker listener "${
        interBroker!.name
      }" uses ${protocol}: options "inter-broker-username" and "inter-broker-password-file" give this broker's login there.`,
    );
  }
  const mechanism = enumOption(opts, "sasl-mechanism-inter-broker-protocol");
  return { mechanism: mechanism as InterBrokerSaslMechanism, username, passwordFile };
}

/** queued.max.request.bytes: -1 unbounded, else at least socket.request.max.bytes (Kafka's rule). */
function queuedRequestBytesMax(opts: Record<string, string>): number {
  const requestMaxBytes = intOption(opts, "request-max-bytes", 1024, 2147483647);
  if (opts["queued-max-request-bytes"] === undefined) return requestMaxBytes;
  const n = intOption(opts, "queued-max-request-bytes", -1, Number.MAX_SAFE_INTEGER);
  if (n === -1) return Infinity;
  if (n < requestMaxBytes) {
    throw new ConfigError(
      `Option "queued-max-request-bytes" must be -1 or at least request-max-bytes (${requestMaxBytes}), got "${n}".`,
    );
  }
  return n;
}

function checkTopic(key: string, value: string): string {
  try {
    return validateTopicConfig(key, value);
  } catch (e) {
    if (e instanceof TopicConfigError) throw new ConfigError(e.message);
    throw e;
  }
}

/** The transaction coordinator's settings from the options. */
function txnSettings(opts: Record<string, string>): TxnSettings {
  const ms = (name: string) => intOption(opts, name, 1, 2147483647);
  return {
    ...TXN_SETTINGS_DEFAULT,
    transactionMaxTimeoutMs: ms("transaction-max-timeout-ms"),
    abortTimedOutTransactionCleanupIntervalMs: ms(
      "transaction-abort-timed-out-transaction-cleanup-interval-ms",
    ),
    transactionalIdExpirationMs: ms("transactional-id-expiration-ms"),
    removeExpiredTransactionalIdCleanupIntervalMs: ms(
      "transaction-remove-expired-transaction-cleanup-interval-ms",
    ),
    stateLogPartitionCount: intOption(opts, "transaction-state-log-num-partitions", 1, 1000),
  };
}

function intOption(opts: Record<string, string>, name: string, min: number, max: number): number {
  const raw = opts[name];
  const n = Number(raw);
  if (!/^-?\d+$/.test(raw?.trim() ?? "") || n < min || n > max) {
    throw new ConfigError(`Option "${name}" must be an integer in ${min}..${max}, got "${raw}".`);
  }
  return n;
}

/** An integer option without a default: undefined when not given. */
function optionalIntOption(
  opts: Record<string, string>,
  name: string,
  min: number,
): number | undefined {
  return opts[name] === undefined ? undefined : intOption(opts, name, min, Number.MAX_SAFE_INTEGER);
}

function boolOption(opts: Record<string, string>, name: string): boolean {
  const raw = opts[name]?.trim().toLowerCase();
  if (raw === "true" || raw === "1" || raw === "yes") return true;
  if (raw === "false" || raw === "0" || raw === "no") return false;
  throw new ConfigError(`Option "${name}" must be true or false, got "${opts[name]}".`);
}

function enumOption(opts: Record<string, string>, name: string): string {
  const def = optionDefs.find((d) => d.name === name);
  const raw = opts[name];
  if (def?.choices !== undefined && !def.choices.includes(raw)) {
    throw new ConfigError(
      `Option "${name}" must be one of ${def.choices.join(", ")}, got "${raw}".`,
    );
  }
  return raw;
}

/**
 * The fetch path `"auto"` stands for: sendfile in both runtimes (a socket
 * whose fd the runtime hides falls back to copying). Measured with `deno task bench` (one
 * consumer, catch-up from the page cache, same-run ratios, 29 Nov 2026): sendfile ran
 * 1.45-1.65x the copy path under Deno and 0.93-1.09x under Bun, at 0.69-0.78x the broker
 * CPU per GB in Bun. (On 21 Nov, with other suites on the box, Bun measured 0.66-0.73x and
 * `auto` meant copy there.)
 */
export function resolveFetchPath(fetchPath: BrokerConfig["fetchPath"]): "sendfile" | "copy" {
  return fetchPath === "auto" ? "sendfile" : fetchPath;
}
