/**
 * CreatePartitions (key 37): raises a topic's partition count. Manual
 * assignments are checked as Kafka checks them (one per new partition, each
 * naming only this node, once); `validateOnly` checks without creating. The
 * registry makes the change crash-safe (see `TopicRegistry.addPartitions`).
 * Needs ALTER on the topic.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type {
  CreatePartitionsRequest,
  CreatePartitionsResponse,
} from "../../protocol/messages/create_partitions.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { createPartitionsApi } from "../../protocol/messages/mod.ts";
import { KafkaError } from "../kafka_error.ts";
import { clusterCreatePartitions } from "./_cluster.ts";
import { AclOperation } from "../security/acl.ts";
import { AuthorizationMessage, authorizeTopic } from "../security/authorize.ts";

type TopicResult = CreatePartitionsResponse["results"][number];
type Increase = CreatePartitionsRequest["topics"][number];

export const createPartitionsHandler: ApiHandler = defineHandler(createPartitionsApi, {
  minVersion: 0,
  maxVersion: 3,
  handle(
    ctx: RequestContext,
    request: CreatePartitionsRequest,
  ): CreatePartitionsResponse | Promise<CreatePartitionsResponse> {
    if (ctx.broker.cluster !== undefined) return increaseInCluster(ctx, request);
    const counts = new Map<string, number>();
    for (const t of request.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
    return {
      throttleTimeMs: 0,
      results: request.topics.map((t): TopicResult => {
        const result: TopicResult = { name: t.name, errorCode: ErrorCode.NONE, errorMessage: null };
        try {
          if (counts.get(t.name)! > 1) {
            throw new KafkaError(ErrorCode.INVALID_REQUEST, "Duplicate topic in request.");
          }
          if (!authorizeTopic(ctx, AclOperation.ALTER, t.name)) {
            throw new KafkaError(ErrorCode.TOPIC_AUTHORIZATION_FAILED, AuthorizationMessage.TOPIC);
          }
          increase(ctx, t, request.validateOnly);
        } catch (e) {
          if (!(e instanceof KafkaError)) throw e;
          result.errorCode = e.code;
          result.errorMessage = e.message;
        }
        return result;
      }),
    };
  },
});

/** CreatePartitions in a cluster: the controller assigns and creates the new partitions. */
async function increaseInCluster(
  ctx: RequestContext,
  request: CreatePartitionsRequest,
): Promise<CreatePartitionsResponse> {
  const counts = new Map<string, number>();
  for (const t of request.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
  const results = await Promise.all(request.topics.map(async (t): Promise<TopicResult> => {
    const result: TopicResult = { name: t.name, errorCode: ErrorCode.NONE, errorMessage: null };
    try {
      if (counts.get(t.name)! > 1) {
        throw new KafkaError(ErrorCode.INVALID_REQUEST, "Duplicate topic in request.");
      }
      if (!authorizeTopic(ctx, AclOperation.ALTER, t.name)) {
        throw new KafkaError(ErrorCode.TOPIC_AUTHORIZATION_FAILED, AuthorizationMessage.TOPIC);
      }
      await clusterCreatePartitions(ctx, t, request);
    } catch (e) {
      if (!(e instanceof KafkaError)) throw e;
      result.errorCode = e.code;
      result.errorMessage = e.message;
    }
    return result;
  }));
  return { throttleTimeMs: 0, results };
}

function increase(ctx: RequestContext, t: Increase, validateOnly: boolean): void {
  const topics = ctx.broker.topics;
  const topic = topics.get(t.name);
  if (topic === undefined) {
    throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic "${t.name}" does not exist.`);
  }
  if (t.assignments !== null) {
    checkAssignments(t.assignments, t.count - topic.partitions.length, ctx.broker.config.nodeId);
  }
  topics.addPartitions(topic, t.count, validateOnly);
}

/** Kafka's checks on manual assignments of the new partitions (its KRaft wording), for a single node. */
export function checkAssignments(
  assignments: readonly { readonly brokerIds: readonly number[] }[],
  added: number,
  nodeId: number,
): void {
  const fail = (message: string) => new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, message);
  if (added > 0 && assignments.length !== added) {
    throw fail(
      `Attempted to add ${added} additional partition(s), but only ${assignments.length} assignment(s) were specified.`,
    );
  }
  for (const a of assignments) {
    if (a.brokerIds.length === 0) {
      throw fail("The manual partition assignment includes an empty replica list.");
    }
    const unknown = a.brokerIds.find((id) => id !== nodeId);
    if (unknown !== undefined) {
      throw fail(
        `The manual partition assignment includes broker ${unknown}, but no such broker is registered.`,
      );
    }
    if (a.brokerIds.length > 1) {
      throw fail(`The manual partition assignment includes the broker ${nodeId} more than once.`);
    }
  }
}
