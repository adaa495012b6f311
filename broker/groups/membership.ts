/**
 * The classic rebalance protocol (Kafka's `GroupCoordinator` join, sync,
 * heartbeat and leave paths): member ids and MEMBER_ID_REQUIRED, static
 * members, delayed JoinGroup responses until every known member rejoined or
 * the rebalance timeout passed, the leader's assignment relayed untouched,
 * session timeouts that evict silent members. Error codes are Kafka's, in
 * Kafka's order of checks.
 *
 * {@linkcode Membership} is the surface the handlers and the coordinator use;
 * the work is in `joins.ts` (JoinGroup), `rebalance.ts` (the state machine
 * and SyncGroup) and `sessions.ts` (heartbeats, session expiry, LeaveGroup).
 *
 * @module
 */
import type { Group, JoinResult, Member, MemberProtocol, SyncResult } from "./group.ts";
import { Joins } from "./joins.ts";
import { Rebalance } from "./rebalance.ts";
import type { HeartbeatRequest } from "./sessions.ts";
import type { Timers } from "./timers.ts";
import type { Logger } from "../../util/log.ts";

export { NEW_MEMBER_JOIN_TIMEOUT_MS } from "./joins.ts";
export { validateCurrentMember } from "./sessions.ts";
export type { HeartbeatRequest } from "./sessions.ts";

/** Group settings, from the broker's options. */
export interface GroupSettings {
  readonly initialRebalanceDelayMs: number;
  readonly minSessionTimeoutMs: number;
  readonly maxSessionTimeoutMs: number;
  readonly offsetsRetentionMs: number;
  readonly offsetsRetentionCheckIntervalMs: number;
  readonly offsetMetadataMaxBytes: number;
}

/** What the rebalance logic needs from the coordinator. */
export interface GroupCore {
  readonly settings: GroupSettings;
  readonly timers: Timers;
  readonly logger: Logger;
  nowMs(): number;
  /** The group, created Empty when `create` is true and it does not exist. */
  group(groupId: string, create: boolean): Group | undefined;
  /** Persists the group's membership and assignments; throws IoError. */
  storeGroup(group: Group): void;
  /** Called after every change of a group's state or membership (test hooks, metrics). */
  changed(group: Group): void;
}

/** A JoinGroup, version differences resolved. */
export interface JoinRequest {
  readonly groupId: string;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  /** v4+: a new dynamic member first gets MEMBER_ID_REQUIRED. */
  readonly requireKnownMemberId: boolean;
  readonly clientId: string;
  readonly clientHost: string;
  readonly rebalanceTimeoutMs: number;
  readonly sessionTimeoutMs: number;
  readonly protocolType: string;
  readonly protocols: readonly MemberProtocol[];
}

/** A SyncGroup, version differences resolved. */
export interface SyncRequest {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly assignments: ReadonlyMap<string, Uint8Array>;
}

/** One member leaving. */
export interface LeavingMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
}

/** See the module doc. */
export class Membership {
  readonly #rebalance: Rebalance;
  readonly #joins: Joins;

  constructor(core: GroupCore) {
    this.#rebalance = new Rebalance(core);
    this.#joins = new Joins(core, this.#rebalance);
  }

  /** JoinGroup: answers at once, or later when the rebalance completes. */
  join(req: JoinRequest): JoinResult | Promise<JoinResult> {
    return this.#joins.join(req);
  }

  /** SyncGroup: the leader's assignment is stored and handed out; followers wait for it. */
  sync(req: SyncRequest): SyncResult | Promise<SyncResult> {
    return this.#rebalance.sync(req);
  }

  /** Heartbeat: keeps a member alive; tells it when a rebalance is under way. */
  heartbeat(req: HeartbeatRequest): number {
    return this.#rebalance.sessions.heartbeat(req);
  }

  /** LeaveGroup: per-member errors, or a group-level one. */
  leave(
    groupId: string,
    leaving: readonly LeavingMember[],
  ): { errorCode: number; members: number[] } {
    return this.#rebalance.sessions.leave(groupId, leaving);
  }

  /** Restarts a member's session timer (a commit counts as a heartbeat). */
  touch(group: Group, member: Member): void {
    this.#rebalance.sessions.scheduleExpiry(group, member, member.sessionTimeoutMs);
  }

  /** Restarts session timers of a group loaded from the log. */
  startSessions(group: Group): void {
    this.#rebalance.sessions.startSessions(group);
  }

  /** Answers every waiting request with `errorCode` (shutdown). */
  abortAll(group: Group, errorCode: number): void {
    this.#rebalance.abortAll(group, errorCode);
  }
}
