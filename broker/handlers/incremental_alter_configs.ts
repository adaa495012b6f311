/**
 * IncrementalAlterConfigs (key 44, KIP-339): SET, DELETE (back to the
 * default), APPEND and SUBTRACT (list settings such as `cleanup.policy`) on a
 * topic's overrides; validated, persisted, applied to the open logs. A name
 * given twice in one resource is INVALID_REQUEST, as in Kafka.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type {
  IncrementalAlterConfigsRequest,
  IncrementalAlterConfigsResponse,
} from "../../protocol/messages/incremental_alter_configs.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { incrementalAlterConfigsApi } from "../../protocol/messages/mod.ts";
import { KafkaError } from "../kafka_error.ts";
import { topicConfigDefs, type TopicConfigs } from "../topic_config.ts";
import { alterTopicResource } from "./_alter_topic_configs.ts";

/** KIP-339 operations. */
const OP_SET = 0;
const OP_DELETE = 1;
const OP_APPEND = 2;
const OP_SUBTRACT = 3;

type Alteration = IncrementalAlterConfigsRequest["resources"][number]["configs"][number];

export const incrementalAlterConfigsHandler: ApiHandler = defineHandler(
  incrementalAlterConfigsApi,
  {
    minVersion: 0,
    maxVersion: 1,
    handle(
      ctx: RequestContext,
      request: IncrementalAlterConfigsRequest,
    ): IncrementalAlterConfigsResponse {
      return {
        throttleTimeMs: 0,
        responses: request.resources.map((r) =>
          alterTopicResource(ctx, r, request.validateOnly, (topic) => {
            const effective = ctx.broker.topics.configs(topic);
            const next: TopicConfigs = { ...topic.overrides };
            const seen = new Set<string>();
            for (const c of r.configs) {
              if (seen.has(c.name)) {
                throw new KafkaError(
                  ErrorCode.INVALID_REQUEST,
                  `Config "${c.name}" appears more than once.`,
                );
              }
              seen.add(c.name);
              apply(next, effective, c);
            }
            return next;
          })
        ),
      };
    },
  },
);

function apply(next: TopicConfigs, effective: TopicConfigs, c: Alteration): void {
  const def = topicConfigDefs[c.name];
  if (def === undefined) {
    throw new KafkaError(ErrorCode.INVALID_CONFIG, `Unknown topic config "${c.name}".`);
  }
  switch (c.configOperation) {
    case OP_SET:
      if (c.value === null) {
        throw new KafkaError(ErrorCode.INVALID_CONFIG, `Config "${c.name}" needs a value.`);
      }
      next[c.name] = c.value;
      return;
    case OP_DELETE:
      delete next[c.name];
      return;
    case OP_APPEND:
    case OP_SUBTRACT: {
      if (def.type !== "list") {
        throw new KafkaError(
          ErrorCode.INVALID_CONFIG,
          `Config "${c.name}" is not a list; APPEND and SUBTRACT apply to lists only.`,
        );
      }
      const current = (next[c.name] ?? effective[c.name] ?? "").split(",").filter((v) => v !== "");
      const values = (c.value ?? "").split(",").map((v) => v.trim()).filter((v) => v !== "");
      const result = c.configOperation === OP_APPEND
        ? [...current, ...values.filter((v) => !current.includes(v))]
        : current.filter((v) => !values.includes(v));
      next[c.name] = result.join(",");
      return;
    }
    default:
      throw new KafkaError(
        ErrorCode.INVALID_REQUEST,
        `Unknown config operation ${c.configOperation} for "${c.name}".`,
      );
  }
}
