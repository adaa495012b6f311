/**
 * Kafka's replica assignment (`AdminUtils.assignReplicasToBrokers`, used by
 * CreateTopics and CreatePartitions in the ZooKeeper era), step for step:
 *
 * - Without racks: the first replica of each partition goes round-robin over
 *   the brokers (sorted by id) from a random start; the other replicas follow
 *   it at a shift that grows by one each time the partitions wrap around the
 *   broker list, so the followers of one leader are spread out too.
 * - With racks (every broker has `broker.rack`; Kafka's "safe" mode ignores
 *   racks when only some brokers have one): the same walk over a broker list
 *   that alternates racks, taking a broker for a replica only if its rack has
 *   no replica yet (or every rack has one) and it holds none yet.
 *
 * @module
 */
import { KafkaError } from "../kafka_error.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";

/** A broker as the assignment sees it. */
export interface AssignableBroker {
  readonly nodeId: number;
  readonly rack: string | null;
}

/** Options of {@linkcode assignReplicas}. */
export interface AssignOptions {
  /** The first broker index; random when absent (Kafka's `fixedStartIndex` -1). */
  readonly startIndex?: number;
  /** The id of the first partition assigned (CreatePartitions: the current count). */
  readonly startPartitionId?: number;
  /** Draws the random start (default `Math.random`). */
  readonly random?: () => number;
}

/**
 * Replicas for `partitionCount` partitions with `replicationFactor` copies,
 * the preferred leader first; INVALID_REPLICATION_FACTOR when there are too
 * few brokers, with Kafka's message.
 */
export function assignReplicas(
  brokers: readonly AssignableBroker[],
  partitionCount: number,
  replicationFactor: number,
  options: AssignOptions = {},
): number[][] {
  if (replicationFactor <= 0) {
    throw new KafkaError(
      ErrorCode.INVALID_REPLICATION_FACTOR,
      "Replication factor must be larger than 0.",
    );
  }
  if (replicationFactor > brokers.length) {
    throw new KafkaError(
      ErrorCode.INVALID_REPLICATION_FACTOR,
      `Replication factor: ${replicationFactor} larger than available brokers: ${brokers.length}.`,
    );
  }
  const sorted = [...brokers].sort((a, b) => a.nodeId - b.nodeId);
  const rackAware = sorted.every((b) => b.rack !== null);
  return rackAware
    ? assignRackAware(sorted, partitionCount, replicationFactor, options)
    : assignRackUnaware(sorted.map((b) => b.nodeId), partitionCount, replicationFactor, options);
}

function start(options: AssignOptions, brokerCount: number) {
  const random = options.random ?? Math.random;
  const fixed = options.startIndex ?? -1;
  return {
    startIndex: fixed >= 0 ? fixed : Math.floor(random() * brokerCount),
    nextReplicaShift: fixed >= 0 ? fixed : Math.floor(random() * brokerCount),
    partitionId: Math.max(0, options.startPartitionId ?? 0),
  };
}

/** Kafka's `replicaIndex`: never the first replica's own index. */
function replicaIndex(first: number, shift: number, index: number, brokerCount: number): number {
  const step = 1 + (shift + index) % (brokerCount - 1);
  return (first + step) % brokerCount;
}

function assignRackUnaware(
  ids: readonly number[],
  partitionCount: number,
  replicationFactor: number,
  options: AssignOptions,
): number[][] {
  const n = ids.length;
  let { startIndex, nextReplicaShift, partitionId } = start(options, n);
  const result: number[][] = [];
  for (let i = 0; i < partitionCount; i++) {
    if (partitionId > 0 && partitionId % n === 0) nextReplicaShift++;
    const first = (partitionId + startIndex) % n;
    const replicas = [ids[first]];
    for (let j = 0; j < replicationFactor - 1; j++) {
      replicas.push(ids[replicaIndex(first, nextReplicaShift, j, n)]);
    }
    result.push(replicas);
    partitionId++;
  }
  return result;
}

/** Kafka's `getRackAlternatedBrokerList`: one broker of each rack in turn (racks and brokers sorted). */
export function rackAlternatedBrokers(brokers: readonly AssignableBroker[]): AssignableBroker[] {
  const byRack = new Map<string, AssignableBroker[]>();
  for (const b of [...brokers].sort((x, y) => x.nodeId - y.nodeId)) {
    const list = byRack.get(b.rack!) ?? [];
    list.push(b);
    byRack.set(b.rack!, list);
  }
  const racks = [...byRack.keys()].sort();
  const result: AssignableBroker[] = [];
  for (let r = 0; result.length < brokers.length; r = (r + 1) % racks.length) {
    const next = byRack.get(racks[r])!.shift();
    if (next !== undefined) result.push(next);
  }
  return result;
}

function assignRackAware(
  brokers: readonly AssignableBroker[],
  partitionCount: number,
  replicationFactor: number,
  options: AssignOptions,
): number[][] {
  const arranged = rackAlternatedBrokers(brokers);
  const n = arranged.length;
  const rackCount = new Set(brokers.map((b) => b.rack)).size;
  let { startIndex, nextReplicaShift, partitionId } = start(options, n);
  const result: number[][] = [];
  for (let i = 0; i < partitionCount; i++) {
    if (partitionId > 0 && partitionId % n === 0) nextReplicaShift++;
    const first = (partitionId + startIndex) % n;
    const leader = arranged[first];
    const replicas = [leader.nodeId];
    const racksWithReplicas = new Set([leader.rack]);
    const brokersWithReplicas = new Set([leader.nodeId]);
    let k = 0;
    for (let j = 0; j < replicationFactor - 1; j++) {
      for (;;) {
        const b = arranged[replicaIndex(first, nextReplicaShift * rackCount, k++, n)];
        const rackOk = !racksWithReplicas.has(b.rack) || racksWithReplicas.size === rackCount;
        const brokerOk = !brokersWithReplicas.has(b.nodeId) || brokersWithReplicas.size === n;
        if (rackOk && brokerOk) {
          replicas.push(b.nodeId);
          racksWithReplicas.add(b.rack);
          brokersWithReplicas.add(b.nodeId);
          break;
        }
      }
    }
    result.push(replicas);
    partitionId++;
  }
  return result;
}

/**
 * Checks a manual assignment (CreateTopics `assignments`, CreatePartitions
 * `assignments`): every partition has the same number of distinct replicas,
 * all of them live brokers; INVALID_REPLICA_ASSIGNMENT otherwise.
 */
export function checkManualAssignment(
  assignment: readonly (readonly number[])[],
  liveBrokerIds: ReadonlySet<number>,
): void {
  const fail = (message: string) => new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, message);
  const size = assignment[0]?.length ?? 0;
  for (const [i, replicas] of assignment.entries()) {
    if (replicas.length === 0) {
      throw fail("The manual partition assignment includes an empty replica list.");
    }
    if (replicas.length !== size) {
      throw fail(`Partition ${i} has ${replicas.length} replica(s), partition 0 has ${size}.`);
    }
    if (new Set(replicas).size !== replicas.length) {
      throw fail(`The manual partition assignment of partition ${i} names a broker twice.`);
    }
    const unknown = replicas.find((id) => !liveBrokerIds.has(id));
    if (unknown !== undefined) {
      throw fail(
        `The manual partition assignment includes broker ${unknown}, but no such broker is registered.`,
      );
    }
  }
}
