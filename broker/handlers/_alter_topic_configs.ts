/**
 * What AlterConfigs and IncrementalAlterConfigs share: resource checks,
 * error mapping, and handing the new overrides to the topic registry.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type { RequestContext } from "../context.ts";
import { KafkaError } from "../kafka_error.ts";
import type { Topic } from "../topics.ts";
import type { TopicConfigs } from "../topic_config.ts";
import { RESOURCE_TOPIC } from "./_config_resources.ts";
import { clusterAlterTopicConfigs } from "./_cluster.ts";

/** Kafka's resource types. */

/** One resource's answer (the same shape in both APIs). */
export interface AlterOutcome {
  errorCode: number;
  errorMessage: string | null;
  resourceType: number;
  resourceName: string;
}

/**
 * Applies `overrides(topic)` (the topic's complete new overrides) to the topic resource
 * `r`; refuses other resource types. KafkaError becomes the resource's error. In a cluster
 * the controller stores them and every broker applies them.
 */
export function alterTopicResource(
  ctx: RequestContext,
  r: { resourceType: number; resourceName: string },
  validateOnly: boolean,
  overrides: (topic: Topic) => TopicConfigs,
): AlterOutcome | Promise<AlterOutcome> {
  if (ctx.broker.cluster !== undefined && r.resourceType === RESOURCE_TOPIC) {
    return clusterAlterTopicConfigs(ctx, r.resourceName, validateOnly, overrides).then(
      (): AlterOutcome => ({ ...outcomeOf(r), errorCode: ErrorCode.NONE, errorMessage: null }),
      (e): AlterOutcome => {
        if (!(e instanceof KafkaError)) throw e;
        return { ...outcomeOf(r), errorCode: e.code, errorMessage: e.message };
      },
    );
  }
  const out: AlterOutcome = {
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    resourceType: r.resourceType,
    resourceName: r.resourceName,
  };
  try {
    if (r.resourceType !== RESOURCE_TOPIC) {
      throw new KafkaError(
        ErrorCode.INVALID_REQUEST,
        `Resource type ${r.resourceType} "${r.resourceName}" cannot be altered.`,
      );
    }
    const topic = ctx.broker.topics.get(r.resourceName);
    if (topic === undefined) {
      throw new KafkaError(
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        `Topic "${r.resourceName}" does not exist.`,
      );
    }
    ctx.broker.topics.alterConfigs(topic, overrides(topic), validateOnly);
  } catch (e) {
    if (!(e instanceof KafkaError)) throw e;
    out.errorCode = e.code;
    out.errorMessage = e.message;
  }
  return out;
}

function outcomeOf(r: { resourceType: number; resourceName: string }) {
  return { resourceType: r.resourceType, resourceName: r.resourceName };
}
