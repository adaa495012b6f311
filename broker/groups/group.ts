/**
 * One classic-protocol group (Kafka's `GroupMetadata` + `MemberMetadata`):
 * its state, generation, selected protocol, leader, members (dynamic and
 * static), members told MEMBER_ID_REQUIRED and not back yet, and its
 * committed offsets. Pure state and rules; the coordinator drives it.
 *
 * @module
 */
import { assert } from "../../util/assert.ts";
import { CONSUMER_PROTOCOL_TYPE, subscribedTopics } from "./consumer_protocol.ts";
import type { CommittedOffset } from "./records.ts";
import type { Timer } from "./timers.ts";

/** Kafka's classic group states, by their wire names. */
export type GroupState = "Empty" | "PreparingRebalance" | "CompletingRebalance" | "Stable" | "Dead";

const VALID_PREVIOUS: Record<GroupState, readonly GroupState[]> = {
  Empty: ["PreparingRebalance"],
  PreparingRebalance: ["Stable", "CompletingRebalance", "Empty"],
  CompletingRebalance: ["PreparingRebalance"],
  Stable: ["CompletingRebalance"],
  Dead: ["Stable", "PreparingRebalance", "CompletingRebalance", "Empty", "Dead"],
};

/** A protocol a member supports, with its metadata for that protocol. */
export interface MemberProtocol {
  readonly name: string;
  readonly metadata: Uint8Array;
}

/** A member as the leader sees it in its JoinGroup response. */
export interface JoinedMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly metadata: Uint8Array;
}

/** The answer to one JoinGroup. */
export interface JoinResult {
  readonly errorCode: number;
  readonly generationId: number;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly leader: string;
  readonly memberId: string;
  readonly members: readonly JoinedMember[];
  readonly skipAssignment: boolean;
}

/** The answer to one SyncGroup. */
export interface SyncResult {
  readonly errorCode: number;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly assignment: Uint8Array;
}

/** A JoinGroup answer carrying only an error (and the member id, for MEMBER_ID_REQUIRED). */
export function joinError(errorCode: number, memberId = ""): JoinResult {
  return {
    errorCode,
    generationId: -1,
    protocolType: null,
    protocolName: null,
    leader: "",
    memberId,
    members: [],
    skipAssignment: false,
  };
}

/** A SyncGroup answer carrying only an error. */
export function syncError(errorCode: number): SyncResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: new Uint8Array(0) };
}

/** One member of a group. */
export class Member {
  memberId: string;
  readonly groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  readonly protocolType: string;
  protocols: readonly MemberProtocol[];
  assignment: Uint8Array = new Uint8Array(0);
  /** Set while a JoinGroup waits for the rebalance to complete. */
  awaitingJoin: ((result: JoinResult) => void) | undefined;
  /** Set while a SyncGroup waits for the leader's assignment. */
  awaitingSync: ((result: SyncResult) => void) | undefined;
  /** Joined in the current rebalance and not yet given a generation. */
  isNew = false;
  /** The session (or new-member join) expiry. */
  expiry: Timer | undefined;

  constructor(fields: {
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    rebalanceTimeoutMs: number;
    sessionTimeoutMs: number;
    protocolType: string;
    protocols: readonly MemberProtocol[];
  }) {
    this.memberId = fields.memberId;
    this.groupInstanceId = fields.groupInstanceId;
    this.clientId = fields.clientId;
    this.clientHost = fields.clientHost;
    this.rebalanceTimeoutMs = fields.rebalanceTimeoutMs;
    this.sessionTimeoutMs = fields.sessionTimeoutMs;
    this.protocolType = fields.protocolType;
    this.protocols = fields.protocols;
  }

  /** The member's metadata for protocol `name` (empty if it does not support it). */
  metadata(name: string | null): Uint8Array {
    return this.protocols.find((p) => p.name === name)?.metadata ?? new Uint8Array(0);
  }

  /** True when `protocols` equals the member's (same names, order and metadata bytes). */
  matches(protocols: readonly MemberProtocol[]): boolean {
    if (protocols.length !== this.protocols.length) return false;
    return protocols.every((p, i) =>
      p.name === this.protocols[i].name && bytesEqual(p.metadata, this.protocols[i].metadata)
    );
  }

  /** The member's most preferred protocol among `candidates`. */
  vote(candidates: ReadonlySet<string>): string {
    const choice = this.protocols.find((p) => candidates.has(p.name));
    assert(choice !== undefined, `Member "${this.memberId}" supports no candidate protocol`);
    return choice.name;
  }
}

/** One group. */
export class Group {
  readonly groupId: string;
  state: GroupState = "Empty";
  stateTimestampMs: number;
  generationId = 0;
  /** null for a group that only stores offsets (a "simple" consumer group). */
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  /** Members in join order. */
  readonly members: Map<string, Member> = new Map();
  /** group.instance.id -> member id. */
  readonly staticMembers: Map<string, string> = new Map();
  /** Member ids handed out with MEMBER_ID_REQUIRED, with their expiry. */
  readonly pendingMembers: Map<string, Timer> = new Map();
  /** A member joined during the initial delay, which extends it. */
  newMemberAdded = false;
  /** In Kafka's InitialDelayedJoin: the rebalance waits out the delay even if everyone joined. */
  inInitialDelay = false;
  /** The rebalance deadline while PreparingRebalance. */
  joinTimer: Timer | undefined;
  /** Topics the members subscribe to (consumer groups), undefined when unknown. */
  subscribedTopics: ReadonlySet<string> | undefined;
  /** Committed offsets by topic and partition. */
  readonly offsets: Map<string, Map<number, CommittedOffset>> = new Map();

  constructor(groupId: string, nowMs: number) {
    this.groupId = groupId;
    this.stateTimestampMs = nowMs;
  }

  is(state: GroupState): boolean {
    return this.state === state;
  }

  /** Moves to `state`, which must be reachable from the current one. */
  transitionTo(state: GroupState, nowMs: number): void {
    assert(
      VALID_PREVIOUS[state].includes(this.state),
      `Group "${this.groupId}" cannot go from ${this.state} to ${state}`,
    );
    this.state = state;
    this.stateTimestampMs = nowMs;
  }

  /** PreparingRebalance is reachable from here. */
  canRebalance(): boolean {
    return VALID_PREVIOUS.PreparingRebalance.includes(this.state);
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId;
  }

  /** Kafka's supportsProtocols: a new or rejoining member fits the group. */
  supportsProtocols(protocolType: string, protocols: readonly MemberProtocol[]): boolean {
    if (this.is("Empty")) return protocolType !== "" && protocols.length > 0;
    if (this.protocolType !== protocolType) return false;
    return protocols.some((p) => this.#supporterCount(p.name) === this.members.size);
  }

  /** The group's largest rebalance timeout (how long a rebalance may wait for members). */
  rebalanceTimeoutMs(): number {
    let max = 0;
    for (const m of this.members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
    return max;
  }

  /** Every member and pending member has (re)joined this rebalance. */
  hasAllMembersJoined(): boolean {
    if (this.pendingMembers.size > 0) return false;
    for (const m of this.members.values()) if (m.awaitingJoin === undefined) return false;
    return true;
  }

  /** Adds a member (the first one fixes the protocol type and becomes leader). */
  add(member: Member): void {
    if (this.members.size === 0) this.protocolType = member.protocolType;
    assert(this.protocolType === member.protocolType, "Member protocol type mismatch");
    this.leaderId ??= member.memberId;
    this.members.set(member.memberId, member);
    if (member.groupInstanceId !== null) {
      this.staticMembers.set(member.groupInstanceId, member.memberId);
    }
  }

  /** Removes a member; a new leader is the first remaining member. */
  remove(memberId: string): void {
    const member = this.members.get(memberId);
    if (member === undefined) return;
    this.members.delete(memberId);
    member.expiry?.cancel();
    member.expiry = undefined;
    if (
      member.groupInstanceId !== null &&
      this.staticMembers.get(member.groupInstanceId) === memberId
    ) {
      this.staticMembers.delete(member.groupInstanceId);
    }
    if (this.isLeader(memberId)) this.leaderId = this.members.keys().next().value ?? null;
  }

  /** The member id holding `groupInstanceId`, if any. */
  staticMemberId(groupInstanceId: string | null): string | undefined {
    return groupInstanceId === null ? undefined : this.staticMembers.get(groupInstanceId);
  }

  /** A static member id is known but another member id claims it. */
  isStaticMemberFenced(groupInstanceId: string | null, memberId: string): boolean {
    const current = this.staticMemberId(groupInstanceId);
    return current !== undefined && current !== memberId;
  }

  /** Hands a static member's place to `newMemberId` (same metadata and assignment). */
  replaceStaticMember(groupInstanceId: string, oldMemberId: string, newMemberId: string): Member {
    const member = this.members.get(oldMemberId);
    assert(member !== undefined, `Static member "${groupInstanceId}" is not in the group`);
    this.members.delete(oldMemberId);
    member.memberId = newMemberId;
    this.members.set(newMemberId, member);
    this.staticMembers.set(groupInstanceId, newMemberId);
    if (this.isLeader(oldMemberId)) this.leaderId = newMemberId;
    return member;
  }

  /** Kafka's selectProtocol: each member votes for its favourite common protocol. */
  selectProtocol(): string {
    const candidates = this.#candidateProtocols();
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      const choice = m.vote(candidates);
      votes.set(choice, (votes.get(choice) ?? 0) + 1);
    }
    // Ties go to the leader's preference order (Kafka leaves them to map order).
    const leader = this.leaderId === null ? undefined : this.members.get(this.leaderId);
    const order = (leader?.protocols ?? []).map((p) => p.name).filter((n) => candidates.has(n));
    let best = order[0];
    for (const name of order) if ((votes.get(name) ?? 0) > (votes.get(best) ?? 0)) best = name;
    assert(best !== undefined, `Group "${this.groupId}" has no common protocol`);
    return best;
  }

  /** Starts the next generation: CompletingRebalance with a protocol, or Empty. */
  initNextGeneration(nowMs: number): void {
    this.generationId++;
    if (this.members.size > 0) {
      this.protocolName = this.selectProtocol();
      this.transitionTo("CompletingRebalance", nowMs);
    } else {
      this.protocolName = null;
      this.transitionTo("Empty", nowMs);
    }
    this.subscribedTopics = this.#computeSubscribedTopics();
  }

  /** Recomputes the subscribed topics (after loading a stored group). */
  refreshSubscribedTopics(): void {
    this.subscribedTopics = this.#computeSubscribedTopics();
  }

  /** What the leader's JoinGroup response lists: every member with its selected metadata. */
  currentMemberMetadata(): JoinedMember[] {
    return [...this.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      metadata: m.metadata(this.protocolName),
    }));
  }

  /** A consumer group whose members subscribe to `topic` (true when the subscriptions are unreadable). */
  isSubscribedTo(topic: string): boolean {
    return this.subscribedTopics === undefined || this.subscribedTopics.has(topic);
  }

  /** The committed offset of one partition. */
  offset(topic: string, partition: number): CommittedOffset | undefined {
    return this.offsets.get(topic)?.get(partition);
  }

  setOffset(topic: string, partition: number, committed: CommittedOffset): void {
    let byPartition = this.offsets.get(topic);
    if (byPartition === undefined) this.offsets.set(topic, byPartition = new Map());
    byPartition.set(partition, committed);
  }

  deleteOffset(topic: string, partition: number): void {
    const byPartition = this.offsets.get(topic);
    byPartition?.delete(partition);
    if (byPartition?.size === 0) this.offsets.delete(topic);
  }

  hasOffsets(): boolean {
    return this.offsets.size > 0;
  }

  #supporterCount(name: string): number {
    let n = 0;
    for (const m of this.members.values()) if (m.protocols.some((p) => p.name === name)) n++;
    return n;
  }

  #candidateProtocols(): Set<string> {
    const all = new Set<string>();
    for (const m of this.members.values()) for (const p of m.protocols) all.add(p.name);
    return new Set([...all].filter((n) => this.#supporterCount(n) === this.members.size));
  }

  #computeSubscribedTopics(): ReadonlySet<string> | undefined {
    if (this.protocolType !== CONSUMER_PROTOCOL_TYPE) return undefined;
    if (this.members.size === 0) return new Set();
    const topics = new Set<string>();
    for (const m of this.members.values()) {
      const subscribed = subscribedTopics(m.metadata(this.protocolName));
      if (subscribed === undefined) return undefined;
      for (const t of subscribed) topics.add(t);
    }
    return topics;
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
