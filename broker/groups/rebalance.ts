/**
 * The classic rebalance state machine (Kafka's prepareRebalance, the delayed
 * join, onCompleteJoin and the SyncGroup path): PreparingRebalance waits until
 * every known member rejoined or the rebalance timeout passed (with Kafka's
 * initial delay for a group that was Empty), then a new generation is handed
 * to the members; CompletingRebalance waits for the leader's SyncGroup, whose
 * assignments are stored and relayed untouched; then Stable. Part of
 * `Membership` (`membership.ts`); JoinGroup itself is in `joins.ts`, sessions
 * and leaves in `sessions.ts`.
 *
 * @module
 */
import { IoError } from "../../ffi/port.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import {
  type Group,
  joinError,
  type JoinResult,
  type Member,
  syncError,
  type SyncResult,
} from "./group.ts";
import type { GroupCore, SyncRequest } from "./membership.ts";
import { answerJoin, answerSync, Sessions } from "./sessions.ts";

/** See the module doc. */
export class Rebalance {
  /** The members' sessions; a member that goes re-enters here through `afterMemberGone`. */
  readonly sessions: Sessions;
  readonly #core: GroupCore;

  constructor(core: GroupCore) {
    this.#core = core;
    this.sessions = new Sessions(core, (group, reason) => this.afterMemberGone(group, reason));
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
        this.sessions.scheduleExpiry(group, member, member.sessionTimeoutMs);
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

  /** The answer to a member's JoinGroup in the current generation (members for the leader). */
  generationResult(group: Group, member: Member, withMembers: boolean): JoinResult {
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

  /** Starts a rebalance when the group's state allows one. */
  maybePrepareRebalance(group: Group, reason: string): void {
    if (group.canRebalance()) this.#prepareRebalance(group, reason);
  }

  /** Completes the rebalance early once everyone has rejoined (not during the initial delay). */
  tryCompleteJoin(group: Group): void {
    if (!group.inInitialDelay && group.hasAllMembersJoined()) {
      group.joinTimer?.cancel();
      group.joinTimer = undefined;
      this.#completeJoin(group);
    }
  }

  /** A member (or pending member) is gone: rebalance, or finish the rebalance under way. */
  afterMemberGone(group: Group, reason: string): void {
    switch (group.state) {
      case "Stable":
      case "CompletingRebalance":
        this.maybePrepareRebalance(group, reason);
        break;
      case "PreparingRebalance":
        this.tryCompleteJoin(group);
        break;
    }
    this.#core.changed(group);
  }

  /** Answers every waiting request with `errorCode` (shutdown). */
  abortAll(group: Group, errorCode: number): void {
    for (const m of group.members.values()) {
      answerJoin(m, joinError(errorCode, m.memberId));
      answerSync(m, syncError(errorCode));
    }
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
      // Kafka's tryCompleteElseWatch: when nobody is left to wait for (the last member left or
      // expired), the group is Empty before the LeaveGroup or expiry returns, not a timer later.
      this.tryCompleteJoin(group);
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
        answerJoin(m, this.generationResult(group, m, group.isLeader(m.memberId)));
        this.sessions.scheduleExpiry(group, m, m.sessionTimeoutMs);
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
      this.maybePrepareRebalance(group, "storing the assignment failed");
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
      answerSync(
        m,
        errorCode === ErrorCode.NONE ? this.#syncResult(group, m) : syncError(errorCode),
      );
      this.sessions.scheduleExpiry(group, m, m.sessionTimeoutMs);
    }
  }
}
