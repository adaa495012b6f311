/**
 * AlterPartitionReassignments (key 45, KIP-455): in a cluster each named
 * partition's request goes to the controller through etcd (see
 * `cluster/controller_reassignments.ts`), and is answered once the
 * reassignment has started (or been cancelled, for null replicas), not once
 * it completes. On one node the only possible target is the broker itself:
 * it is already there (NONE); another broker does not exist
 * (INVALID_REPLICA_ASSIGNMENT); nothing is ever under way to cancel
 * (NO_REASSIGNMENT_IN_PROGRESS). Needs ALTER on the CLUSTER, as in Kafka.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type {
  AlterPartitionReassignmentsRequest,
  AlterPartitionReassignmentsResponse,
} from "../../protocol/messages/alter_partition_reassignments.ts";
import { alterPartitionReassignmentsApi } from "../../protocol/messages/mod.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { AclOperation } from "../security/acl.ts";
import { authorizeCluster } from "../security/authorize.ts";
import type { AdminOutcome } from "../cluster/cluster_admin_client.ts";

/** Kafka's default `timeoutMs` of the request. */
const REASSIGNMENT_DEFAULT_TIMEOUT_MS = 60_000;

export const alterPartitionReassignmentsHandler: ApiHandler = defineHandler(
  alterPartitionReassignmentsApi,
  {
    minVersion: 0,
    maxVersion: 0,
    async handle(
      ctx: RequestContext,
      request: AlterPartitionReassignmentsRequest,
    ): Promise<AlterPartitionReassignmentsResponse> {
      const allowed = authorizeCluster(ctx, AclOperation.ALTER);
      const timeoutMs = request.timeoutMs > 0 ? request.timeoutMs : REASSIGNMENT_DEFAULT_TIMEOUT_MS;
      const responses = await Promise.all(request.topics.map(async (t) => ({
        name: t.name,
        partitions: await Promise.all(t.partitions.map(async (p) => {
          const outcome: AdminOutcome = allowed
            ? await reassign(ctx, t.name, p.partitionIndex, p.replicas, timeoutMs)
            : { code: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, message: "" };
          return {
            partitionIndex: p.partitionIndex,
            errorCode: outcome?.code ?? ErrorCode.NONE,
            errorMessage: outcome?.message || null,
          };
        })),
      })));
      return {
        throttleTimeMs: 0,
        errorCode: allowed ? ErrorCode.NONE : ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        errorMessage: null,
        responses,
      };
    },
  },
);

function reassign(
  ctx: RequestContext,
  topic: string,
  partition: number,
  replicas: readonly number[] | null,
  timeoutMs: number,
): Promise<AdminOutcome> {
  const node = ctx.broker.cluster;
  if (node !== undefined) {
    if (node.cache.partitionState(topic, partition) === undefined) {
      return Promise.resolve({
        code: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        message: `The partition ${topic}-${partition} does not exist.`,
      });
    }
    return node.admin.reassignPartition(topic, partition, replicas, timeoutMs);
  }
  const nodeId = ctx.broker.config.nodeId;
  let outcome: AdminOutcome;
  if (ctx.broker.topics.partition(topic, partition) === undefined) {
    outcome = {
      code: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      message: `The partition ${topic}-${partition} does not exist.`,
    };
  } else if (replicas === null) {
    outcome = {
      code: ErrorCode.NO_REASSIGNMENT_IN_PROGRESS,
      message: `No reassignment of partition ${topic}-${partition} is in progress.`,
    };
  } else if (replicas.length !== 1 || replicas[0] !== nodeId) {
    const other = replicas.find((r) => r !== nodeId);
    outcome = {
      code: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      message: other === undefined
        ? `The replica list [${replicas}] is invalid.`
        : `The proposed assignment contains non-existent broker "${other}".`,
    };
  }
  return Promise.resolve(outcome);
}
