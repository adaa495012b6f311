/**
 * DeleteTopics (key 20): by name (v0-5) or by name or UUID (v6+); the
 * topic's logs are closed and its directories removed.
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
      return Promise.all(
        targets.map((t) => clusterDeleteTopic(ctx, t.name, t.topicId, request.timeoutMs)),
      ).then((responses) => ({ throttleTimeMs: 0, responses }));
    }
    return {
      throttleTimeMs: 0,
      responses: targets.map((t) => deleteOne(ctx, t.name, t.topicId)),
    };
  },
});

function deleteOne(ctx: RequestContext, name: string | null, topicId: string): Result {
  const registry = ctx.broker.topics;
  const topic = name !== null ? registry.get(name) : registry.getById(topicId);
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
