/**
 * The broker's lifecycle: open the data directory, bind the Kafka listener,
 * accept connections, route frames to handlers, and stop cleanly (listener
 * closed, connections closed, every log flushed and closed).
 *
 * @module
 */
import type { Libc, Runtime, Socket, SocketHandlers } from "../ffi/port.ts";
import { type ReplicaManager, startReplication } from "./cluster/replica_manager.ts";
import { loadLibc, loadNativeCrc32c, loadNativeDecoders, loadRuntime } from "../ffi/load.ts";
import { useNativeCrc32c } from "../protocol/record_batch.ts";
import { useNativeDecoders } from "../protocol/decompress.ts";
import { createLogger, type Logger, LogLevels, LogRateLimiter } from "../util/log.ts";
import { BackgroundTasks } from "../util/background.ts";
import { DynamicBrokerConfigs } from "./dynamic_config.ts";
import { AppendWaiters } from "./append_waiters.ts";
import { type BrokerConfig, type HostPort, resolveFetchPath } from "./config.ts";
import { Connection, type ConnectionShared } from "./connection.ts";
import { ConnectionTable } from "./connection_table.ts";
import { FrameBufferPool } from "./frame_buffers.ts";
import { MemorySweep } from "./memory_sweep.ts";
import { RequestMemoryPool } from "./request_memory.ts";
import { FetchSessionCache } from "./fetch_sessions.ts";
import type { BrokerCore, BrokerCounters } from "./context.ts";
import { RequestRouter } from "./router.ts";
import { createSender } from "./send.ts";
import { type Topic, TopicRegistry } from "./topics.ts";
import { KafkaError } from "./kafka_error.ts";
import { ProducerIds } from "./producer_ids.ts";
import { GroupCoordinator } from "./groups/coordinator.ts";
import type { TransactionCoordinator } from "./transactions/coordinator.ts";
import { openTransactionCoordinator } from "./transactions/broker_coordinator.ts";
import { groupSource } from "./groups/group_views.ts";
import { GroupCommit } from "../storage/flusher.ts";
import { LogMaintenance } from "./log_maintenance.ts";
import { ClientQuotaStore } from "./client_quota_store.ts";
import { ClientQuotas } from "./quotas.ts";
import { BrokerMetrics } from "./metrics/broker_metrics.ts";
import type { TrafficSink } from "./traffic.ts";
import { type GroupSource, noGroups } from "./groups/group_source.ts";
import { type BrokerHttpServer, startHttpServer } from "./http/server.ts";
import { ClusterNode } from "./cluster/cluster_node.ts";
import { readInterBrokerSasl } from "./cluster/inter_broker_login.ts";
import { readCaPem } from "./tls.ts";
import { ClusterGroups } from "./cluster/cluster_groups.ts";
import { ClusterTransactions } from "./cluster/cluster_transactions.ts";
import { EtcdCoordinator } from "./cluster/etcd.ts";
import { AclStore } from "./security/acl_store.ts";
import {
  type AcceptedVia,
  type BoundListener,
  KafkaListeners,
  type TlsReloadResult,
} from "./kafka_listeners.ts";
import { principalFromCertificate } from "./security/x509_principal.ts";
import { ScramCredentialStore } from "./security/credentials.ts";
import type { JwtValidator } from "./security/jwt.ts";
import { loadJwtValidator, SaslAuthenticator } from "./security/sasl_authenticator.ts";
import { createHttpSecurity, loadHttpTls, resolveHttpAuth } from "./http/security_setup.ts";
import { usesSasl } from "./listeners.ts";
import type { TxnVerifier } from "./transactions/verifier.ts";

/** What a refused connection's socket (already closed) reports to. */
const REFUSED: SocketHandlers = { onData() {}, onClose() {} };

/** Ports the broker runs on; tests may pass their own. */
export interface BrokerDeps {
  readonly libc?: Libc;
  readonly runtime?: Runtime;
  readonly logger?: Logger;
  readonly nowMs?: () => number;
}

/** A running broker. */
export class Broker implements BrokerCore {
  readonly config: BrokerConfig;
  readonly libc: Libc;
  readonly topics: TopicRegistry;
  readonly waiters = new AppendWaiters();
  readonly logger: Logger;
  /** Every logger's level, changeable at run time (BROKER_LOGGER resources). */
  readonly logLevels: LogLevels;
  /** Broker settings changed at run time (AlterConfigs on BROKER resources). */
  readonly dynamicConfigs: DynamicBrokerConfigs;
  /** Warnings that may repeat (bad connections, failed appends, failed accepts), rate-limited by kind. */
  readonly logLimiter: LogRateLimiter;
  /** Where errors of timers and unawaited promises go: logged, counted, never the end of the process. */
  readonly background: BackgroundTasks;
  readonly producerIds: ProducerIds;
  /** Consumer groups and committed offsets. */
  readonly groups: GroupCoordinator;
  readonly transactions: TransactionCoordinator;
  readonly flusher: GroupCommit;
  /** Client byte-rate quotas. */
  readonly quotas: ClientQuotas;
  /** Incremental fetch sessions (KIP-227), bounded by `fetchSessionCacheSlotsMax`. */
  readonly fetchSessions: FetchSessionCache;
  /** SCRAM credentials (SASL logins, HTTP Basic), in the data directory. */
  readonly scramCredentials: ScramCredentialStore;
  readonly sasl: SaslAuthenticator;
  /** Retention, compaction, producer expiry and flush.ms on timers. */
  readonly maintenance: LogMaintenance;
  /** The ACLs (`denka-acls.json`), opened when `authorizer.class.name` is set. */
  readonly acls: AclStore | undefined;
  readonly counters: BrokerCounters = {
    sendfileBytes: 0,
    copyBytes: 0,
    sendfileCalls: 0,
    wouldBlock: 0,
    requests: 0,
    connectionsAccepted: 0,
    connectionsClosedForBadFrames: 0,
    connectionsOpen: 0,
    connectionsRefused: 0,
    connectionsClosedIdle: 0,
    connectionsClosedFrameTimeout: 0,
    queuedRequestBytes: 0,
    queuedRequestBytesPeak: 0,
    queuedRequestWaits: 0,
  };
  /** Prometheus metrics (served on the HTTP listener's /metrics). */
  readonly metrics = new BrokerMetrics();
  /** Per-topic Kafka traffic goes to the metrics. */
  readonly traffic: TrafficSink = this.metrics;
  /** KIP-890 verification of transactional produces (the transaction coordinator sets it). */
  txnVerifier: TxnVerifier | undefined = undefined;
  /** Consumer groups as the HTTP API and metrics see them (the groups coordinator sets it). */
  groupSource: GroupSource = noGroups;
  /** Cluster membership (`--etcd`); undefined on a single node. */
  cluster: ClusterNode | undefined;
  /** Data replication, set by `startReplication` in a cluster (see `cluster/partition_state.ts`). */
  replication: ReplicaManager | undefined = undefined;
  /** Groups in a cluster, by `__consumer_offsets` partition led here (`cluster/cluster_groups.ts`). */
  clusterGroups: ClusterGroups | undefined = undefined;
  /** Transactions in a cluster, by `__transaction_state` partition led here (`cluster/cluster_transactions.ts`). */
  clusterTransactions: ClusterTransactions | undefined = undefined;
  readonly #runtime: Runtime;
  readonly #router: RequestRouter;
  readonly #connectionLogger: Logger;
  #http: BrokerHttpServer | undefined;
  #ready = false;
  readonly #connections: ConnectionTable;
  readonly #memory: RequestMemoryPool;
  readonly #frameBuffers = new FrameBufferPool();
  #memorySweep: MemorySweep | undefined;
  readonly #nowMs: () => number;
  #listeners: KafkaListeners | undefined;
  #nextConnectionId = 1;
  /** The libc without the metrics wrapper: the send path is timed by its own counters. */
  readonly #sendLibc: Libc;
  readonly #fetchPath: "sendfile" | "copy";
  readonly #connectionShared: ConnectionShared;
  #closing: Promise<void> | undefined;

  private constructor(
    config: BrokerConfig,
    libc: Libc,
    runtime: Runtime,
    deps: BrokerDeps & { jwtValidator?: JwtValidator },
  ) {
    this.config = config;
    this.libc = this.metrics.timedLibc(libc);
    this.#runtime = runtime;
    this.logLevels = new LogLevels(config.logLevel);
    this.logger = deps.logger ?? createLogger(this.logLevels);
    this.logLimiter = new LogRateLimiter(this.logger);
    this.background = new BackgroundTasks(this.logger, this.logLimiter);
    this.flusher = new GroupCommit({
      onError: (error) => this.background.failed("Flush", error),
    });
    this.dynamicConfigs = DynamicBrokerConfigs.open(this.libc, config, this.logger);
    this.#nowMs = deps.nowMs ?? Date.now;
    this.scramCredentials = ScramCredentialStore.open(this.libc, config.dataDir);
    this.sasl = new SaslAuthenticator(config.sasl, {
      credentials: (user, mechanism) => this.scramCredentials.get(user, mechanism),
      jwtValidator: deps.jwtValidator,
      log: this.logLimiter,
      nowMs: this.#nowMs,
    });
    this.#sendLibc = libc;
    this.#fetchPath = resolveFetchPath(config.fetchPath);
    this.#memory = new RequestMemoryPool(config.queuedRequestBytesMax, this.counters);
    this.#connections = new ConnectionTable({
      connectionsMax: config.connectionsMax,
      connectionsPerIpMax: config.connectionsPerIpMax,
      idleMsMax: config.connectionsIdleMsMax,
      frameTimeoutMs: config.frameTimeoutMs,
    }, {
      counters: this.counters,
      logger: this.logger.child("connection"),
      warnings: this.logLimiter,
      nowMs: () => performance.now(),
      onSweep: (nowMs) => this.#memorySweep?.sweep(nowMs),
    });
    this.fetchSessions = new FetchSessionCache({ slotsMax: config.fetchSessionCacheSlotsMax });
    this.topics = TopicRegistry.open(this.libc, {
      dataDir: config.dataDir,
      defaults: this.dynamicConfigs.topicDefaults(),
      writerKind: config.writerKind,
      logger: this.logger.child("topics"),
      nowMs: this.#nowMs,
      // Every append, through either front door: wake long-poll fetches, count records in.
      onAppend: (p, appended) => {
        this.waiters.notify(p.topic.name, p.index);
        this.traffic.countIn(p.topic.name, appended.sizeBytes, appended.recordCount);
      },
    });
    this.producerIds = new ProducerIds(this.libc, config.dataDir);
    try {
      this.acls = config.authorizer === undefined ? undefined : AclStore.open(
        this.libc,
        config.dataDir,
        {
          superUsers: config.superUsers,
          allowEveryoneIfNoAclFound: config.allowEveryoneIfNoAclFound,
        },
      );
      this.quotas = new ClientQuotas(ClientQuotaStore.open(this.libc, config.dataDir), {
        producerBytesPerSec: config.quotaProducerBytesPerSec,
        consumerBytesPerSec: config.quotaConsumerBytesPerSec,
        window: { windowCount: config.quotaWindowCount, windowSizeMs: config.quotaWindowSizeMs },
      });
      this.groups = GroupCoordinator.open(this.libc, groupOptions(config, this));
    } catch (e) {
      this.topics.close();
      throw e;
    }
    try {
      this.transactions = openTransactionCoordinator(this);
    } catch (e) {
      this.groups.close();
      this.topics.close();
      throw e;
    }
    this.txnVerifier = this.transactions;
    this.groupSource = groupSource(() =>
      this.clusterGroups?.allGroups() ?? this.groups.allGroups()
    );
    this.topics.onDeleted((topic) => this.groups.deleteTopicOffsets(topic.name));
    this.maintenance = new LogMaintenance(this.topics, {
      retentionCheckIntervalMs: config.retentionCheckIntervalMs,
      nowMs: this.#nowMs,
      logger: this.logger.child("maintenance"),
      flusher: this.flusher,
      background: this.background,
    });
    this.dynamicConfigs.bind((d) => {
      this.topics.setDefaults(d.topicDefaults());
      this.quotas.setDefaults(
        d.number("quota.producer.default"),
        d.number("quota.consumer.default"),
      );
      this.maintenance.producerIdExpirationMs = d.number("producer.id.expiration.ms");
    });
    this.#connectionLogger = this.logger.child("connection");
    this.#router = new RequestRouter(this);
    this.#router.observer = this.metrics.observeKafka;
    this.#connectionShared = {
      handler: this.#router,
      logger: this.#connectionLogger,
      warnings: this.logLimiter,
      requestSizeBytesMax: config.requestSizeBytesMax,
      memory: this.#memory,
      frameBuffers: this.#frameBuffers,
      nowMs: () => this.#connections.coarseNowMs,
      onClosed: (c) => this.#connections.remove(c),
      counters: this.counters,
    };
    this.metrics.bind({
      broker: this,
      groups: { listGroups: () => this.groupSource.listGroups() },
      connectionCount: () => this.connectionCount,
      isReady: () => this.#ready,
    });
  }

  /** Opens the data directory and binds the listener. */
  static async start(config: BrokerConfig, deps: BrokerDeps = {}): Promise<Broker> {
    const startedMs = performance.now();
    useNativeCrc32c(loadNativeCrc32c());
    useNativeDecoders(loadNativeDecoders());
    const libc = deps.libc ?? await loadLibc();
    const runtime = deps.runtime ?? await loadRuntime();
    const jwtValidator = await loadJwtValidator(config.sasl, libc);
    const broker = new Broker(config, libc, runtime, { ...deps, jwtValidator });
    try {
      if (config.http !== undefined) {
        broker.#http = await startHttpServer(runtime, config.http, {
          broker,
          metrics: broker.metrics,
          groups: { listGroups: () => broker.groupSource.listGroups() },
          connectionCount: () => broker.connectionCount,
          isReady: () => broker.#ready,
          bodySizeBytesMax: config.httpBodySizeBytesMax,
          tls: loadHttpTls(broker.libc, config),
          security: createHttpSecurity(
            resolveHttpAuth(config, {
              authorizerConfigured: config.authorizer !== undefined,
              saslListener: config.listeners.some((l) => usesSasl(l.securityProtocol)),
            }),
            {
              credentials: (user, mechanism) => broker.scramCredentials.get(user, mechanism),
              jwtValidator,
              authorizer: broker.acls,
              throttle: broker.sasl.throttle,
              log: broker.logLimiter,
            },
          ),
        });
      }
      broker.#raiseOpenFilesLimit(runtime);
      broker.#memorySweep = new MemorySweep(runtime, broker.#frameBuffers, broker.counters);
      broker.#listeners = await KafkaListeners.bind(runtime, config.listeners, {
        tls: config.tls,
        libc: broker.libc,
        logger: broker.logger.child("listeners"),
        onAccept: (socket, via) => broker.#accept(socket, via),
      });
      broker.#connections.start();
      if (config.cluster !== undefined) {
        broker.cluster = await broker.#joinCluster(config);
        broker.producerIds.delegateTo(broker.cluster.producerIds);
      }
    } catch (e) {
      await broker.#listeners?.close();
      await broker.#http?.close();
      broker.transactions.close();
      broker.groups.close();
      broker.topics.close();
      throw e;
    }
    broker.#ready = true;
    broker.maintenance.start();
    broker.#logRecovery();
    const tookMs = (performance.now() - startedMs).toFixed(1);
    broker.logger.info(
      `Denka listening on ${broker.#listenersText()} (${runtime.name} ${runtime.version}, data ${config.dataDir}, ${broker.topics.list().length} topic(s), writer ${config.writerKind}, fetch ${broker.#fetchPath}, started in ${tookMs} ms)`,
    );
    const http = broker.httpAddress;
    if (http !== undefined) {
      broker.logger.info(`HTTP API, /metrics and console on ${broker.httpUrl}/`);
    }
    return broker;
  }

  /** Waits for etcd, registers, and follows the cluster's metadata (see `cluster/cluster_node.ts`). */
  #joinCluster(config: BrokerConfig): Promise<ClusterNode> {
    const cluster = config.cluster!;
    const interBrokerSasl = cluster.interBrokerSasl === undefined
      ? undefined
      : readInterBrokerSasl(this.libc, cluster.interBrokerSasl);
    const interBrokerTls = cluster.interBrokerTls === undefined
      ? undefined
      : { caPem: readCaPem(this.libc, cluster.interBrokerTls.caFile) };
    return ClusterNode.start({
      coordinator: new EtcdCoordinator({
        endpoints: cluster.etcdEndpoints,
        rootPrefix: `/denka/${config.clusterId}/`,
      }),
      nodeId: config.nodeId,
      rack: cluster.rack,
      advertised: () => this.advertised(config.interBrokerListenerName),
      listeners: () =>
        config.listeners.map((l) => {
          const { hostname, port } = this.advertised(l.name);
          return { name: l.name, host: hostname, port, securityProtocol: l.securityProtocol };
        }),
      sessionTimeoutMs: cluster.sessionTimeoutMs,
      topics: this.topics,
      logger: this.logger.child("cluster"),
      uncleanDefault: () => this.topics.defaults["unclean.leader.election.enable"] === "true",
      sinkFor: (isrWriter) => {
        const replication = startReplication(this, {
          nodeId: config.nodeId,
          isrWriter,
          replicaLagTimeMaxMs: cluster.replicaLagTimeMaxMs,
          replicaFetchBackoffMs: cluster.replicaFetchBackoffMs,
          replicaSocketTimeoutMs: cluster.replicaSocketTimeoutMs,
          interBrokerSasl,
          interBrokerTls,
        });
        const { dataDir: _, partitions: __, ...groups } = groupOptions(config, this);
        this.clusterGroups = new ClusterGroups(this, replication, groups);
        this.clusterTransactions = new ClusterTransactions(this, replication, {
          sasl: interBrokerSasl,
          tls: interBrokerTls,
        });
        this.txnVerifier = this.clusterTransactions;
        return replication;
      },
      rebalance: {
        enabled: cluster.autoLeaderRebalance,
        checkIntervalMs: cluster.leaderImbalanceCheckIntervalMs,
        imbalancePercent: cluster.leaderImbalancePercent,
      },
    });
  }

  /** The first listener's bound address (the real port when `port: 0` was asked for). */
  get address(): HostPort {
    const [first] = this.listeners;
    return { hostname: first.hostname, port: first.port };
  }

  /** Every Kafka listener as bound, in the configured order. */
  get listeners(): BoundListener[] {
    if (this.#listeners === undefined) throw new Error("The broker is not listening.");
    return this.#listeners.list();
  }

  advertised(listenerName?: string): HostPort {
    if (this.#listeners === undefined) throw new Error("The broker is not listening.");
    return this.#listeners.advertised(listenerName);
  }

  /**
   * Reads the TLS certificate and key again for new connections (what SIGHUP does); a bad
   * new file keeps the old certificate, logged and said in the result.
   */
  reloadTls(): Promise<TlsReloadResult> {
    if (this.#listeners === undefined) throw new Error("The broker is not listening.");
    return this.#listeners.reloadTls();
  }

  /** `127.0.0.1:9092` for the one default listener; `NAME://HOST:PORT, ...` otherwise. */
  #listenersText(): string {
    const listeners = this.listeners;
    const [first] = listeners;
    if (
      listeners.length === 1 && first.name === "PLAINTEXT" && first.securityProtocol === "PLAINTEXT"
    ) {
      return `${first.hostname}:${first.port}`;
    }
    // The first address leads (log readers take the port after "listening on").
    return `${first.hostname}:${first.port} ${this.#listeners!.describe().join(", ")}`;
  }

  nowMs(): number {
    return this.#nowMs();
  }

  topicForUse(name: string): Topic | undefined {
    const existing = this.topics.get(name);
    // In a cluster only the controller creates topics (Metadata asks it to).
    if (existing !== undefined || !this.config.autoCreateTopics || this.cluster) return existing;
    try {
      return this.topics.create(name, this.config.defaultPartitions);
    } catch (e) {
      if (e instanceof KafkaError) return undefined;
      throw e;
    }
  }

  /** A new client connection, or a refused one (closed at once) past the connection limits. */
  #accept(socket: Socket, via: AcceptedVia): SocketHandlers {
    if (!this.#connections.admit(socket)) return REFUSED;
    // SSL: the verified client certificate names the principal (Kafka's default builder).
    const certificate = via.securityProtocol === "SSL" ? socket.peerCertificate : undefined;
    const principal = certificate === undefined ? undefined : principalFromCertificate(certificate);
    if (certificate !== undefined && principal === undefined) {
      this.logLimiter.warn(
        "bad-certificate",
        `Refused ${socket.remoteAddress}: its client certificate does not parse.`,
      );
      socket.close();
      return REFUSED;
    }
    const connection = new Connection(socket, {
      id: this.#nextConnectionId++,
      sender: createSender(socket, this.#sendLibc, {
        fetchPath: this.#fetchPath,
        counters: this.counters,
      }),
      shared: this.#connectionShared,
    });
    connection.listenerName = via.name;
    connection.securityProtocol = via.securityProtocol;
    if (principal !== undefined) {
      connection.principal = principal;
      this.#connectionLogger.debug(
        `Connection ${connection.id} from ${socket.remoteAddress} on listener ${via.name} authenticated by its certificate as ${principal}`,
      );
    }
    this.counters.connectionsAccepted++;
    this.#connections.add(connection);
    return connection;
  }

  /** Kafka's docs advise a high open-file limit: raise the soft one to the hard one. */
  #raiseOpenFilesLimit(runtime: Runtime): void {
    try {
      const limit = runtime.raiseOpenFilesLimit();
      this.logger.info(
        limit.softCount === limit.softBeforeCount
          ? `Open-file limit ${limit.softCount} (already the hard limit)`
          : `Open-file limit ${limit.softCount} (raised from ${limit.softBeforeCount}, the hard limit)`,
      );
    } catch (e) {
      this.logger.warn(`Could not raise the open-file limit: ${(e as Error).message}`);
    }
  }

  /** One line on what start-up recovery did (nothing after a clean stop). */
  #logRecovery(): void {
    let partitions = 0, segments = 0, cutBytes = 0, replayed = 0;
    for (const topic of this.topics.list()) {
      for (const p of topic.partitions) {
        const stats = p.log.loadStats;
        if (stats.recoveredSegmentCount === 0) continue;
        partitions++;
        segments += stats.recoveredSegmentCount;
        cutBytes += stats.truncatedBytes;
        replayed += stats.replayedBatchCount;
      }
    }
    if (partitions === 0) return;
    this.logger.warn(
      `Recovered ${partitions} partition(s) after an unclean shutdown: ${segments} segment(s) CRC-checked, ${cutBytes} byte(s) of torn tail cut, ${replayed} batch header(s) replayed into producer state.`,
    );
  }

  /** The bound HTTP address, or undefined when HTTP is off. */
  get httpAddress(): HostPort | undefined {
    return this.#http?.address;
  }

  /** `http://host:port` or `https://host:port` of the HTTP listener, or undefined when HTTP is off. */
  get httpUrl(): string | undefined {
    const http = this.#http;
    if (http === undefined) return undefined;
    return `${http.scheme}://${http.address.hostname}:${http.address.port}`;
  }

  /** Open client connections. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** The network port (outbound connections of replica fetchers). */
  get runtime(): Runtime {
    return this.#runtime;
  }

  /** Stops accepting, closes connections, flushes and closes every log. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#ready = false;
    await this.#http?.close(); // live tails end; HTTP requests in flight finish first
    const unbound = this.#listeners?.close();
    this.#connections.stop();
    const open = this.#connections.list();
    for (const c of open) c.close();
    this.waiters.wakeAll();
    await this.cluster?.close(); // leaves the cluster: others elect new leaders at once
    this.groups.shutdown(); // waiting JoinGroup/SyncGroup answered, group timers stopped
    this.clusterGroups?.close(); // the same for the groups of each __consumer_offsets partition
    this.clusterTransactions?.close(); // and the coordinators of each __transaction_state partition
    // Requests in progress finish (their sends are dropped) before logs close.
    await Promise.all([unbound, ...open.map((c) => c.idle())]);
    this.transactions.close(); // prepared transactions get their markers after the next start
    this.groups.close();
    await this.maintenance.stop();
    await this.flusher.drain(); // waiters of flushes pending or running resolve before the logs close
    await this.replication?.stop(); // fetchers end before the logs they append to close
    this.topics.close();
    this.logLimiter.flush();
    this.logger.info("Denka stopped: logs flushed and closed.");
  }
}

/** The group coordinator's settings from the broker's. */
function groupOptions(config: BrokerConfig, broker: Broker) {
  return {
    dataDir: config.dataDir,
    logger: broker.logger.child("groups"),
    nowMs: () => broker.nowMs(),
    onTimerError: (error: unknown) => broker.background.failed("A consumer group timer", error),
    partitions: {
      highWatermark: (topic: string, partition: number) =>
        broker.topics.partition(topic, partition)?.log.highWatermark,
    },
    settings: {
      initialRebalanceDelayMs: config.groupInitialRebalanceDelayMs,
      minSessionTimeoutMs: config.groupMinSessionTimeoutMs,
      maxSessionTimeoutMs: config.groupMaxSessionTimeoutMs,
      offsetsRetentionMs: config.offsetsRetentionMinutes * 60_000,
      offsetsRetentionCheckIntervalMs: config.offsetsRetentionCheckIntervalMs,
      offsetMetadataMaxBytes: config.offsetMetadataMaxBytes,
    },
  };
}

/** Starts a broker from a resolved config. */
export function startBrokerWithConfig(config: BrokerConfig, deps?: BrokerDeps): Promise<Broker> {
  return Broker.start(config, deps);
}
