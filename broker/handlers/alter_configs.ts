/**
 * AlterConfigs (key 33): replaces a topic's whole set of overrides (the
 * legacy semantics: a setting left out returns to the broker default);
 * validated by Kafka name, persisted, applied to the open logs. Broker
 * settings are static in Denka and refused with INVALID_CONFIG.
 *
 * @module
 */
import type {
  AlterConfigsRequest,
  AlterConfigsResponse,
} from "../../protocol/messages/alter_configs.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { alterConfigsApi } from "../../protocol/messages/mod.ts";
import type { TopicConfigs } from "../topic_config.ts";
import { type AlterOutcome, alterTopicResource } from "./_alter_topic_configs.ts";
import { KafkaError } from "../kafka_error.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";

export const alterConfigsHandler: ApiHandler = defineHandler(alterConfigsApi, {
  minVersion: 0,
  maxVersion: 2,
  handle(ctx: RequestContext, request: AlterConfigsRequest): AlterConfigsResponse {
    return {
      throttleTimeMs: 0,
      responses: request.resources.map((r): AlterOutcome =>
        alterTopicResource(ctx, r, request.validateOnly, () => {
          const overrides: TopicConfigs = {};
          for (const c of r.configs) {
            if (c.value === null) {
              throw new KafkaError(
                ErrorCode.INVALID_CONFIG,
                `Config "${c.name}" has a null value.`,
              );
            }
            overrides[c.name] = c.value;
          }
          return overrides;
        })
      ),
    };
  },
});
