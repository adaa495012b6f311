/**
 * DescribeConfigs (key 32), as Kafka reports them:
 * - TOPIC: every topic setting; an override is DYNAMIC_TOPIC_CONFIG, any other
 *   value takes the source of the broker default it comes from; synonyms list
 *   the override and then the broker layers (`log.retention.ms` ...).
 * - BROKER `"0"`: the dynamic settings with their source (DYNAMIC_BROKER_CONFIG,
 *   DYNAMIC_DEFAULT_BROKER_CONFIG, STATIC_BROKER_CONFIG or DEFAULT_CONFIG) and
 *   every layer holding a value as a synonym, then the static ones (read-only).
 *   BROKER `""` (the cluster default): the dynamic defaults set.
 * - BROKER_LOGGER `"0"`: every logger and its level.
 *
 * Needs DESCRIBE_CONFIGS on the topic, or on the CLUSTER for the others.
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
import { ConfigSource, type ConfigSynonym, dynamicConfigDefs } from "../dynamic_config.ts";
import { topicConfigDefs, type TopicConfigs } from "../topic_config.ts";
import { describeLoggers } from "./_broker_loggers.ts";
import { RESOURCE_BROKER, RESOURCE_BROKER_LOGGER, RESOURCE_TOPIC } from "./_config_resources.ts";
import { AclOperation } from "../security/acl.ts";
import { configResourceRefusal } from "./_config_resources.ts";

type Result = DescribeConfigsResponse["results"][number];
type Entry = Result["configs"][number];

/** Kafka's resource types. */
/** Kafka's config types. */
const TYPE_BOOLEAN = 1;
const TYPE_STRING = 2;
const TYPE_INT = 3;
const TYPE_LONG = 5;
const TYPE_LIST = 7;
const CONFIG_TYPES = { int: TYPE_INT, long: TYPE_LONG, string: TYPE_STRING, list: TYPE_LIST };

/** One described setting, before it is shaped for a response version. */
export interface DescribedConfig {
  readonly name: string;
  readonly value: string;
  readonly readOnly: boolean;
  readonly configSource: number;
  readonly configType: number;
  readonly documentation: string;
  /** Every value the setting has, highest precedence first (the first is `value`). */
  readonly synonyms: readonly ConfigSynonym[];
}

/**
 * A topic's settings as DescribeConfigs and CreateTopics report them. `brokerSynonyms`
 * gives the broker layers of a broker setting (default: the built-in value alone).
 */
export function describeTopicConfigs(
  effective: TopicConfigs,
  overrides: TopicConfigs,
  brokerSynonyms?: (brokerKey: string) => ConfigSynonym[],
): DescribedConfig[] {
  return Object.entries(topicConfigDefs).map(([name, def]) => {
    const synonyms: ConfigSynonym[] = [
      ...(name in overrides
        ? [{ name, value: overrides[name], source: ConfigSource.DYNAMIC_TOPIC_CONFIG }]
        : []),
      ...(brokerSynonyms?.(def.brokerKey) ??
        [{ name: def.brokerKey, value: effective[name], source: ConfigSource.DEFAULT_CONFIG }]),
    ];
    return {
      name,
      value: effective[name],
      readOnly: false,
      configSource: synonyms[0].source,
      configType: CONFIG_TYPES[def.type],
      documentation: def.doc,
      synonyms,
    };
  });
}

/** The broker's settings: dynamic ones with their layers, then the static ones. */
function describeBroker(ctx: RequestContext): DescribedConfig[] {
  const dynamic = ctx.broker.dynamicConfigs;
  const out: DescribedConfig[] = Object.entries(dynamicConfigDefs).map(([name, def]) => {
    const synonyms = dynamic.synonyms(name);
    return {
      name,
      value: synonyms[0].value,
      readOnly: false,
      configSource: synonyms[0].source,
      configType: CONFIG_TYPES[def.type],
      documentation: def.doc,
      synonyms,
    };
  });
  const c = ctx.broker.config;
  const fixed: [string, string, number][] = [
    ["broker.id", String(c.nodeId), TYPE_INT],
    ["num.partitions", String(c.defaultPartitions), TYPE_INT],
    ["auto.create.topics.enable", String(c.autoCreateTopics), TYPE_BOOLEAN],
    ["socket.request.max.bytes", String(c.requestSizeBytesMax), TYPE_INT],
    ["log.dirs", c.dataDir, TYPE_STRING],
    ["log.retention.check.interval.ms", String(c.retentionCheckIntervalMs), TYPE_LONG],
    ["group.initial.rebalance.delay.ms", String(c.groupInitialRebalanceDelayMs), TYPE_INT],
    ["group.min.session.timeout.ms", String(c.groupMinSessionTimeoutMs), TYPE_INT],
    ["group.max.session.timeout.ms", String(c.groupMaxSessionTimeoutMs), TYPE_INT],
    ["offsets.retention.minutes", String(c.offsetsRetentionMinutes), TYPE_INT],
    ["offset.metadata.max.bytes", String(c.offsetMetadataMaxBytes), TYPE_INT],
    ["quota.window.num", String(c.quotaWindowCount), TYPE_INT],
    ["quota.window.size.seconds", String(c.quotaWindowSizeMs / 1000), TYPE_INT],
  ];
  for (const [name, value, configType] of fixed) {
    const source = ConfigSource.STATIC_BROKER_CONFIG;
    out.push({
      name,
      value,
      readOnly: true,
      configSource: source,
      configType,
      documentation: "",
      synonyms: [{ name, value, source }],
    });
  }
  return out;
}

/** The cluster-wide dynamic defaults that are set (`--entity-default`). */
function describeClusterDefaults(ctx: RequestContext): DescribedConfig[] {
  return Object.entries(ctx.broker.dynamicConfigs.values("default")).map(([name, value]) => {
    const source = ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG;
    return {
      name,
      value,
      readOnly: false,
      configSource: source,
      configType: CONFIG_TYPES[dynamicConfigDefs[name].type],
      documentation: dynamicConfigDefs[name].doc,
      synonyms: [{ name, value, source }],
    };
  });
}

/** The described settings of one resource, or an error for the result. */
function describeResource(
  ctx: RequestContext,
  r: { resourceType: number; resourceName: string },
): DescribedConfig[] | { errorCode: number; errorMessage: string } {
  const nodeId = String(ctx.broker.config.nodeId);
  if (r.resourceType === RESOURCE_TOPIC) {
    // In a cluster the controller's record holds a topic's overrides (this broker may host none of it).
    const clustered = ctx.broker.cluster?.cache.topics.get(r.resourceName)?.record.configs;
    const topic = clustered !== undefined
      ? { overrides: { ...clustered } }
      : ctx.broker.topics.get(r.resourceName);
    if (topic === undefined) {
      return {
        errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        errorMessage: `Topic "${r.resourceName}" does not exist.`,
      };
    }
    const dynamic = ctx.broker.dynamicConfigs;
    return describeTopicConfigs(
      { ...ctx.broker.topics.defaults, ...topic.overrides },
      topic.overrides,
      (brokerKey) => dynamic.synonyms(brokerKey),
    );
  }
  if (r.resourceType === RESOURCE_BROKER && r.resourceName === nodeId) return describeBroker(ctx);
  if (r.resourceType === RESOURCE_BROKER && r.resourceName === "") {
    return describeClusterDefaults(ctx);
  }
  if (r.resourceType === RESOURCE_BROKER_LOGGER && r.resourceName === nodeId) {
    return describeLoggers(ctx.broker.logLevels);
  }
  return {
    errorCode: ErrorCode.INVALID_REQUEST,
    errorMessage: `Resource type ${r.resourceType} "${r.resourceName}" cannot be described.`,
  };
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
        const refusal = configResourceRefusal(ctx, AclOperation.DESCRIBE_CONFIGS, r);
        if (refusal !== undefined) return { ...result, ...refusal };
        const described = describeResource(ctx, r);
        if (!Array.isArray(described)) return { ...result, ...described };
        const keys = r.configurationKeys;
        result.configs = described
          .filter((d) => keys === null || keys.includes(d.name))
          .map((d): Entry => ({
            name: d.name,
            value: d.value,
            readOnly: d.readOnly,
            isDefault: d.configSource === ConfigSource.DEFAULT_CONFIG,
            configSource: d.configSource,
            isSensitive: false,
            synonyms: request.includeSynonyms ? [...d.synonyms] : [],
            configType: d.configType,
            documentation: request.includeDocumentation ? d.documentation : null,
          }));
        return result;
      }),
    };
  },
});
