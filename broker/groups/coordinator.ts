/**
 * The group coordinator of this node: owns every group, the durable group
 * log ({@linkcode OffsetStore}), the timers, and answers the group APIs
 * (membership in `membership.ts`, offsets in `offsets.ts`, group admin
 * here). Loading replays the log: groups whose last stored generation has
 * members come back Stable with fresh session timers, so a broker restart
 * does not force a rebalance; the others come back Empty with their offsets.
 * Deleting a topic drops its committed offsets in every group (the topic
 * registry calls {@linkcode GroupCoordinator.deleteTopicOffsets}), and loading
 * drops offsets of partitions that no longer exist (a deletion cut short).
 *
 * @module
 */
import type { Libc } from "../../ffi/port.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import type { Logger } from "../../util/log.ts";
import { Group, type GroupState, Member } from "./group.ts";
import { type CommittedOffsetLag, groupLag, type PartitionLookup } from "./lag.ts";
import { type GroupCore, type GroupSettings, Membership } from "./membership.ts";
import {
  type GroupLogRecord,
  type GroupLogWriter,
  type LoadedGroupState,
  OffsetStore,
} from "./offset_store.ts";
import { OffsetOps } from "./offsets.ts";
import { TxnOffsets } from "./txn_offsets.ts";
import {
  encodeGroupKey,
  encodeGroupValue,
  encodeOffsetKey,
  encodeOffsetValue,
  type StoredGroup,
} from "./records.ts";
import { type TimerPort, Timers } from "./timers.ts";

/** Kafka's group type of classic groups (ListGroups v5). */
export const CLASSIC_GROUP_TYPE = "classic";

/** Options of {@linkcode GroupCoordinator.open}. */
export interface GroupCoordinatorOptions {
  readonly dataDir: string;
  readonly settings: GroupSettings;
  readonly logger: Logger;
  readonly nowMs: () => number;
  /** The topics, for commit validation and lag. */
  readonly partitions: PartitionLookup;
  /** Default: the runtime's setTimeout. */
  readonly timerPort?: TimerPort;
  /** Gets what a timer's callback threw (default: thrown on, uncaught). */
  readonly onTimerError?: (error: unknown) => void;
  /** Group log size before compaction is considered (default 16 MiB). */
  readonly compactMinBytes?: number;
}

/** A group as DescribeGroups reports it. */
export interface GroupDescription {
  readonly groupId: string;
  readonly state: GroupState;
  readonly protocolType: string;
  /** The selected protocol when Stable, else "". */
  readonly protocolData: string;
  readonly members: readonly {
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    metadata: Uint8Array;
    assignment: Uint8Array;
  }[];
}

/** A group as ListGroups reports it. */
export interface GroupListing {
  readonly groupId: string;
  readonly protocolType: string;
  readonly state: GroupState;
  readonly groupType: string;
}

/** See the module doc. */
export class GroupCoordinator implements GroupCore {
  readonly settings: GroupSettings;
  readonly timers: Timers;
  readonly logger: Logger;
  readonly membership: Membership;
  readonly offsets: OffsetOps;
  /** Offsets committed in transactions, until their markers (see `txn_offsets.ts`). */
  readonly txnOffsets: TxnOffsets;
  readonly #groups = new Map<string, Group>();
  readonly #store: GroupLogWriter;
  readonly #nowMs: () => number;
  readonly #partitions: PartitionLookup;
  readonly #waiters = new Set<{ check: () => boolean; reject: (e: Error) => void }>();
  #shutDown = false;

  private constructor(store: GroupLogWriter, options: Omit<GroupCoordinatorOptions, "dataDir">) {
    this.#store = store;
    this.settings = options.settings;
    this.logger = options.logger;
    this.#nowMs = options.nowMs;
    this.#partitions = options.partitions;
    this.timers = new Timers(options.timerPort, options.onTimerError);
    this.membership = new Membership(this);
    this.offsets = new OffsetOps(this, store, options.partitions);
    this.txnOffsets = new TxnOffsets(this, store, options.partitions);
  }

  /** Opens the group log under `dataDir`, loads every group, starts session and retention timers. */
  static open(libc: Libc, options: GroupCoordinatorOptions): GroupCoordinator {
    const { store, loaded } = OffsetStore.open(libc, options.dataDir, {
      nowMs: options.nowMs,
      logger: options.logger,
      compactMinBytes: options.compactMinBytes,
    });
    return GroupCoordinator.fromLog(store, loaded, options);
  }

  /**
   * A coordinator of the groups `loaded` from `log` (which it then writes and closes): the
   * groups of one replicated `__consumer_offsets` partition in a cluster.
   */
  static fromLog(
    log: GroupLogWriter,
    loaded: LoadedGroupState,
    options: Omit<GroupCoordinatorOptions, "dataDir">,
  ): GroupCoordinator {
    const coordinator = new GroupCoordinator(log, options);
    coordinator.#load(loaded);
    const orphans = coordinator.offsets.deleteOrphans(coordinator.#groups.values());
    if (orphans > 0) {
      coordinator.logger.warn(`Dropped ${orphans} committed offset(s) of deleted topics.`);
    }
    coordinator.txnOffsets.restore(loaded.pendingTxnOffsets);
    coordinator.#scheduleRetentionCheck();
    coordinator.maybeCompact();
    return coordinator;
  }

  nowMs(): number {
    return this.#nowMs();
  }

  group(groupId: string, create: boolean): Group | undefined {
    let group = this.#groups.get(groupId);
    if (group === undefined && create) {
      group = new Group(groupId, this.#nowMs());
      this.#groups.set(groupId, group);
    }
    return group;
  }

  storeGroup(group: Group): void {
    this.#store.append([{ key: encodeGroupKey(group.groupId), value: groupValue(group) }]);
    this.maybeCompact();
  }

  changed(_group: Group): void {
    for (const w of [...this.#waiters]) if (w.check()) this.#waiters.delete(w);
  }

  /**
   * Rewrites the group log from the live state when it has grown enough (not while
   * transactional offsets are pending: the rewrite would lose them).
   */
  maybeCompact(): void {
    if (this.txnOffsets.pendingCount > 0) return;
    this.#store.maybeCompact(() => this.liveRecords());
  }

  /** Removes a Dead group from the coordinator. */
  forget(group: Group): void {
    if (this.#groups.get(group.groupId) === group) this.#groups.delete(group.groupId);
    group.joinTimer?.cancel();
    for (const m of group.members.values()) m.expiry?.cancel();
    for (const t of group.pendingMembers.values()) t.cancel();
  }

  // -------------------------------------------------------------------------------------------
  // Admin: DescribeGroups, ListGroups, DeleteGroups, lag.

  /** DescribeGroups for one group; an unknown one is reported Dead, as Kafka does. */
  describe(groupId: string): GroupDescription {
    const group = this.#groups.get(groupId);
    if (group === undefined) {
      return { groupId, state: "Dead", protocolType: "", protocolData: "", members: [] };
    }
    const stable = group.is("Stable");
    const empty = new Uint8Array(0);
    return {
      groupId,
      state: group.state,
      protocolType: group.protocolType ?? "",
      protocolData: stable ? group.protocolName ?? "" : "",
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        metadata: stable ? m.metadata(group.protocolName) : empty,
        assignment: stable ? m.assignment : empty,
      })),
    };
  }

  /** ListGroups: every group, filtered by state and type names (case-insensitive; empty = all). */
  list(statesFilter: readonly string[], typesFilter: readonly string[]): GroupListing[] {
    const states = new Set(statesFilter.map((s) => s.toLowerCase()));
    const types = new Set(typesFilter.map((s) => s.toLowerCase()));
    if (types.size > 0 && !types.has(CLASSIC_GROUP_TYPE)) return [];
    return [...this.#groups.values()]
      .filter((g) => states.size === 0 || states.has(g.state.toLowerCase()))
      .map((g) => ({
        groupId: g.groupId,
        protocolType: g.protocolType ?? "",
        state: g.state,
        groupType: CLASSIC_GROUP_TYPE,
      }));
  }

  /** DeleteGroups for one group: only an Empty group goes, with its offsets. */
  deleteGroup(groupId: string): number {
    const group = this.#groups.get(groupId);
    if (group === undefined || group.is("Dead")) return ErrorCode.GROUP_ID_NOT_FOUND;
    if (!group.is("Empty")) return ErrorCode.NON_EMPTY_GROUP;
    const records: GroupLogRecord[] = [{ key: encodeGroupKey(groupId), value: null }];
    for (const [topic, byPartition] of group.offsets) {
      for (const partition of byPartition.keys()) {
        records.push({ key: encodeOffsetKey(groupId, topic, partition), value: null });
      }
    }
    try {
      this.#store.append(records);
    } catch (e) {
      this.logger.warn(`Cannot delete group "${groupId}": ${(e as Error).message}`);
      return ErrorCode.NOT_COORDINATOR;
    }
    group.transitionTo("Dead", this.#nowMs());
    this.forget(group);
    this.changed(group);
    return ErrorCode.NONE;
  }

  /** A topic was deleted: every group's committed offsets of it go, durably (see OffsetOps). */
  deleteTopicOffsets(topic: string): void {
    this.offsets.deleteTopic(topic, this.#groups.values());
  }

  /** Consumer lag of every partition `groupId` committed (high watermark − committed offset). */
  lag(groupId: string): CommittedOffsetLag[] {
    const group = this.#groups.get(groupId);
    return group === undefined ? [] : groupLag(group, this.#partitions);
  }

  /** The group's state, or undefined when it does not exist (tests, admin). */
  state(groupId: string): GroupState | undefined {
    return this.#groups.get(groupId)?.state;
  }

  /** Group ids, in creation order. */
  groupIds(): string[] {
    return [...this.#groups.keys()];
  }

  /** Every live group (read-only use: views, metrics). */
  allGroups(): IterableIterator<Group> {
    return this.#groups.values();
  }

  /**
   * Resolves once `predicate` holds, checked now and after every group change
   * (a hook for tests: wait for a rebalance instead of sleeping).
   */
  waitFor(predicate: () => boolean): Promise<void> {
    if (predicate()) return Promise.resolve();
    if (this.#shutDown) return Promise.reject(new Error("The group coordinator is shut down."));
    return new Promise((resolve, reject) => {
      this.#waiters.add({
        check: () => {
          if (!predicate()) return false;
          resolve();
          return true;
        },
        reject,
      });
    });
  }

  /** Every live record of the group log (the compaction snapshot). */
  liveRecords(): GroupLogRecord[] {
    const records: GroupLogRecord[] = [];
    for (const g of this.#groups.values()) {
      if (g.protocolType !== null) {
        records.push({ key: encodeGroupKey(g.groupId), value: groupValue(g) });
      }
      for (const [topic, byPartition] of g.offsets) {
        for (const [partition, committed] of byPartition) {
          records.push({
            key: encodeOffsetKey(g.groupId, topic, partition),
            value: encodeOffsetValue(committed),
          });
        }
      }
    }
    return records;
  }

  /** Answers every waiting JoinGroup/SyncGroup with NOT_COORDINATOR and stops every timer. */
  shutdown(): void {
    if (this.#shutDown) return;
    this.#shutDown = true;
    this.timers.close();
    for (const g of this.#groups.values()) {
      this.membership.abortAll(g, ErrorCode.NOT_COORDINATOR);
    }
    for (const w of this.#waiters) w.reject(new Error("The group coordinator is shut down."));
    this.#waiters.clear();
  }

  /** Shuts down (if not yet) and closes the group log. */
  close(): void {
    this.shutdown();
    this.#store.close();
  }

  #load(loaded: LoadedGroupState): void {
    for (const [groupId, stored] of loaded.groups) {
      const group = this.group(groupId, true)!;
      restoreGroup(group, stored);
      this.membership.startSessions(group);
    }
    for (const [groupId, byTopic] of loaded.offsets) {
      const group = this.group(groupId, true)!;
      for (const [topic, byPartition] of byTopic) {
        for (const [partition, committed] of byPartition) {
          group.setOffset(topic, partition, committed);
        }
      }
    }
    if (this.#groups.size > 0) {
      this.logger.info(`Loaded ${this.#groups.size} group(s) from the group log.`);
    }
  }

  #scheduleRetentionCheck(): void {
    this.timers.schedule(this.settings.offsetsRetentionCheckIntervalMs, () => {
      this.#scheduleRetentionCheck(); // first: a failed check must not end the checks
      this.offsets.expire(this.#groups.values());
    });
  }
}

function groupValue(g: Group): Uint8Array {
  return encodeGroupValue({
    protocolType: g.protocolType ?? "",
    generationId: g.generationId,
    protocolName: g.protocolName,
    leaderId: g.leaderId,
    currentStateTimestampMs: g.stateTimestampMs,
    members: [...g.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      rebalanceTimeoutMs: m.rebalanceTimeoutMs,
      sessionTimeoutMs: m.sessionTimeoutMs,
      subscription: m.metadata(g.protocolName),
      assignment: m.assignment,
    })),
  });
}

/** Rebuilds a group from its last stored record: Stable with its members, or Empty. */
function restoreGroup(group: Group, stored: StoredGroup): void {
  group.protocolType = stored.protocolType;
  group.generationId = stored.generationId;
  group.protocolName = stored.protocolName;
  group.stateTimestampMs = stored.currentStateTimestampMs;
  for (const s of stored.members) {
    const member = new Member({
      ...s,
      protocolType: stored.protocolType,
      protocols: stored.protocolName === null
        ? []
        : [{ name: stored.protocolName, metadata: s.subscription }],
    });
    member.assignment = s.assignment;
    group.add(member);
  }
  group.leaderId = stored.leaderId !== null && group.members.has(stored.leaderId)
    ? stored.leaderId
    : group.members.keys().next().value ?? null;
  group.state = group.members.size > 0 ? "Stable" : "Empty";
  group.refreshSubscribedTopics();
}
