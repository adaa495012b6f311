/**
 * What handlers see: the broker's state (topics, long-poll waiters,
 * counters, settings) and the request being handled.
 *
 * @module
 */
import type { Libc } from "../ffi/port.ts";
import type { GroupCommit } from "../storage/flusher.ts";
import type { Logger } from "../util/log.ts";
import type { AppendWaiters } from "./append_waiters.ts";
import type { BrokerConfig, HostPort } from "./config.ts";
import type { Connection } from "./connection.ts";
import type { FetchSessionCache } from "./fetch_sessions.ts";
import type { GroupCoordinator } from "./groups/coordinator.ts";
import type { ProducerIds } from "./producer_ids.ts";
import type { ClientQuotas } from "./quotas.ts";
import type { Topic, TopicRegistry } from "./topics.ts";

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
  readonly producerIds: ProducerIds;
  /** Group commit: produces that must wait for the disk share one flush per partition. */
  readonly flusher: GroupCommit;
  /** Client byte-rate quotas (produce and fetch throttling). */
  readonly quotas: ClientQuotas;
  /** Consumer groups and committed offsets. */
  readonly groups: GroupCoordinator;
  /** Incremental fetch sessions (KIP-227). */
  readonly fetchSessions: FetchSessionCache;
  /** The address clients are told to connect to. */
  advertised(): HostPort;
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
  /** Runs `fn` once this request's response has been sent (or dropped). */
  afterSend(fn: () => void): void;
}

/** A handler for one API key. */
export interface ApiHandler {
  readonly apiKey: number;
  /** Lowest and highest version advertised in ApiVersions. */
  readonly minVersion: number;
  readonly maxVersion: number;
  /**
   * Handles a decoded request; returns the response body to encode at the
   * request's version, or `null` for no response (acks=0 produce).
   */
  // deno-lint-ignore no-explicit-any
  handle(ctx: RequestContext, request: any): unknown | Promise<unknown>;
}
