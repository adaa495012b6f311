/**
 * Groups cluster-wide: each group lives in partition `hash(groupId) % N` of
 * the replicated `__consumer_offsets` topic (Kafka's partitioner, N =
 * `offsets.topic.num.partitions`), and the leader of that partition is its
 * coordinator. When this broker becomes leader of such a partition (the
 * replica manager's leadership hook) it replays the partition's log (to its
 * log end: a leader's log is the one its followers converge to) into a
 * {@linkcode GroupCoordinator} of its own, writing through a
 * {@linkcode ReplicatedGroupLog}; meanwhile the partition's groups answer
 * COORDINATOR_LOAD_IN_PROGRESS. When it stops leading, the coordinator is
 * unloaded (waiting JoinGroup/SyncGroup answered NOT_COORDINATOR). A group
 * whose partition this broker does not lead gets NOT_COORDINATOR, as in
 * Kafka. The single-node group log (`groups/offset_store.ts`) is not used
 * for these groups.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type { BrokerCore } from "../context.ts";
import { GroupCoordinator, type GroupCoordinatorOptions } from "../groups/coordinator.ts";
import type { Group } from "../groups/group.ts";
import { replayGroupLog } from "../groups/offset_store.ts";
// Kafka's partitioner of groups is the one of transactional ids: abs(hashCode) % partitions.
import { txnPartitionFor as offsetsPartitionFor } from "../transactions/txn_records.ts";
import type { ClusterNode } from "./cluster_node.ts";
import { ReplicatedGroupLog } from "./replicated_group_log.ts";
import type { LeadershipChange, ReplicaManager } from "./replica_manager.ts";

/** Kafka's internal topic of group offsets and metadata. */
export const GROUP_METADATA_TOPIC = "__consumer_offsets";

/** The coordinator of one loaded `__consumer_offsets` partition. */
export interface LoadedGroupPartition {
  readonly partition: number;
  readonly leaderEpoch: number;
  readonly coordinator: GroupCoordinator;
  readonly log: ReplicatedGroupLog;
}

type Slot =
  | {
    readonly kind: "loading";
    readonly leaderEpoch: number;
    readonly timer: ReturnType<typeof setTimeout>;
  }
  | { readonly kind: "loaded"; readonly loaded: LoadedGroupPartition };

/** What a group request finds: the group's coordinator here, or the error to answer. */
export type GroupRoute = { readonly loaded: LoadedGroupPartition } | {
  readonly errorCode: number;
};

/** Options of {@linkcode ClusterGroups}: the group coordinators' settings. */
export type ClusterGroupsOptions = Omit<GroupCoordinatorOptions, "dataDir" | "partitions">;

/** See the module doc. */
export class ClusterGroups {
  readonly #broker: BrokerCore & { readonly cluster: ClusterNode | undefined };
  readonly #options: ClusterGroupsOptions;
  readonly #slots = new Map<number, Slot>();
  #closed = false;

  constructor(
    broker: BrokerCore & { readonly cluster: ClusterNode | undefined },
    replication: Pick<ReplicaManager, "onLeadershipChange">,
    options: ClusterGroupsOptions,
  ) {
    this.#broker = broker;
    this.#options = options;
    replication.onLeadershipChange((change) => this.#leadershipChanged(change));
    // A deleted topic's committed offsets go from the groups loaded here (as on one node).
    broker.topics.onDeleted((topic) => {
      for (const { coordinator } of this.loadedPartitions()) {
        coordinator.deleteTopicOffsets(topic.name);
      }
    });
  }

  /** The coordinator of `groupId` on this broker, or NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS. */
  route(groupId: string): GroupRoute {
    const cached = this.#broker.cluster?.cache.topics.get(GROUP_METADATA_TOPIC);
    if (cached === undefined) return { errorCode: ErrorCode.NOT_COORDINATOR };
    const slot = this.#slots.get(offsetsPartitionFor(groupId, cached.record.assignment.length));
    if (slot === undefined) return { errorCode: ErrorCode.NOT_COORDINATOR };
    if (slot.kind === "loading") return { errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS };
    return { loaded: slot.loaded };
  }

  /** The loaded partitions (ListGroups, transaction markers, tests). */
  loadedPartitions(): LoadedGroupPartition[] {
    const out: LoadedGroupPartition[] = [];
    for (const slot of this.#slots.values()) if (slot.kind === "loaded") out.push(slot.loaded);
    return out;
  }

  /** Every group of the partitions loaded here (the HTTP views and metrics). */
  *allGroups(): Generator<Group> {
    for (const { coordinator } of this.loadedPartitions()) yield* coordinator.allGroups();
  }

  /** Whether `partition` is being loaded now. */
  isLoading(partition: number): boolean {
    return this.#slots.get(partition)?.kind === "loading";
  }

  /**
   * A transaction ended (WriteTxnMarkers to `__consumer_offsets`): the producer's pending
   * offsets in every partition loaded here get their marker. NONE, or the first error code.
   */
  completeOffsets(producerId: number, producerEpoch: number, committed: boolean): number {
    let errorCode: number = ErrorCode.NONE;
    for (const { coordinator } of this.loadedPartitions()) {
      const code = coordinator.txnOffsets.complete(producerId, producerEpoch, committed);
      if (errorCode === ErrorCode.NONE) errorCode = code;
    }
    return errorCode;
  }

  /** Unloads every partition (the broker is stopping). */
  close(): void {
    this.#closed = true;
    for (const partition of [...this.#slots.keys()]) this.#unload(partition);
  }

  #leadershipChanged(change: LeadershipChange): void {
    if (change.topic !== GROUP_METADATA_TOPIC || this.#closed) return;
    const slot = this.#slots.get(change.partition);
    if (!change.leading) return this.#unload(change.partition);
    if (slot?.kind === "loaded" && slot.loaded.leaderEpoch === change.leaderEpoch) return;
    this.#unload(change.partition); // a newer epoch: the log may differ from what was loaded
    // Loaded in a later turn: the partition state is applied first, and requests meanwhile
    // are told COORDINATOR_LOAD_IN_PROGRESS.
    const timer = setTimeout(() => this.#load(change.partition, change.leaderEpoch), 0);
    this.#slots.set(change.partition, { kind: "loading", leaderEpoch: change.leaderEpoch, timer });
  }

  #load(partitionIndex: number, leaderEpoch: number): void {
    const slot = this.#slots.get(partitionIndex);
    if (slot?.kind !== "loading" || slot.leaderEpoch !== leaderEpoch) return;
    const logger = this.#options.logger;
    const partition = this.#broker.topics.partition(GROUP_METADATA_TOPIC, partitionIndex);
    try {
      if (partition === undefined) {
        throw new Error(`No local replica of "${GROUP_METADATA_TOPIC}-${partitionIndex}".`);
      }
      const startedMs = performance.now();
      const state = replayGroupLog(this.#broker.libc, partition.log, partition.log.logEndOffset);
      const log = new ReplicatedGroupLog(this.#broker, partition);
      const coordinator = GroupCoordinator.fromLog(log, state, {
        ...this.#options,
        logger: logger.child(`${GROUP_METADATA_TOPIC}-${partitionIndex}`),
        partitions: { highWatermark: (topic, p) => this.#highWatermark(topic, p) },
      });
      this.#slots.set(partitionIndex, {
        kind: "loaded",
        loaded: { partition: partitionIndex, leaderEpoch, coordinator, log },
      });
      logger.info(
        `Loaded ${state.groups.size} group(s) and the offsets of ${state.offsets.size} group(s) of ${GROUP_METADATA_TOPIC}-${partitionIndex} at epoch ${leaderEpoch} in ${
          (performance.now() - startedMs).toFixed(1)
        } ms.`,
      );
    } catch (error) {
      this.#slots.delete(partitionIndex); // its groups answer NOT_COORDINATOR
      logger.error(
        `Cannot load the groups of ${GROUP_METADATA_TOPIC}-${partitionIndex}: ${
          (error as Error).message
        }`,
      );
    }
  }

  #unload(partitionIndex: number): void {
    const slot = this.#slots.get(partitionIndex);
    if (slot === undefined) return;
    this.#slots.delete(partitionIndex);
    if (slot.kind === "loading") return clearTimeout(slot.timer);
    slot.loaded.coordinator.close();
    this.#options.logger.info(`Unloaded the groups of ${GROUP_METADATA_TOPIC}-${partitionIndex}.`);
  }

  /**
   * A topic partition's high watermark when this broker holds a replica; 0 when only the
   * cluster's metadata knows it (it exists; its lag is not known here); undefined otherwise.
   */
  #highWatermark(topic: string, partition: number): number | undefined {
    const local = this.#broker.topics.partition(topic, partition);
    if (local !== undefined) return local.log.highWatermark;
    const cached = this.#broker.cluster?.cache.topics.get(topic);
    return cached !== undefined && partition < cached.record.assignment.length ? 0 : undefined;
  }
}
