/**
 * Dynamic broker configuration, as Kafka's `DynamicBrokerConfig` has it: the
 * settings Kafka lets change at run time (every topic default under its
 * broker name: `log.retention.ms`, `log.segment.bytes`, `message.max.bytes`,
 * `log.flush.interval.*`, `log.cleaner.delete.retention.ms`, ...; the quota
 * defaults; `producer.id.expiration.ms`), set per broker (resource `"0"`) or
 * cluster-wide (resource `""`, `--entity-default`) through AlterConfigs and
 * IncrementalAlterConfigs. A value's precedence is Kafka's: per broker, then
 * cluster default, then the static config (command line, file, environment),
 * then the built-in default; DescribeConfigs reports the winning layer as the
 * source and every layer that holds a value as a synonym.
 *
 * Kept in `<dataDir>/denka-broker-configs.json`, rewritten atomically. A
 * change is applied before it is saved (a value the running broker refuses
 * is never persisted) and undone if the save fails.
 *
 * @module
 */
import { Errno, IoError, type Libc } from "../ffi/port.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import type { Logger } from "../util/log.ts";
import type { BrokerConfig } from "./config.ts";
import { KafkaError } from "./kafka_error.ts";
import { PRODUCER_ID_EXPIRATION_MS } from "./log_maintenance.ts";
import {
  defaultTopicConfigs,
  KAFKA_LONG_MAX,
  topicConfigDefs,
  TopicConfigError,
  type TopicConfigs,
  validateTopicConfig,
} from "./topic_config.ts";

const FILE_NAME = "denka-broker-configs.json";
const FILE_VERSION = 1;

/** Kafka's ConfigSource ids, as DescribeConfigs reports them. */
export const ConfigSource = {
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
  DYNAMIC_BROKER_LOGGER_CONFIG: 6,
} as const;

/** One setting Kafka lets change at run time. */
export interface DynamicConfigDef {
  readonly type: "int" | "long" | "string" | "list";
  /** The topic setting whose default this is, for topic defaults. */
  readonly topicKey?: string;
  readonly defaultValue: string;
  readonly doc: string;
}

/** The dynamic broker settings Denka applies, by Kafka broker name. */
export const dynamicConfigDefs: Readonly<Record<string, DynamicConfigDef>> = {
  ...Object.fromEntries(
    Object.entries(topicConfigDefs).map(([topicKey, def]) => [def.brokerKey, {
      type: def.type,
      topicKey,
      defaultValue: String(def.defaultValue),
      doc: def.doc,
    }]),
  ),
  "quota.producer.default": {
    type: "long",
    defaultValue: KAFKA_LONG_MAX,
    doc: "Bytes/s a client id may produce unless a client quota says otherwise.",
  },
  "quota.consumer.default": {
    type: "long",
    defaultValue: KAFKA_LONG_MAX,
    doc: "Bytes/s a client id may fetch unless a client quota says otherwise.",
  },
  "producer.id.expiration.ms": {
    type: "int",
    defaultValue: String(PRODUCER_ID_EXPIRATION_MS),
    doc: "How long an idle producer id's state is kept.",
  },
};

/** A layer of dynamic values: this broker's, or the cluster default's. */
export type DynamicLayer = "broker" | "default";

/** One value of a setting and where it comes from. */
export interface ConfigSynonym {
  readonly name: string;
  readonly value: string;
  readonly source: number;
}

/** Checks one dynamic value; returns it normalised or throws INVALID_CONFIG naming the key. */
export function validateDynamicConfig(name: string, value: string | null): string {
  const def = dynamicConfigDefs[name];
  if (def === undefined) throw notDynamic([name]);
  if (value === null) {
    throw new KafkaError(ErrorCode.INVALID_CONFIG, `Config "${name}" needs a value.`);
  }
  try {
    if (def.topicKey !== undefined) return validateTopicConfig(def.topicKey, value);
  } catch (e) {
    if (!(e instanceof TopicConfigError)) throw e;
    throw new KafkaError(
      ErrorCode.INVALID_CONFIG,
      e.message.replaceAll(`"${def.topicKey}"`, `"${name}"`),
    );
  }
  const trimmed = value.trim();
  const n = Number(trimmed);
  const max = def.type === "int" ? 2147483647 : Number.MAX_SAFE_INTEGER;
  if (trimmed === KAFKA_LONG_MAX && def.type === "long") return trimmed;
  if (!/^\d+$/.test(trimmed) || n < 1 || n > max) {
    throw new KafkaError(
      ErrorCode.INVALID_CONFIG,
      `Config "${name}" must be an integer between 1 and ${max}, got "${value}".`,
    );
  }
  return String(n);
}

/** INVALID_CONFIG for names that cannot change at run time (Kafka's wording). */
export function notDynamic(names: readonly string[]): KafkaError {
  return new KafkaError(
    ErrorCode.INVALID_CONFIG,
    `Cannot update these configs dynamically: ${
      names.map((n) => `"${n}"`).join(", ")
    } (static broker settings are set on the command line or in the config file).`,
  );
}

/** Applies effective dynamic values to the running broker; throws to refuse them. */
export type ApplyDynamicConfigs = (configs: DynamicBrokerConfigs) => void;

/** See the module doc. */
export class DynamicBrokerConfigs {
  readonly #libc: Libc;
  readonly #path: string;
  readonly #static: BrokerConfig;
  #layers: Record<DynamicLayer, Record<string, string>> = { broker: {}, default: {} };
  #apply: ApplyDynamicConfigs = () => {};

  private constructor(libc: Libc, config: BrokerConfig) {
    this.#libc = libc;
    this.#static = config;
    this.#path = `${config.dataDir}/${FILE_NAME}`;
  }

  /**
   * Reads `<dataDir>/denka-broker-configs.json` (none yet: no dynamic values). A value this
   * version no longer accepts is dropped with a warning, as Kafka skips invalid dynamic
   * configs at start-up, rather than keeping the broker from starting.
   */
  static open(libc: Libc, config: BrokerConfig, logger?: Logger): DynamicBrokerConfigs {
    const configs = new DynamicBrokerConfigs(libc, config);
    let bytes: Uint8Array;
    try {
      bytes = libc.readFile(configs.#path);
    } catch (e) {
      if (e instanceof IoError && e.errno === Errno.ENOENT) return configs;
      throw e;
    }
    const saved = JSON.parse(new TextDecoder().decode(bytes));
    if (saved.version !== FILE_VERSION) {
      throw new Error(
        `Unsupported broker config file version ${saved.version} in "${configs.#path}".`,
      );
    }
    for (const layer of ["broker", "default"] as const) {
      for (const [k, v] of Object.entries(saved[layer] ?? {})) {
        try {
          configs.#layers[layer][k] = validateDynamicConfig(k, String(v));
        } catch (e) {
          if (!(e instanceof KafkaError)) throw e;
          logger?.warn(`Ignoring dynamic broker config "${k}" in "${configs.#path}": ${e.message}`);
        }
      }
    }
    return configs;
  }

  /** Sets what applies the values to the running broker, and applies them once. */
  bind(apply: ApplyDynamicConfigs): void {
    this.#apply = apply;
    apply(this);
  }

  /** The layer a BROKER resource name addresses: this node's id, or "" for the cluster default. */
  layerOf(resourceName: string): DynamicLayer | undefined {
    if (resourceName === "") return "default";
    return resourceName === String(this.#static.nodeId) ? "broker" : undefined;
  }

  /** The dynamic values of a layer, by Kafka broker name. */
  values(layer: DynamicLayer): Readonly<Record<string, string>> {
    return this.#layers[layer];
  }

  /**
   * Replaces a layer's dynamic values (AlterConfigs: the whole set; IncrementalAlterConfigs
   * passes the result of its operations): every name must be dynamic (else INVALID_CONFIG
   * naming the static ones) and every value valid; then applied, then saved.
   */
  alter(layer: DynamicLayer, next: Record<string, string | null>, validateOnly = false): void {
    const refused = Object.keys(next).filter((k) => dynamicConfigDefs[k] === undefined);
    if (refused.length > 0) throw notDynamic(refused);
    const checked: Record<string, string> = {};
    for (const [k, v] of Object.entries(next)) checked[k] = validateDynamicConfig(k, v);
    if (validateOnly) return;
    const previous = this.#layers;
    this.#layers = { ...previous, [layer]: checked };
    try {
      this.#apply(this);
      this.#save();
    } catch (e) {
      this.#layers = previous;
      this.#apply(this);
      if (e instanceof TopicConfigError) throw new KafkaError(ErrorCode.INVALID_CONFIG, e.message);
      throw e;
    }
  }

  /** A setting's value and its synonyms, highest precedence first (the first one wins). */
  synonyms(name: string): ConfigSynonym[] {
    const def = dynamicConfigDefs[name];
    const out: ConfigSynonym[] = [];
    const add = (value: string | undefined, source: number) => {
      if (value !== undefined) out.push({ name, value, source });
    };
    add(this.#layers.broker[name], ConfigSource.DYNAMIC_BROKER_CONFIG);
    add(this.#layers.default[name], ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG);
    add(this.#staticValue(name), ConfigSource.STATIC_BROKER_CONFIG);
    add(def.defaultValue, ConfigSource.DEFAULT_CONFIG);
    return out;
  }

  /** The effective value of a dynamic setting. */
  value(name: string): string {
    return this.synonyms(name)[0].value;
  }

  /** A numeric setting, Kafka's Long.MAX_VALUE read as `Infinity`. */
  number(name: string): number {
    const v = this.value(name);
    return v === KAFKA_LONG_MAX ? Infinity : Number(v);
  }

  /** Every topic's defaults as they stand now, by topic name. */
  topicDefaults(): TopicConfigs {
    const out: TopicConfigs = {};
    for (const [name, def] of Object.entries(dynamicConfigDefs)) {
      if (def.topicKey !== undefined) out[def.topicKey] = this.value(name);
    }
    return out;
  }

  /**
   * The value the static config gives `name`, undefined when it was left at the built-in
   * default (a static value equal to the default is reported as the default).
   */
  #staticValue(name: string): string | undefined {
    const def = dynamicConfigDefs[name];
    const c = this.#static;
    if (def.topicKey !== undefined) {
      const value = c.topicDefaults[def.topicKey];
      return value === defaultTopicConfigs()[def.topicKey] ? undefined : value;
    }
    if (name === "quota.producer.default") return c.quotaProducerBytesPerSec?.toString();
    if (name === "quota.consumer.default") return c.quotaConsumerBytesPerSec?.toString();
    return undefined;
  }

  #save(): void {
    const text = JSON.stringify({ version: FILE_VERSION, ...this.#layers }, null, 1) + "\n";
    this.#libc.writeFileAtomic(this.#path, new TextEncoder().encode(text));
  }
}
