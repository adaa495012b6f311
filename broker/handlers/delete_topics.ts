/**
 * DeleteTopics (key 20): by name (v0-5) or by name or UUID (v6+); the
 * topic's logs are closed and its directories removed. Needs DELETE on the
 * topic: refused by name before existence is told; by id, an unknown id is
 * UNKNOWN_TOPIC_ID first (there is no name to check), as in Kafka.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type {
  DeleteTopicsRequest,
  DeleteTopicsResponse,
} from "../../protocol/messages/delete_topics.ts";
import { ZERO_UUID } from "../../protocol/primitives.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { deleteTopicsApi } from "../../protocol/messages/mod.ts";
import { KafkaError } from "../kafka_error.ts";
import { clusterDeleteTopic } from "./_cluster.ts";
import { AclOperation } from "../security/acl.ts";
import { AuthorizationMessage, authorizeTopic } from "../security/authorize.ts";

type Result = DeleteTopicsResponse["responses"][number];

/** First version that names topics by id as well. */
const DELETE_BY_ID_MIN_VERSION = 6;

export const deleteTopicsHandler: ApiHandler = defineHandler(deleteTopicsApi, {
  minVersion: 0,
  maxVersion: 6,
  handle(
    ctx: RequestContext,
    request: DeleteTopicsRequest,
  ): DeleteTopicsResponse | Promise<DeleteTopicsResponse> {
    const targets = ctx.request.apiVersion >= DELETE_BY_ID_MIN_VERSION
      ? request.topics.map((t) => ({ name: t.name, topicId: t.topicId }))
      : request.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
    if (ctx.broker.cluster !== undefined) {
      // In a cluster the controller deletes; every broker removes its logs when it sees it.
      const cache = ctx.broker.cluster.cache;
      return Promise.all(targets.map((t) => {
        if (t.name !== null && !authorizeTopic(ctx, AclOperation.DELETE, t.name)) {
          return refused(t.name, t.topicId);
        }
        const byId = t.name === null
          ? [...cache.topics.values()].find((c) => c.record.id === t.topicId)?.name
          : undefined;
        if (byId !== undefined && !authorizeTopic(ctx, AclOperation.DELETE, byId)) {
          return refused(null, t.topicId);
        }
        return clusterDeleteTopic(ctx, t.name, t.topicId, request.timeoutMs);
      })).then((responses) => ({ throttleTimeMs: 0, responses }));
    }
    return {
      throttleTimeMs: 0,
      responses: targets.map((t) => deleteOne(ctx, t.name, t.topicId)),
    };
  },
});

function deleteOne(ctx: RequestContext, name: string | null, topicId: string): Result {
  const registry = ctx.broker.topics;
  if (name !== null && !authorizeTopic(ctx, AclOperation.DELETE, name)) {
    return refused(name, topicId);
  }
  const topic = name !== null ? registry.get(name) : registry.getById(topicId);
  if (
    name === null && topic !== undefined && !authorizeTopic(ctx, AclOperation.DELETE, topic.name)
  ) {
    return refused(null, topicId);
  }
  if (topic === undefined || (name !== null && topicId !== ZERO_UUID && topic.id !== topicId)) {
    const byId = name === null;
    return {
      name,
      topicId,
      errorCode: byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      errorMessage: byId
        ? `Topic id ${topicId} does not exist.`
        : `Topic "${name}" does not exist.`,
    };
  }
  try {
    registry.delete(topic.name);
  } catch (e) {
    if (e instanceof KafkaError) {
      return { name: topic.name, topicId: topic.id, errorCode: e.code, errorMessage: e.message };
    }
    throw e;
  }
  return { name: topic.name, topicId: topic.id, errorCode: ErrorCode.NONE, errorMessage: null };
}

function refused(name: string | null, topicId: string): Result {
  return {
    name,
    topicId,
    errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    errorMessage: AuthorizationMessage.TOPIC,
  };
}
