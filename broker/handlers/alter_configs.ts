/**
 * AlterConfigs (key 33): replaces a topic's whole set of overrides (the
 * legacy semantics: a setting left out returns to the broker default);
 * validated by Kafka name, persisted, applied to the open logs. On a BROKER
 * resource, the same for the dynamic settings of the broker or the cluster
 * default; BROKER_LOGGER resources are refused, as in Kafka. Needs
 * ALTER_CONFIGS on the topic, or on the CLUSTER for the others.
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
import { alterBrokerResource, alterLoggerResource } from "./_alter_broker_configs.ts";
import { RESOURCE_BROKER, RESOURCE_BROKER_LOGGER } from "./_config_resources.ts";
import { AclOperation } from "../security/acl.ts";
import { configResourceRefusal } from "./_config_resources.ts";

export const alterConfigsHandler: ApiHandler = defineHandler(alterConfigsApi, {
  minVersion: 0,
  maxVersion: 2,
  async handle(ctx: RequestContext, request: AlterConfigsRequest): Promise<AlterConfigsResponse> {
    return {
      throttleTimeMs: 0,
      responses: await Promise.all(
        request.resources.map((r): AlterOutcome | Promise<AlterOutcome> => {
          const refusal = configResourceRefusal(ctx, AclOperation.ALTER_CONFIGS, r);
          if (refusal !== undefined) {
            return { ...refusal, resourceType: r.resourceType, resourceName: r.resourceName };
          }
          if (r.resourceType === RESOURCE_BROKER_LOGGER) {
            return alterLoggerResource(ctx, r, request.validateOnly, null);
          }
          if (r.resourceType === RESOURCE_BROKER) {
            return alterBrokerResource(ctx, r, request.validateOnly, () => {
              const values: Record<string, string | null> = {};
              for (const c of r.configs) values[c.name] = c.value;
              return values;
            });
          }
          return alterTopicResource(ctx, r, request.validateOnly, () => {
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
          });
        }),
      ),
    };
  },
});
