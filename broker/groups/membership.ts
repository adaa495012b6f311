/**
 * The classic rebalance protocol (Kafka's `GroupCoordinator` join, sync,
 * heartbeat and leave paths): member ids and MEMBER_ID_REQUIRED, static
 * members, delayed JoinGroup responses until every known member rejoined or
 * the rebalance timeout passed, the leader's assignment relayed untouched,
 * session timeouts that evict silent members. Error codes are Kafka's, in
 * Kafka's order of checks.
 *
 * @module
 */
import { IoError } from "../../ffi/port.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import type { Logger } from "../../util/log.ts";
import {
  type Group,
  joinError,
  type JoinResult,
  Member,
  type MemberProtocol,
  syncError,
  type SyncResult,
} from "./group.ts";
import type { Timers } from "./timers.ts";

/** How long a new member's JoinGroup may wait in a rebalance (Kafka's NewMemberJoinTimeoutMs). */
export const NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60 * 1000;

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
  readonly #core: GroupCore;

  constructor(core: GroupCore) {
    this.#core = core;
  }

  /** JoinGroup: answers at once, or later when the rebalance completes. */
  join(req: JoinRequest): JoinResult | Promise<JoinResult> {
    const settings = this.#core.settings;
    if (req.groupId === "") return joinError(ErrorCode.INVALID_GROUP_ID, req.memberId);
    if (
      req.sessionTimeoutMs < settings.minSessionTimeoutMs ||
      req.sessionTimeoutMs > settings.maxSessionTimeoutMs
    ) {
      return joinError(ErrorCode.INVALID_SESSION_TIMEOUT, req.memberId);
    }
    const isUnknownMember = req.memberId === "";
    const group = this.#core.group(req.groupId, isUnknownMember);
    if (group === undefined) return joinError(ErrorCode.UNKNOWN_MEMBER_ID, req.memberId);
    let pending: Promise<JoinResult> | undefined;
    const wait = (member: Member) => {
      pending = new Promise<JoinResult>((resolve) => {
        // A retried JoinGroup of a member already waiting: both get the same answer.
        const previous = member.awaitingJoin;
        member.awaitingJoin = previous === undefined ? resolve : (r) => {
          previous(r);
          resolve(r);
        };
      });
    };
    const immediate = isUnknownMember
      ? this.#newMemberJoin(group, req, wait)
      : this.#currentMemberJoin(group, req, wait);
    if (group.is("PreparingRebalance")) this.#tryCompleteJoin(group);
    this.#core.changed(group);
    return immediate ?? pending!;
  }

  #newMemberJoin(
    group: Group,
    req: JoinRequest,
    wait: (m: Member) => void,
  ): JoinResult | undefined {
    if (group.is("Dead")) return joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (!group.supportsProtocols(req.protocolType, req.protocols)) {
      return joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    const newMemberId = `${req.groupInstanceId ?? req.clientId}-${crypto.randomUUID()}`;
    if (req.groupInstanceId !== null) {
      const oldMemberId = group.staticMemberId(req.groupInstanceId);
      if (oldMemberId !== undefined) {
        return this.#updateStaticMember(group, req, oldMemberId, newMemberId, wait);
      }
      this.#addMemberAndRebalance(group, req, newMemberId, wait);
      return undefined;
    }
    if (req.requireKnownMemberId) {
      const expiry = this.#core.timers.schedule(req.sessionTimeoutMs, () => {
        if (group.pendingMembers.delete(newMemberId)) {
          this.#afterMemberGone(group, "pending expired");
        }
      });
      group.pendingMembers.set(newMemberId, expiry);
      return joinError(ErrorCode.MEMBER_ID_REQUIRED, newMemberId);
    }
    this.#addMemberAndRebalance(group, req, newMemberId, wait);
    return undefined;
  }

  #currentMemberJoin(
    group: Group,
    req: JoinRequest,
    wait: (m: Member) => void,
  ): JoinResult | undefined {
    const { memberId } = req;
    if (group.is("Dead")) return joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE, memberId);
    if (!group.supportsProtocols(req.protocolType, req.protocols)) {
      return joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, memberId);
    }
    const pendingExpiry = group.pendingMembers.get(memberId);
    if (pendingExpiry !== undefined) {
      pendingExpiry.cancel();
      group.pendingMembers.delete(memberId);
      this.#addMemberAndRebalance(group, req, memberId, wait);
      return undefined;
    }
    if (group.isStaticMemberFenced(req.groupInstanceId, memberId)) {
      return joinError(ErrorCode.FENCED_INSTANCE_ID, memberId);
    }
    const member = group.members.get(memberId);
    const instanceNotFound = req.groupInstanceId !== null &&
      group.staticMemberId(req.groupInstanceId) === undefined;
    if (member === undefined || instanceNotFound) {
      return joinError(ErrorCode.UNKNOWN_MEMBER_ID, memberId);
    }
    switch (group.state) {
      case "PreparingRebalance":
        this.#updateMemberAndRebalance(group, member, req, wait);
        return undefined;
      case "CompletingRebalance":
        if (member.matches(req.protocols)) {
          // A retried JoinGroup (the first answer was lost): the current generation again.
          return this.#generationResult(group, member, group.isLeader(memberId));
        }
        this.#updateMemberAndRebalance(group, member, req, wait);
        return undefined;
      case "Stable":
        if (group.isLeader(memberId) || !member.matches(req.protocols)) {
          // The leader's JoinGroup always rebalances (it may have seen metadata change).
          this.#updateMemberAndRebalance(group, member, req, wait);
          return undefined;
        }
        return this.#generationResult(group, member, false);
      default:
        return joinError(ErrorCode.UNKNOWN_MEMBER_ID, memberId);
    }
  }

  #generationResult(group: Group, member: Member, withMembers: boolean): JoinResult {
    return {
      errorCode: ErrorCode.NONE,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leader: group.leaderId ?? "",
      memberId: member.memberId,
      members: withMembers ? group.currentMemberMetadata() : [],
      skipAssignment: false,
    };
  }

  #addMemberAndRebalance(
    group: Group,
    req: JoinRequest,
    memberId: string,
    wait: (m: Member) => void,
  ): void {
    const member = new Member({ ...req, memberId });
    member.isNew = true;
    if (group.is("PreparingRebalance") && group.generationId === 0) group.newMemberAdded = true;
    group.add(member);
    wait(member);
    // A new member cannot heartbeat until it has a generation: bound its wait instead.
    this.#scheduleExpiry(group, member, NEW_MEMBER_JOIN_TIMEOUT_MS);
    this.#maybePrepareRebalance(group, `member "${memberId}" joined`);
  }

  #updateMemberAndRebalance(
    group: Group,
    member: Member,
    req: JoinRequest,
    wait: (m: Member) => void,
  ): void {
    member.protocols = req.protocols;
    member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    member.sessionTimeoutMs = req.sessionTimeoutMs;
    member.clientId = req.clientId;
    member.clientHost = req.clientHost;
    wait(member);
    this.#maybePrepareRebalance(group, `member "${member.memberId}" rejoined`);
  }

  /** A static member rejoined without its member id: it takes over its old place. */
  #updateStaticMember(
    group: Group,
    req: JoinRequest,
    oldMemberId: string,
    newMemberId: string,
    wait: (m: Member) => void,
  ): JoinResult | undefined {
    const oldLeader = group.leaderId ?? "";
    const old = group.members.get(oldMemberId)!;
    this.#answerJoin(old, joinError(ErrorCode.FENCED_INSTANCE_ID, oldMemberId));
    this.#answerSync(old, syncError(ErrorCode.FENCED_INSTANCE_ID));
    const member = group.replaceStaticMember(req.groupInstanceId!, oldMemberId, newMemberId);
    this.#scheduleExpiry(group, member, member.sessionTimeoutMs);
    const oldProtocols = member.protocols;
    member.protocols = req.protocols;
    member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    member.sessionTimeoutMs = req.sessionTimeoutMs;
    switch (group.state) {
      case "Stable":
        if (group.selectProtocol() === group.protocolName) {
          try {
            this.#core.storeGroup(group);
          } catch (e) {
            if (!(e instanceof IoError)) throw e;
            member.protocols = oldProtocols;
            group.replaceStaticMember(req.groupInstanceId!, newMemberId, oldMemberId);
            return joinError(ErrorCode.NOT_COORDINATOR, newMemberId);
          }
          const isLeader = group.isLeader(newMemberId);
          return {
            ...this.#generationResult(group, member, isLeader),
            leader: oldLeader,
            skipAssignment: isLeader,
          };
        }
        wait(member);
        this.#maybePrepareRebalance(group, `static member "${req.groupInstanceId}" changed`);
        return undefined;
      case "CompletingRebalance":
        wait(member);
        this.#maybePrepareRebalance(group, `static member "${req.groupInstanceId}" rejoined`);
        return undefined;
      default: // PreparingRebalance: wait with the others
        wait(member);
        return undefined;
    }
  }

  /** SyncGroup: the leader's assignment is stored and handed out; followers wait for it. */
  sync(req: SyncRequest): SyncResult | Promise<SyncResult> {
    const group = this.#core.group(req.groupId, false);
    if (group === undefined) return syncError(ErrorCode.UNKNOWN_MEMBER_ID);
    if (group.is("Dead")) return syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (group.isStaticMemberFenced(req.groupInstanceId, req.memberId)) {
      return syncError(ErrorCode.FENCED_INSTANCE_ID);
    }
    const member = group.members.get(req.memberId);
    if (member === undefined) return syncError(ErrorCode.UNKNOWN_MEMBER_ID);
    if (req.generationId !== group.generationId) return syncError(ErrorCode.ILLEGAL_GENERATION);
    if (
      (req.protocolType !== null && req.protocolType !== group.protocolType) ||
      (req.protocolName !== null && req.protocolName !== group.protocolName)
    ) {
      return syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    switch (group.state) {
      case "PreparingRebalance":
        return syncError(ErrorCode.REBALANCE_IN_PROGRESS);
      case "Stable":
        this.#scheduleExpiry(group, member, member.sessionTimeoutMs);
        return this.#syncResult(group, member);
      case "CompletingRebalance": {
        const answer = new Promise<SyncResult>((resolve) => {
          const previous = member.awaitingSync; // a retried SyncGroup gets the same answer
          member.awaitingSync = previous === undefined ? resolve : (r) => {
            previous(r);
            resolve(r);
          };
        });
        // Only the leader's assignments count; a follower's are ignored, as in Kafka.
        if (group.isLeader(req.memberId)) this.#completeSync(group, req.assignments);
        return answer;
      }
      default:
        return syncError(ErrorCode.UNKNOWN_MEMBER_ID);
    }
  }

  #completeSync(group: Group, assignments: ReadonlyMap<string, Uint8Array>): void {
    for (const m of group.members.values()) {
      m.assignment = assignments.get(m.memberId) ?? new Uint8Array(0);
    }
    try {
      this.#core.storeGroup(group);
    } catch (e) {
      if (!(e instanceof IoError)) throw e;
      this.#core.logger.warn(`Cannot store group "${group.groupId}": ${e.message}`);
      this.#propagateAssignment(group, ErrorCode.NOT_COORDINATOR);
      this.#maybePrepareRebalance(group, "storing the assignment failed");
      return;
    }
    group.transitionTo("Stable", this.#core.nowMs());
    this.#propagateAssignment(group, ErrorCode.NONE);
    this.#core.changed(group);
  }

  #syncResult(group: Group, member: Member): SyncResult {
    return {
      errorCode: ErrorCode.NONE,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      assignment: member.assignment,
    };
  }

  /** Answers waiting SyncGroups (an error clears every assignment) and restarts session timers. */
  #propagateAssignment(group: Group, errorCode: number): void {
    for (const m of group.members.values()) {
      if (errorCode !== ErrorCode.NONE) m.assignment = new Uint8Array(0);
      this.#answerSync(
        m,
        errorCode === ErrorCode.NONE ? this.#syncResult(group, m) : syncError(errorCode),
      );
      this.#scheduleExpiry(group, m, m.sessionTimeoutMs);
    }
  }

  /** Heartbeat: keeps a member alive; tells it when a rebalance is under way. */
  heartbeat(
    req: {
      groupId: string;
      generationId: number;
      memberId: string;
      groupInstanceId: string | null;
    },
  ): number {
    const group = this.#core.group(req.groupId, false);
    if (group === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (group.is("Dead")) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const error = validateCurrentMember(group, req.memberId, req.groupInstanceId);
    if (error !== ErrorCode.NONE) return error;
    if (req.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    const member = group.members.get(req.memberId)!;
    switch (group.state) {
      case "CompletingRebalance":
      case "Stable":
        this.#scheduleExpiry(group, member, member.sessionTimeoutMs);
        return ErrorCode.NONE;
      case "PreparingRebalance":
        this.#scheduleExpiry(group, member, member.sessionTimeoutMs);
        return ErrorCode.REBALANCE_IN_PROGRESS;
      default:
        return ErrorCode.UNKNOWN_MEMBER_ID;
    }
  }

  /** LeaveGroup: per-member errors, or a group-level one. */
  leave(
    groupId: string,
    leaving: readonly LeavingMember[],
  ): { errorCode: number; members: number[] } {
    const group = this.#core.group(groupId, false);
    if (group === undefined) {
      return { errorCode: ErrorCode.NONE, members: leaving.map(() => ErrorCode.UNKNOWN_MEMBER_ID) };
    }
    if (group.is("Dead")) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
    const members = leaving.map(({ memberId, groupInstanceId }) => {
      if (memberId === "") {
        const current = group.staticMemberId(groupInstanceId);
        if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
        this.#removeMember(group, group.members.get(current)!, "left");
        return ErrorCode.NONE;
      }
      const pendingExpiry = group.pendingMembers.get(memberId);
      if (pendingExpiry !== undefined) {
        pendingExpiry.cancel();
        group.pendingMembers.delete(memberId);
        this.#afterMemberGone(group, "pending member left");
        return ErrorCode.NONE;
      }
      if (group.isStaticMemberFenced(groupInstanceId, memberId)) {
        return ErrorCode.FENCED_INSTANCE_ID;
      }
      const member = group.members.get(memberId);
      if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      this.#removeMember(group, member, "left");
      return ErrorCode.NONE;
    });
    this.#core.changed(group);
    return { errorCode: ErrorCode.NONE, members };
  }

  /** Restarts a member's session timer (a commit counts as a heartbeat). */
  touch(group: Group, member: Member): void {
    this.#scheduleExpiry(group, member, member.sessionTimeoutMs);
  }

  /** Restarts session timers of a group loaded from the log. */
  startSessions(group: Group): void {
    for (const m of group.members.values()) this.#scheduleExpiry(group, m, m.sessionTimeoutMs);
  }

  /** Answers every waiting request with `errorCode` (shutdown). */
  abortAll(group: Group, errorCode: number): void {
    for (const m of group.members.values()) {
      this.#answerJoin(m, joinError(errorCode, m.memberId));
      this.#answerSync(m, syncError(errorCode));
    }
  }

  // -------------------------------------------------------------------------------------------
  // Rebalancing.

  #maybePrepareRebalance(group: Group, reason: string): void {
    if (group.canRebalance()) this.#prepareRebalance(group, reason);
  }

  #prepareRebalance(group: Group, reason: string): void {
    if (group.is("CompletingRebalance")) {
      this.#propagateAssignment(group, ErrorCode.REBALANCE_IN_PROGRESS);
    }
    const wasEmpty = group.is("Empty");
    group.transitionTo("PreparingRebalance", this.#core.nowMs());
    this.#core.logger.debug(
      `Group "${group.groupId}" rebalancing (generation ${group.generationId}): ${reason}.`,
    );
    group.joinTimer?.cancel();
    const rebalanceTimeoutMs = group.rebalanceTimeoutMs();
    const delayMs = this.#core.settings.initialRebalanceDelayMs;
    group.inInitialDelay = wasEmpty && delayMs > 0;
    if (group.inInitialDelay) {
      const firstMs = Math.min(delayMs, rebalanceTimeoutMs);
      this.#initialDelayedJoin(group, firstMs, Math.max(rebalanceTimeoutMs - delayMs, 0));
    } else {
      group.joinTimer = this.#core.timers.schedule(rebalanceTimeoutMs, () => {
        group.joinTimer = undefined;
        this.#completeJoin(group);
      });
    }
  }

  /** Kafka's InitialDelayedJoin: waits `delayMs`, extended while new members keep arriving. */
  #initialDelayedJoin(group: Group, delayMs: number, remainingMs: number): void {
    group.joinTimer = this.#core.timers.schedule(delayMs, () => {
      group.joinTimer = undefined;
      if (group.newMemberAdded && remainingMs > 0) {
        group.newMemberAdded = false;
        const next = Math.min(this.#core.settings.initialRebalanceDelayMs, remainingMs);
        this.#initialDelayedJoin(group, next, Math.max(remainingMs - next, 0));
      } else {
        group.inInitialDelay = false;
        this.#completeJoin(group);
      }
    });
  }

  /** Completes the rebalance early once everyone has rejoined (not during the initial delay). */
  #tryCompleteJoin(group: Group): void {
    if (!group.inInitialDelay && group.hasAllMembersJoined()) {
      group.joinTimer?.cancel();
      group.joinTimer = undefined;
      this.#completeJoin(group);
    }
  }

  #completeJoin(group: Group): void {
    if (!group.is("PreparingRebalance")) return;
    for (const m of [...group.members.values()]) {
      // Dynamic members that did not rejoin in time are gone; static ones keep their place.
      if (m.awaitingJoin === undefined && m.groupInstanceId === null) group.remove(m.memberId);
    }
    if (!this.#electJoinedLeader(group) && group.members.size > 0) {
      // Nobody rejoined: wait another round for session timeouts to clear the silent members.
      group.joinTimer = this.#core.timers.schedule(group.rebalanceTimeoutMs(), () => {
        group.joinTimer = undefined;
        this.#completeJoin(group);
      });
      return;
    }
    const nowMs = this.#core.nowMs();
    group.initNextGeneration(nowMs);
    if (group.is("Empty")) {
      this.#storeQuietly(group);
    } else {
      for (const m of group.members.values()) {
        this.#answerJoin(m, this.#generationResult(group, m, group.isLeader(m.memberId)));
        this.#scheduleExpiry(group, m, m.sessionTimeoutMs);
        m.isNew = false;
      }
    }
    this.#core.changed(group);
  }

  /** Keeps a leader that rejoined, else picks any member that did; false when none did. */
  #electJoinedLeader(group: Group): boolean {
    if (group.leaderId === null) return false;
    if (group.members.get(group.leaderId)?.awaitingJoin !== undefined) return true;
    for (const m of group.members.values()) {
      if (m.awaitingJoin !== undefined) {
        group.leaderId = m.memberId;
        return true;
      }
    }
    return false;
  }

  #storeQuietly(group: Group): void {
    try {
      this.#core.storeGroup(group);
    } catch (e) {
      if (!(e instanceof IoError)) throw e;
      this.#core.logger.warn(`Cannot store empty group "${group.groupId}": ${e.message}`);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Sessions.

  #scheduleExpiry(group: Group, member: Member, timeoutMs: number): void {
    member.expiry?.cancel();
    member.expiry = this.#core.timers.schedule(timeoutMs, () => {
      member.expiry = undefined;
      if (group.members.get(member.memberId) !== member) return;
      // Members blocked in JoinGroup or SyncGroup cannot heartbeat; the rebalance bounds them.
      if (
        !member.isNew && (member.awaitingJoin !== undefined || member.awaitingSync !== undefined)
      ) {
        return;
      }
      this.#core.logger.info(
        `Member "${member.memberId}" of group "${group.groupId}" expired after ${timeoutMs} ms.`,
      );
      this.#removeMember(group, member, "session expired");
      this.#core.changed(group);
    });
  }

  #removeMember(group: Group, member: Member, reason: string): void {
    this.#answerJoin(member, joinError(ErrorCode.UNKNOWN_MEMBER_ID, member.memberId));
    this.#answerSync(member, syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    group.remove(member.memberId);
    this.#afterMemberGone(group, `member "${member.memberId}" ${reason}`);
  }

  #afterMemberGone(group: Group, reason: string): void {
    switch (group.state) {
      case "Stable":
      case "CompletingRebalance":
        this.#maybePrepareRebalance(group, reason);
        break;
      case "PreparingRebalance":
        this.#tryCompleteJoin(group);
        break;
    }
    this.#core.changed(group);
  }

  #answerJoin(member: Member, result: JoinResult): void {
    const answer = member.awaitingJoin;
    member.awaitingJoin = undefined;
    answer?.(result);
  }

  #answerSync(member: Member, result: SyncResult): void {
    const answer = member.awaitingSync;
    member.awaitingSync = undefined;
    answer?.(result);
  }
}

/** Kafka's validateCurrentMember: a static member's id must match; the member must exist. */
export function validateCurrentMember(
  group: Group,
  memberId: string,
  groupInstanceId: string | null,
): number {
  if (groupInstanceId !== null) {
    if (group.staticMemberId(groupInstanceId) === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (group.isStaticMemberFenced(groupInstanceId, memberId)) return ErrorCode.FENCED_INSTANCE_ID;
    return ErrorCode.NONE;
  }
  return group.members.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
}
