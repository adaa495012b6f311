/**
 * BROKER_LOGGER resources (type 8, KIP-412), as Kafka's `broker-loggers`:
 * DescribeConfigs lists every logger with its effective level;
 * IncrementalAlterConfigs SETs a level or DELETEs a logger's own level (it
 * takes its ancestor's again). Levels use Kafka's names: DEBUG, INFO, WARN,
 * ERROR, and OFF for silence. Checks are Kafka's: every operation is
 * validated before any is applied; the root logger (`denka`) cannot be
 * deleted; APPEND and SUBTRACT are INVALID_REQUEST. Levels are not
 * persisted, as in Kafka.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import { type LogLevel, type LogLevels, ROOT_LOGGER } from "../../util/log.ts";
import { ConfigSource } from "../dynamic_config.ts";
import { KafkaError } from "../kafka_error.ts";
import type { DescribedConfig } from "./describe_configs.ts";

/** DescribeConfigs' config type STRING. */
const TYPE_STRING = 2;
/** KIP-339 operations. */
const OP_SET = 0;
const OP_DELETE = 1;

const KAFKA_LEVEL: Record<LogLevel, string> = {
  debug: "DEBUG",
  info: "INFO",
  warn: "WARN",
  error: "ERROR",
  silent: "OFF",
};
const DENKA_LEVEL: Record<string, LogLevel> = Object.fromEntries(
  Object.entries(KAFKA_LEVEL).map(([denka, kafka]) => [kafka, denka as LogLevel]),
);

/** Every logger and its level, as DescribeConfigs reports them. */
export function describeLoggers(levels: LogLevels): DescribedConfig[] {
  return levels.names().map((name) => {
    const value = KAFKA_LEVEL[levels.levelOf(name)];
    const source = ConfigSource.DYNAMIC_BROKER_LOGGER_CONFIG;
    return {
      name,
      value,
      readOnly: false,
      configSource: source,
      configType: TYPE_STRING,
      documentation: "",
      synonyms: [{ name, value, source }],
    };
  });
}

/** One IncrementalAlterConfigs operation on a logger. */
export interface LoggerAlteration {
  readonly name: string;
  readonly configOperation: number;
  readonly value: string | null;
}

/** Validates every operation, then applies them all (or throws, applying none). */
export function alterLoggers(
  levels: LogLevels,
  alterations: readonly LoggerAlteration[],
  validateOnly: boolean,
): void {
  const steps: (() => void)[] = [];
  for (const a of alterations) {
    if (!levels.has(a.name)) {
      throw new KafkaError(ErrorCode.INVALID_CONFIG, `Logger "${a.name}" does not exist.`);
    }
    if (a.configOperation === OP_SET) {
      const level = DENKA_LEVEL[(a.value ?? "").trim().toUpperCase()];
      if (level === undefined) {
        throw new KafkaError(
          ErrorCode.INVALID_CONFIG,
          `Cannot set the log level of "${a.name}" to "${a.value}": valid levels are ${
            Object.keys(DENKA_LEVEL).join(", ")
          }.`,
        );
      }
      steps.push(() => levels.set(a.name, level));
    } else if (a.configOperation === OP_DELETE) {
      if (a.name === ROOT_LOGGER) {
        throw new KafkaError(
          ErrorCode.INVALID_REQUEST,
          `Removing the log level of the root logger "${ROOT_LOGGER}" is not allowed.`,
        );
      }
      steps.push(() => levels.reset(a.name));
    } else {
      throw new KafkaError(
        ErrorCode.INVALID_REQUEST,
        `Operation ${a.configOperation} on "${a.name}" is not supported for BROKER_LOGGER resources: only SET and DELETE are.`,
      );
    }
  }
  if (!validateOnly) { for (const step of steps) step(); }
}
