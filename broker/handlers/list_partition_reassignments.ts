/**
 * ListPartitionReassignments (key 46, KIP-455): the reassignments under way,
 * from the metadata cache (every broker sees the controller's records), each
 * with its current replicas and the replicas being added and removed; a
 * named partition with none under way is left out, as in Kafka. One node
 * never has any. Needs DESCRIBE on the CLUSTER.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type {
  ListPartitionReassignmentsRequest,
  ListPartitionReassignmentsResponse,
} from "../../protocol/messages/list_partition_reassignments.ts";
import { listPartitionReassignmentsApi } from "../../protocol/messages/mod.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { AclOperation } from "../security/acl.ts";
import { authorizeCluster } from "../security/authorize.ts";
import { ongoingReassignments } from "../cluster/controller_reassignments.ts";

type TopicAnswer = ListPartitionReassignmentsResponse["topics"][number];

export const listPartitionReassignmentsHandler: ApiHandler = defineHandler(
  listPartitionReassignmentsApi,
  {
    minVersion: 0,
    maxVersion: 0,
    handle(
      ctx: RequestContext,
      request: ListPartitionReassignmentsRequest,
    ): ListPartitionReassignmentsResponse {
      const response: ListPartitionReassignmentsResponse = {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        topics: [],
      };
      if (!authorizeCluster(ctx, AclOperation.DESCRIBE)) {
        response.errorCode = ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
        return response;
      }
      const node = ctx.broker.cluster;
      if (node === undefined) return response;
      const wanted = request.topics === null
        ? undefined
        : new Set(request.topics.flatMap((t) => t.partitionIndexes.map((p) => `${t.name}/${p}`)));
      const byTopic = new Map<string, TopicAnswer>();
      for (const r of ongoingReassignments(node.cache)) {
        if (wanted !== undefined && !wanted.has(`${r.topic}/${r.partition}`)) continue;
        let answer = byTopic.get(r.topic);
        if (answer === undefined) byTopic.set(r.topic, answer = { name: r.topic, partitions: [] });
        answer.partitions.push({
          partitionIndex: r.partition,
          replicas: [...r.replicas],
          addingReplicas: [...r.addingReplicas],
          removingReplicas: [...r.removingReplicas],
        });
      }
      response.topics = [...byTopic.values()];
      return response;
    },
  },
);
