/**
 * IncrementalAlterConfigs (key 44, KIP-339): SET, DELETE (back to the
 * default), APPEND and SUBTRACT (list settings such as `cleanup.policy`) on a
 * topic's overrides or on the dynamic settings of a broker or the cluster
 * default; validated, applied, persisted. On BROKER_LOGGER resources, SET and
 * DELETE change log levels. A name given twice in one resource is
 * INVALID_REQUEST, as in Kafka. Needs ALTER_CONFIGS on the topic, or on the
 * CLUSTER for the others.
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
import { dynamicConfigDefs, notDynamic } from "../dynamic_config.ts";
import { KafkaError } from "../kafka_error.ts";
import { topicConfigDefs } from "../topic_config.ts";
import { alterBrokerResource, alterLoggerResource } from "./_alter_broker_configs.ts";
import { RESOURCE_BROKER, RESOURCE_BROKER_LOGGER } from "./_config_resources.ts";
import { alterTopicResource } from "./_alter_topic_configs.ts";
import { AclOperation } from "../security/acl.ts";
import { configResourceRefusal } from "./_config_resources.ts";

/** KIP-339 operations. */
const OP_SET = 0;
const OP_DELETE = 1;
const OP_APPEND = 2;
const OP_SUBTRACT = 3;

type Resource = IncrementalAlterConfigsRequest["resources"][number];
type Alteration = Resource["configs"][number];
type Values = Record<string, string | null>;

export const incrementalAlterConfigsHandler: ApiHandler = defineHandler(
  incrementalAlterConfigsApi,
  {
    minVersion: 0,
    maxVersion: 1,
    async handle(
      ctx: RequestContext,
      request: IncrementalAlterConfigsRequest,
    ): Promise<IncrementalAlterConfigsResponse> {
      const validateOnly = request.validateOnly;
      return {
        throttleTimeMs: 0,
        responses: await Promise.all(request.resources.map((r) => {
          const refusal = configResourceRefusal(ctx, AclOperation.ALTER_CONFIGS, r);
          if (refusal !== undefined) {
            return { ...refusal, resourceType: r.resourceType, resourceName: r.resourceName };
          }
          if (r.resourceType === RESOURCE_BROKER_LOGGER) {
            return alterLoggerResource(ctx, r, validateOnly, r.configs);
          }
          if (r.resourceType === RESOURCE_BROKER) {
            return alterBrokerResource(ctx, r, validateOnly, (current, effective) => {
              const refused = r.configs.map((c) => c.name).filter((n) => !(n in dynamicConfigDefs));
              if (refused.length > 0) throw notDynamic(refused);
              const typeOf = (name: string) => dynamicConfigDefs[name].type;
              return applyAll(current, r, (name) => current[name] ?? effective(name), typeOf);
            });
          }
          return alterTopicResource(ctx, r, validateOnly, (topic) => {
            const effective = ctx.broker.topics.configs(topic);
            const typeOf = (name: string) => {
              const def = topicConfigDefs[name];
              if (def === undefined) {
                throw new KafkaError(ErrorCode.INVALID_CONFIG, `Unknown topic config "${name}".`);
              }
              return def.type;
            };
            const next = applyAll({ ...topic.overrides }, r, (name) => effective[name], typeOf);
            return next as Record<string, string>;
          });
        })),
      };
    },
  },
);

/** Applies a resource's operations in order to `next` (the values before them). */
function applyAll(
  next: Values,
  r: Resource,
  currentOf: (name: string) => string | null | undefined,
  typeOf: (name: string) => string,
): Values {
  const seen = new Set<string>();
  for (const c of r.configs) {
    if (seen.has(c.name)) {
      throw new KafkaError(ErrorCode.INVALID_REQUEST, `Config "${c.name}" appears more than once.`);
    }
    seen.add(c.name);
    apply(next, typeOf(c.name), c, next[c.name] ?? currentOf(c.name) ?? "");
  }
  return next;
}

function apply(next: Values, type: string, c: Alteration, current: string): void {
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
      if (type !== "list") {
        throw new KafkaError(
          ErrorCode.INVALID_CONFIG,
          `Config "${c.name}" is not a list; APPEND and SUBTRACT apply to lists only.`,
        );
      }
      const had = current.split(",").filter((v) => v !== "");
      const values = (c.value ?? "").split(",").map((v) => v.trim()).filter((v) => v !== "");
      const result = c.configOperation === OP_APPEND
        ? [...had, ...values.filter((v) => !had.includes(v))]
        : had.filter((v) => !values.includes(v));
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
