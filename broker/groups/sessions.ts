/**
 * Member sessions and departures (Kafka's heartbeat, session expiry and
 * LeaveGroup paths): a heartbeat or a commit restarts the member's session
 * timer; a member whose session runs out, or that leaves, is answered
 * UNKNOWN_MEMBER_ID on any request it still has waiting and removed, and the
 * group is handed back to the rebalance logic (`rebalance.ts`) through the
 * `afterMemberGone` callback. Part of `Membership` (`membership.ts`).
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import {
  type Group,
  joinError,
  type JoinResult,
  type Member,
  syncError,
  type SyncResult,
} from "./group.ts";
import type { GroupCore, LeavingMember } from "./membership.ts";

/** A Heartbeat, version differences resolved. */
export interface HeartbeatRequest {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
}

/** What happens to a group once one of its members is gone (see `Rebalance`). */
export type AfterMemberGone = (group: Group, reason: string) => void;

/** See the module doc. */
export class Sessions {
  readonly #core: GroupCore;
  readonly #afterMemberGone: AfterMemberGone;

  constructor(core: GroupCore, afterMemberGone: AfterMemberGone) {
    this.#core = core;
    this.#afterMemberGone = afterMemberGone;
  }

  /** Heartbeat: keeps a member alive; tells it when a rebalance is under way. */
  heartbeat(req: HeartbeatRequest): number {
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
        this.scheduleExpiry(group, member, member.sessionTimeoutMs);
        return ErrorCode.NONE;
      case "PreparingRebalance":
        this.scheduleExpiry(group, member, member.sessionTimeoutMs);
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
        this.removeMember(group, group.members.get(current)!, "left");
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
      this.removeMember(group, member, "left");
      return ErrorCode.NONE;
    });
    this.#core.changed(group);
    return { errorCode: ErrorCode.NONE, members };
  }

  /** Restarts session timers of a group loaded from the log. */
  startSessions(group: Group): void {
    for (const m of group.members.values()) this.scheduleExpiry(group, m, m.sessionTimeoutMs);
  }

  /** (Re)starts `member`'s session timer: when it fires, the member is removed. */
  scheduleExpiry(group: Group, member: Member, timeoutMs: number): void {
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
      this.removeMember(group, member, "session expired");
      this.#core.changed(group);
    });
  }

  /** Answers the member's waiting requests with UNKNOWN_MEMBER_ID and removes it. */
  removeMember(group: Group, member: Member, reason: string): void {
    answerJoin(member, joinError(ErrorCode.UNKNOWN_MEMBER_ID, member.memberId));
    answerSync(member, syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    group.remove(member.memberId);
    this.#afterMemberGone(group, `member "${member.memberId}" ${reason}`);
  }
}

/** Answers the member's waiting JoinGroup, if any. */
export function answerJoin(member: Member, result: JoinResult): void {
  const answer = member.awaitingJoin;
  member.awaitingJoin = undefined;
  answer?.(result);
}

/** Answers the member's waiting SyncGroup, if any. */
export function answerSync(member: Member, result: SyncResult): void {
  const answer = member.awaitingSync;
  member.awaitingSync = undefined;
  answer?.(result);
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
