/**
 * ElectLeaders (KIP-460) in a cluster: the elections are asked of the
 * controller through etcd, and each partition is answered from the state it
 * left: a new leader epoch means elected; otherwise why not (not needed, or
 * no eligible leader).
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type { RequestContext } from "../context.ts";
import { ELECTION_UNCLEAN } from "../cluster/controller_admin.ts";
import { clusterOf } from "./_cluster.ts";

/** How long ElectLeaders waits when the request gives no timeout (Kafka's tool: 30 s). */
const ELECT_LEADERS_DEFAULT_TIMEOUT_MS = 30_000;

/** KIP-460 elections in a cluster: asked of the controller, answered from the state it left. */
export async function clusterElectLeaders(
  ctx: RequestContext,
  electionType: number,
  requested: readonly { topic: string; partitions: readonly number[] }[] | null,
  timeoutMs: number,
): Promise<
  {
    topic: string;
    partitionResult: { partitionId: number; errorCode: number; errorMessage: string | null }[];
  }[]
> {
  const { node } = clusterOf(ctx);
  const cache = node.cache;
  const all = requested === null;
  const wanted = requested ?? [...cache.topics.values()].map((c) => ({
    topic: c.name,
    partitions: c.record.assignment.map((_, i) => i),
  }));
  const before = new Map<string, number>();
  const partitions: { topic: string; partition: number }[] = [];
  for (const t of wanted) {
    for (const p of t.partitions) {
      const state = cache.partitionState(t.topic, p);
      if (state === undefined) continue;
      before.set(`${t.topic}/${p}`, state.leaderEpoch);
      partitions.push({ topic: t.topic, partition: p });
    }
  }
  const outcome = partitions.length === 0 ? undefined : await node.admin.electLeaders(
    { electionType, partitions },
    timeoutMs > 0 ? timeoutMs : ELECT_LEADERS_DEFAULT_TIMEOUT_MS,
  );
  const live = cache.brokers;
  return wanted.map((t) => ({
    topic: t.topic,
    partitionResult: t.partitions.flatMap((partitionId) => {
      const state = cache.partitionState(t.topic, partitionId);
      const result = (errorCode: number, errorMessage: string | null) => ({
        partitionId,
        errorCode,
        errorMessage,
      });
      if (state === undefined) {
        return [result(
          ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          `The partition ${t.topic}-${partitionId} does not exist.`,
        )];
      }
      if (state.leaderEpoch !== before.get(`${t.topic}/${partitionId}`)) {
        return [result(ErrorCode.NONE, null)];
      }
      if (outcome !== undefined) return [result(outcome.code, outcome.message)];
      const led = state.leader >= 0 && live.has(state.leader);
      const notNeeded = electionType === ELECTION_UNCLEAN
        ? led
        : state.leader === state.replicas[0];
      if (notNeeded) {
        // Kafka leaves partitions that needed no election out of an all-partitions answer.
        return all ? [] : [result(
          ErrorCode.ELECTION_NOT_NEEDED,
          `Leader election not needed for topic partition ${t.topic}-${partitionId}.`,
        )];
      }
      return [result(
        electionType === ELECTION_UNCLEAN
          ? ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE
          : ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
        `Failed to elect leader for partition ${t.topic}-${partitionId} under strategy ${
          electionType === ELECTION_UNCLEAN
            ? "UncleanLeaderElectionStrategy"
            : "PreferredReplicaPartitionLeaderElectionStrategy"
        }.`,
      )];
    }),
  })).filter((t) => !all || t.partitionResult.length > 0);
}
