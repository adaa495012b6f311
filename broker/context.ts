/**
 * What handlers see: the broker's state (topics, long-poll waiters,
 * counters, settings) and the request being handled.
 *
 * @module
 */
import type { Libc } from "../ffi/port.ts";
import type { ApiMessage } from "../protocol/messages/mod.ts";
import type { GroupCommit } from "../storage/flusher.ts";
import type { DynamicBrokerConfigs } from "./dynamic_config.ts";
import type { BackgroundTasks } from "../util/background.ts";
import type { Logger, LogLevels, LogRateLimiter } from "../util/log.ts";
import type { AppendWaiters } from "./append_waiters.ts";
import type { BrokerConfig, HostPort } from "./config.ts";
import type { Connection } from "./connection.ts";
import type { FetchSessionCache } from "./fetch_sessions.ts";
import type { LogMaintenance } from "./log_maintenance.ts";
import type { GroupCoordinator } from "./groups/coordinator.ts";
import type { ClusterTransactions } from "./cluster/cluster_transactions.ts";
import type { ClusterGroups } from "./cluster/cluster_groups.ts";
import type { ProducerIds } from "./producer_ids.ts";
import type { TransactionCoordinator } from "./transactions/coordinator.ts";
import type { ClientQuotas } from "./quotas.ts";
import type { Topic, TopicRegistry } from "./topics.ts";
import type { RequestTraffic, TrafficSink } from "./traffic.ts";
import type { ClusterNode } from "./cluster/cluster_node.ts";
import type { ReplicaManager } from "./cluster/replica_manager.ts";
import type { AclStore } from "./security/acl_store.ts";
import type { ScramCredentialStore } from "./security/credentials.ts";
import type { SaslAuthenticator } from "./security/sasl_authenticator.ts";
import type { TxnVerifier } from "./transactions/verifier.ts";

/** Counters the broker exposes (tests, metrics, benchmarks). */
export interface BrokerCounters {
  /** Record bytes that reached sockets through sendfile. */
  sendfileBytes: number;
  /** Record bytes that reached sockets through pread + write. */
  copyBytes: number;
  sendfileCalls: number;
  wouldBlock: number;
  requests: number;
  connectionsAccepted: number;
  connectionsClosedForBadFrames: number;
  /** Client connections open now. */
  connectionsOpen: number;
  /** Connections closed at once for max.connections or max.connections.per.ip. */
  connectionsRefused: number;
  /** Connections closed after connections.max.idle.ms without traffic. */
  connectionsClosedIdle: number;
  /** Connections closed because a frame was not whole within connections.frame.timeout.ms. */
  connectionsClosedFrameTimeout: number;
  /** Bytes of requests read (or reserved) and not yet answered (capped by queued.max.request.bytes). */
  queuedRequestBytes: number;
  /** The most `queuedRequestBytes` has been since start. */
  queuedRequestBytesPeak: number;
  /** Times a connection stopped reading to wait for room under queued.max.request.bytes. */
  queuedRequestWaits: number;
}

/** The broker's shared state, as handlers need it. */
export interface BrokerCore {
  readonly config: BrokerConfig;
  readonly libc: Libc;
  readonly topics: TopicRegistry;
  readonly waiters: AppendWaiters;
  readonly counters: BrokerCounters;
  readonly logger: Logger;
  /** Every logger's level, changeable at run time (BROKER_LOGGER resources). */
  readonly logLevels: LogLevels;
  /** Broker settings changed at run time (AlterConfigs on BROKER resources). */
  readonly dynamicConfigs: DynamicBrokerConfigs;
  /** Rate-limited logging of warnings that may repeat, by kind (see `util/log.ts`). */
  readonly logLimiter: LogRateLimiter;
  /** Containment of background work's errors (see `util/background.ts`). */
  readonly background: BackgroundTasks;
  /** Retention and the cleaner; which partitions the cleaner gave up on. */
  readonly maintenance: LogMaintenance;
  readonly producerIds: ProducerIds;
  /** Group commit: produces that must wait for the disk share one flush per partition. */
  readonly flusher: GroupCommit;
  /** Client byte-rate quotas (produce and fetch throttling). */
  readonly quotas: ClientQuotas;
  /** Consumer groups and committed offsets. */
  readonly groups: GroupCoordinator;
  /** Transactional ids and their transactions (`transactions/coordinator.ts`). */
  readonly transactions: TransactionCoordinator;
  /** Incremental fetch sessions (KIP-227). */
  readonly fetchSessions: FetchSessionCache;
  /** Per-topic traffic of the Kafka protocol (the metrics). */
  readonly traffic: TrafficSink;
  /** Cluster membership and metadata; undefined on a single node (no `--etcd`). */
  readonly cluster: ClusterNode | undefined;
  /**
   * Data replication in a cluster (`cluster/replica_manager.ts`); undefined on one node, which
   * leads every partition at epoch 0 with the high watermark at the log end.
   */
  readonly replication?: ReplicaManager;
  /** Groups in a cluster (`cluster/cluster_groups.ts`); undefined on one node (`groups` serves). */
  readonly clusterGroups?: ClusterGroups;
  /** Transactions in a cluster (`cluster/cluster_transactions.ts`); undefined on one node. */
  readonly clusterTransactions?: ClusterTransactions;
  /**
   * KIP-890 verification of transactional produces (the transaction coordinator sets it);
   * undefined: transactional batches are refused.
   */
  txnVerifier: TxnVerifier | undefined;
  /** The ACLs every request is checked against; undefined when no authorizer is configured. */
  readonly acls: AclStore | undefined;
  /** SCRAM credentials of every user (`<dataDir>/denka-scram-credentials.json`). */
  readonly scramCredentials: ScramCredentialStore;
  /** SASL on the Kafka listeners: mechanisms, the failed-login throttle, per-connection sessions. */
  readonly sasl: SaslAuthenticator;
  /**
   * The address clients of listener `listenerName` are told to connect to (Kafka answers
   * Metadata with the endpoint of the listener the request came in on); the first
   * listener's when the name is not a listener or not given.
   */
  advertised(listenerName?: string): HostPort;
  nowMs(): number;
  /**
   * The topic named `name`, created with the default partition count when it
   * does not exist and auto-creation is on; undefined otherwise.
   */
  topicForUse(name: string): Topic | undefined;
}

/** The request header fields a handler may need. */
export interface RequestInfo {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
}

/** One request in flight. */
export interface RequestContext {
  readonly broker: BrokerCore;
  readonly request: RequestInfo;
  readonly connection: Connection;
  /** The record bytes and records this request moved, as its handler reports them. */
  readonly traffic: RequestTraffic;
  /**
   * Keeps the segment fds of `log` that are visible now open until this request's response
   * has been sent or dropped (its file slices point into them): the one lease of the fetch
   * path, released by the router.
   */
  leaseUntilSent(log: { retainReads(): () => void }): void;
}

/** What a handler module defines: its versions and the function that answers. */
export interface HandlerSpec<Req, Res> {
  /** Lowest and highest version advertised in ApiVersions. */
  readonly minVersion: number;
  readonly maxVersion: number;
  /**
   * Handles a decoded request; returns the response body to encode at the
   * request's version, or `null` for no response (acks=0 produce).
   */
  handle(ctx: RequestContext, request: Req): Res | null | Promise<Res | null>;
}

/**
 * A handler for one API key, bound to the generated codecs of that API: the
 * router decodes with `api.decodeRequest`, calls `handle`, and encodes its
 * answer with `api.encodeResponse`, so the three agree on the message types
 * by construction ({@linkcode defineHandler}).
 */
export interface ApiHandler {
  readonly api: ApiMessage;
  readonly minVersion: number;
  readonly maxVersion: number;
  handle(ctx: RequestContext, request: unknown): unknown | Promise<unknown>;
}

/** Binds a handler to its API's generated request and response types. */
export function defineHandler<Req, Res>(
  api: ApiMessage<Req, Res>,
  spec: HandlerSpec<Req, Res>,
): ApiHandler {
  return {
    api: api as ApiMessage,
    minVersion: spec.minVersion,
    maxVersion: spec.maxVersion,
    handle: (ctx, request) => spec.handle(ctx, request as Req),
  };
}
