/**
 * DescribeConfigs (key 32): topic settings (overrides marked as dynamic topic
 * configs, the rest as defaults) and the broker's settings under Kafka's
 * broker property names.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type {
  DescribeConfigsRequest,
  DescribeConfigsResponse,
} from "../../protocol/messages/describe_configs.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { describeConfigsApi } from "../../protocol/messages/mod.ts";
import { topicConfigDefs, type TopicConfigs } from "../topic_config.ts";

type Result = DescribeConfigsResponse["results"][number];
type Entry = Result["configs"][number];

/** Kafka's resource types. */
const RESOURCE_TOPIC = 2;
const RESOURCE_BROKER = 4;
/** Kafka's config sources. */
const SOURCE_DYNAMIC_TOPIC = 1;
const SOURCE_STATIC_BROKER = 4;
const SOURCE_DEFAULT = 5;
/** Kafka's config types. */
const TYPE_BOOLEAN = 1;
const TYPE_STRING = 2;
const TYPE_INT = 3;
const TYPE_LONG = 5;
const TYPE_LIST = 7;

/** One described setting, before it is shaped for a response version. */
export interface DescribedConfig {
  readonly name: string;
  readonly value: string;
  readonly readOnly: boolean;
  readonly configSource: number;
  readonly configType: number;
  readonly documentation: string;
}

/** A topic's settings as DescribeConfigs and CreateTopics report them. */
export function describeTopicConfigs(
  effective: TopicConfigs,
  overrides: TopicConfigs,
): DescribedConfig[] {
  return Object.entries(topicConfigDefs).map(([name, def]) => ({
    name,
    value: effective[name],
    readOnly: false,
    configSource: name in overrides ? SOURCE_DYNAMIC_TOPIC : SOURCE_DEFAULT,
    configType: { int: TYPE_INT, long: TYPE_LONG, string: TYPE_STRING, list: TYPE_LIST }[def.type],
    documentation: def.doc,
  }));
}

function describeBroker(ctx: RequestContext): DescribedConfig[] {
  const c = ctx.broker.config;
  const fixed: [string, string, number][] = [
    ["broker.id", String(c.nodeId), TYPE_INT],
    ["num.partitions", String(c.defaultPartitions), TYPE_INT],
    ["auto.create.topics.enable", String(c.autoCreateTopics), TYPE_BOOLEAN],
    ["socket.request.max.bytes", String(c.requestSizeBytesMax), TYPE_INT],
    ["log.dirs", c.dataDir, TYPE_STRING],
  ];
  const out: DescribedConfig[] = fixed.map(([name, value, configType]) => ({
    name,
    value,
    readOnly: true,
    configSource: SOURCE_STATIC_BROKER,
    configType,
    documentation: "",
  }));
  for (const [name, def] of Object.entries(topicConfigDefs)) {
    out.push({
      name: def.brokerKey,
      value: c.topicDefaults[name],
      readOnly: true,
      configSource: SOURCE_STATIC_BROKER,
      configType: { int: TYPE_INT, long: TYPE_LONG, string: TYPE_STRING, list: TYPE_LIST }[
        def.type
      ],
      documentation: def.doc,
    });
  }
  return out;
}

export const describeConfigsHandler: ApiHandler = defineHandler(describeConfigsApi, {
  minVersion: 0,
  maxVersion: 4,
  handle(ctx: RequestContext, request: DescribeConfigsRequest): DescribeConfigsResponse {
    return {
      throttleTimeMs: 0,
      results: request.resources.map((r): Result => {
        const result: Result = {
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          resourceType: r.resourceType,
          resourceName: r.resourceName,
          configs: [],
        };
        let described: DescribedConfig[];
        if (r.resourceType === RESOURCE_TOPIC) {
          const topic = ctx.broker.topics.get(r.resourceName);
          if (topic === undefined) {
            result.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
            result.errorMessage = `Topic "${r.resourceName}" does not exist.`;
            return result;
          }
          described = describeTopicConfigs(ctx.broker.topics.configs(topic), topic.overrides);
        } else if (
          r.resourceType === RESOURCE_BROKER &&
          (r.resourceName === "" || r.resourceName === String(ctx.broker.config.nodeId))
        ) {
          described = describeBroker(ctx);
        } else {
          result.errorCode = ErrorCode.INVALID_REQUEST;
          result.errorMessage =
            `Resource type ${r.resourceType} "${r.resourceName}" cannot be described.`;
          return result;
        }
        const keys = r.configurationKeys;
        result.configs = described
          .filter((d) => keys === null || keys.includes(d.name))
          .map((d): Entry => ({
            name: d.name,
            value: d.value,
            readOnly: d.readOnly,
            isDefault: d.configSource === SOURCE_DEFAULT,
            configSource: d.configSource,
            isSensitive: false,
            synonyms: request.includeSynonyms
              ? [{ name: d.name, value: d.value, source: d.configSource }]
              : [],
            configType: d.configType,
            documentation: request.includeDocumentation ? d.documentation : null,
          }));
        return result;
      }),
    };
  },
});
