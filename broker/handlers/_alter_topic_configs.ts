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
 * `r`; refuses other resource types. KafkaError becomes the resource's error.
 */
export function alterTopicResource(
  ctx: RequestContext,
  r: { resourceType: number; resourceName: string },
  validateOnly: boolean,
  overrides: (topic: Topic) => TopicConfigs,
): AlterOutcome {
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
