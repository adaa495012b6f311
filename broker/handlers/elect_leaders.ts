/**
 * ElectLeaders (key 43, KIP-460), answered as Kafka answers on a single
 * node: every partition's preferred (and only) replica already leads, so a
 * named partition gets ELECTION_NOT_NEEDED, an unknown one
 * UNKNOWN_TOPIC_OR_PARTITION, and a request for all partitions (null) an
 * empty list (Kafka leaves out partitions whose leader needed no election).
 * Needs ALTER on the CLUSTER: refused, the response and every partition
 * named carry CLUSTER_AUTHORIZATION_FAILED, as in Kafka.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type {
  ElectLeadersRequest,
  ElectLeadersResponse,
} from "../../protocol/messages/elect_leaders.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { electLeadersApi } from "../../protocol/messages/mod.ts";
import { clusterElectLeaders } from "./_cluster_elect_leaders.ts";
import { AclOperation } from "../security/acl.ts";
import { authorizeCluster } from "../security/authorize.ts";

/** KIP-460 election types. */
const ELECTION_PREFERRED = 0;
const ELECTION_UNCLEAN = 1;

type TopicResult = ElectLeadersResponse["replicaElectionResults"][number];

export const electLeadersHandler: ApiHandler = defineHandler(electLeadersApi, {
  minVersion: 0,
  maxVersion: 2,
  async handle(ctx: RequestContext, request: ElectLeadersRequest): Promise<ElectLeadersResponse> {
    const response: ElectLeadersResponse = {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      replicaElectionResults: [],
    };
    const allowed = authorizeCluster(ctx, AclOperation.ALTER); // checked first, as in Kafka
    const type = request.electionType;
    if (allowed && type !== ELECTION_PREFERRED && type !== ELECTION_UNCLEAN) {
      response.errorCode = ErrorCode.INVALID_REQUEST;
      return response;
    }
    if (!allowed) response.errorCode = ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
    if (allowed && ctx.broker.cluster !== undefined) {
      response.replicaElectionResults = await clusterElectLeaders(
        ctx,
        type,
        request.topicPartitions,
        request.timeoutMs,
      );
      return response;
    }
    if (request.topicPartitions === null) return response;
    const byTopic = new Map<string, TopicResult>();
    for (const t of request.topicPartitions) {
      let result = byTopic.get(t.topic);
      if (result === undefined) {
        byTopic.set(t.topic, result = { topic: t.topic, partitionResult: [] });
      }
      for (const partitionId of t.partitions) {
        if (!allowed) {
          const errorCode = ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
          result.partitionResult.push({ partitionId, errorCode, errorMessage: null });
          continue;
        }
        const known = ctx.broker.topics.partition(t.topic, partitionId) !== undefined;
        result.partitionResult.push({
          partitionId,
          errorCode: known ? ErrorCode.ELECTION_NOT_NEEDED : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          errorMessage: known
            ? `Leader election not needed for topic partition ${t.topic}-${partitionId}.`
            : `The partition ${t.topic}-${partitionId} does not exist.`,
        });
      }
    }
    response.replicaElectionResults = [...byTopic.values()];
    return response;
  },
});
