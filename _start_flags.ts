/**
 * {@linkcode StartBrokerOptions} as command-line flags (`--name value`
 * without the dashes), the one form the config resolver reads: `startBroker()`
 * resolves them in-process, and the Bun test broker passes them to
 * `bun run main.ts`.
 *
 * @module
 */
import type { StartBrokerOptions } from "./mod.ts";

/** The flags equivalent to `options` (topic defaults, libc and runtime are not flags). */
export function startBrokerFlags(options: StartBrokerOptions): Record<string, string> {
  const flags: Record<string, string> = { "log-level": options.logLevel ?? "warn" };
  // `listeners` replaces hostname and port; the config resolver refuses both given.
  if (
    options.listeners === undefined || options.hostname !== undefined || options.port !== undefined
  ) {
    flags["listen"] = `${options.hostname ?? "127.0.0.1"}:${options.port ?? 9092}`;
  }
  const listenerFlags = {
    listeners: options.listeners,
    "advertised-listeners": options.advertisedListeners,
    "listener-security-protocol-map": options.listenerSecurityProtocolMap,
    "inter-broker-listener-name": options.interBrokerListenerName,
    "tls-cert": options.tls?.certFile,
    "tls-key": options.tls?.keyFile,
    "tls-ca": options.tls?.caFile,
    "ssl-client-auth": options.tls?.clientAuth,
  };
  for (const [name, value] of Object.entries(listenerFlags)) {
    if (value !== undefined) flags[name] = value;
  }
  if (options.advertise !== undefined) flags["advertise"] = options.advertise;
  if (options.dataDir !== undefined) flags["data-dir"] = options.dataDir;
  if (options.autoCreateTopics !== undefined) {
    flags["auto-create"] = String(options.autoCreateTopics);
  }
  if (options.writer !== undefined) flags["writer"] = options.writer;
  if (options.fetchPath !== undefined) flags["fetch-path"] = options.fetchPath;
  if (options.flush !== undefined) flags["flush"] = options.flush;
  if (options.etcd !== undefined) flags["etcd"] = options.etcd.join(",");
  if (options.brokerRack !== undefined) flags["broker-rack"] = options.brokerRack;
  if (options.autoLeaderRebalance !== undefined) {
    flags["auto-leader-rebalance"] = String(options.autoLeaderRebalance);
  }
  if (options.authorizer !== undefined) flags["authorizer"] = options.authorizer;
  if (options.superUsers !== undefined) flags["super-users"] = options.superUsers.join(";");
  if (options.allowEveryoneIfNoAclFound !== undefined) {
    flags["allow-everyone-if-no-acl-found"] = String(options.allowEveryoneIfNoAclFound);
  }
  if (options.httpTls !== undefined) flags["http-tls"] = String(options.httpTls);
  if (options.httpAuth !== undefined) flags["http-auth"] = options.httpAuth;
  if (options.httpOpsAuth !== undefined) flags["http-ops-auth"] = options.httpOpsAuth;
  flags["http"] = options.http
    ? `${options.http.hostname ?? "127.0.0.1"}:${options.http.port}`
    : "off";
  const numberFlags = {
    partitions: options.partitions,
    "retention-check-interval-ms": options.retentionCheckIntervalMs,
    "http-max-body-bytes": options.httpMaxBodyBytes,
    "group-initial-rebalance-delay-ms": options.groupInitialRebalanceDelayMs,
    "group-min-session-timeout-ms": options.groupMinSessionTimeoutMs,
    "group-max-session-timeout-ms": options.groupMaxSessionTimeoutMs,
    "offsets-retention-minutes": options.offsetsRetentionMinutes,
    "quota-producer-byte-rate": options.quotaProducerByteRate,
    "quota-consumer-byte-rate": options.quotaConsumerByteRate,
    "quota-window-num": options.quotaWindowNum,
    "quota-window-size-seconds": options.quotaWindowSizeSeconds,
    "request-max-bytes": options.requestMaxBytes,
    "queued-max-request-bytes": options.queuedMaxRequestBytes,
    "connections-max-idle-ms": options.connectionsMaxIdleMs,
    "connections-frame-timeout-ms": options.connectionsFrameTimeoutMs,
    "max-connections": options.maxConnections,
    "max-connections-per-ip": options.maxConnectionsPerIp,
    "node-id": options.nodeId,
    "default-replication-factor": options.defaultReplicationFactor,
    "broker-session-timeout-ms": options.brokerSessionTimeoutMs,
    "offsets-topic-num-partitions": options.offsetsTopicNumPartitions,
    "transaction-state-log-num-partitions": options.transactionStateLogNumPartitions,
    "transaction-state-log-replication-factor": options.transactionStateLogReplicationFactor,
    "offsets-topic-replication-factor": options.offsetsTopicReplicationFactor,
    "replica-lag-time-max-ms": options.replicaLagTimeMaxMs,
    "replica-fetch-backoff-ms": options.replicaFetchBackoffMs,
    "replica-socket-timeout-ms": options.replicaSocketTimeoutMs,
    "transaction-max-timeout-ms": options.transactionMaxTimeoutMs,
    "transaction-abort-timed-out-transaction-cleanup-interval-ms":
      options.transactionAbortTimedOutTransactionCleanupIntervalMs,
  };
  for (const [name, value] of Object.entries(numberFlags)) {
    if (value !== undefined) flags[name] = String(value);
  }
  return flags;
}
