/**
 * JoinGroup (Kafka's doNewMemberJoinGroup / doCurrentMemberJoinGroup paths):
 * member ids and MEMBER_ID_REQUIRED (a pending id expires after the session
 * timeout), static members taking over their old place, a rejoin that
 * triggers a rebalance or is answered with the current generation. The answer
 * is immediate, or a promise settled when the rebalance completes
 * (`rebalance.ts`). Error codes are Kafka's, in Kafka's order of checks. Part
 * of `Membership` (`membership.ts`).
 *
 * @module
 */
import { IoError } from "../../ffi/port.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { type Group, joinError, type JoinResult, Member, syncError } from "./group.ts";
import type { GroupCore, JoinRequest } from "./membership.ts";
import type { Rebalance } from "./rebalance.ts";
import { answerJoin, answerSync } from "./sessions.ts";

/** How long a new member's JoinGroup may wait in a rebalance (Kafka's NewMemberJoinTimeoutMs). */
export const NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60 * 1000;

/** Makes `member` wait for the end of the rebalance (its JoinGroup answer). */
type Wait = (member: Member) => void;

/** See the module doc. */
export class Joins {
  readonly #core: GroupCore;
  readonly #rebalance: Rebalance;

  constructor(core: GroupCore, rebalance: Rebalance) {
    this.#core = core;
    this.#rebalance = rebalance;
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
    if (group.is("PreparingRebalance")) this.#rebalance.tryCompleteJoin(group);
    this.#core.changed(group);
    return immediate ?? pending!;
  }

  #newMemberJoin(group: Group, req: JoinRequest, wait: Wait): JoinResult | undefined {
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
          this.#rebalance.afterMemberGone(group, "pending expired");
        }
      });
      group.pendingMembers.set(newMemberId, expiry);
      return joinError(ErrorCode.MEMBER_ID_REQUIRED, newMemberId);
    }
    this.#addMemberAndRebalance(group, req, newMemberId, wait);
    return undefined;
  }

  #currentMemberJoin(group: Group, req: JoinRequest, wait: Wait): JoinResult | undefined {
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
          return this.#rebalance.generationResult(group, member, group.isLeader(memberId));
        }
        this.#updateMemberAndRebalance(group, member, req, wait);
        return undefined;
      case "Stable":
        if (group.isLeader(memberId) || !member.matches(req.protocols)) {
          // The leader's JoinGroup always rebalances (it may have seen metadata change).
          this.#updateMemberAndRebalance(group, member, req, wait);
          return undefined;
        }
        return this.#rebalance.generationResult(group, member, false);
      default:
        return joinError(ErrorCode.UNKNOWN_MEMBER_ID, memberId);
    }
  }

  #addMemberAndRebalance(group: Group, req: JoinRequest, memberId: string, wait: Wait): void {
    const member = new Member({ ...req, memberId });
    member.isNew = true;
    if (group.is("PreparingRebalance") && group.generationId === 0) group.newMemberAdded = true;
    group.add(member);
    wait(member);
    // A new member cannot heartbeat until it has a generation: bound its wait instead.
    this.#rebalance.sessions.scheduleExpiry(group, member, NEW_MEMBER_JOIN_TIMEOUT_MS);
    this.#rebalance.maybePrepareRebalance(group, `member "${memberId}" joined`);
  }

  #updateMemberAndRebalance(group: Group, member: Member, req: JoinRequest, wait: Wait): void {
    member.protocols = req.protocols;
    member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    member.sessionTimeoutMs = req.sessionTimeoutMs;
    member.clientId = req.clientId;
    member.clientHost = req.clientHost;
    wait(member);
    this.#rebalance.maybePrepareRebalance(group, `member "${member.memberId}" rejoined`);
  }

  /** A static member rejoined without its member id: it takes over its old place. */
  #updateStaticMember(
    group: Group,
    req: JoinRequest,
    oldMemberId: string,
    newMemberId: string,
    wait: Wait,
  ): JoinResult | undefined {
    const oldLeader = group.leaderId ?? "";
    const old = group.members.get(oldMemberId)!;
    answerJoin(old, joinError(ErrorCode.FENCED_INSTANCE_ID, oldMemberId));
    answerSync(old, syncError(ErrorCode.FENCED_INSTANCE_ID));
    const member = group.replaceStaticMember(req.groupInstanceId!, oldMemberId, newMemberId);
    this.#rebalance.sessions.scheduleExpiry(group, member, member.sessionTimeoutMs);
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
            ...this.#rebalance.generationResult(group, member, isLeader),
            leader: oldLeader,
            skipAssignment: isLeader,
          };
        }
        wait(member);
        this.#rebalance.maybePrepareRebalance(
          group,
          `static member "${req.groupInstanceId}" changed`,
        );
        return undefined;
      case "CompletingRebalance":
        wait(member);
        this.#rebalance.maybePrepareRebalance(
          group,
          `static member "${req.groupInstanceId}" rejoined`,
        );
        return undefined;
      default: // PreparingRebalance: wait with the others
        wait(member);
        return undefined;
    }
  }
}
