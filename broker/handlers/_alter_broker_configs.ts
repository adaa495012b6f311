/**
 * What AlterConfigs and IncrementalAlterConfigs do with BROKER and
 * BROKER_LOGGER resources: address this node (`"0"`) or the cluster default
 * (`""`, BROKER only), and hand the new values to the dynamic broker configs
 * or the loggers. KafkaError becomes the resource's error.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type { RequestContext } from "../context.ts";
import type { DynamicLayer } from "../dynamic_config.ts";
import { KafkaError } from "../kafka_error.ts";
import type { AlterOutcome } from "./_alter_topic_configs.ts";
import { alterLoggers, type LoggerAlteration } from "./_broker_loggers.ts";
import { RESOURCE_BROKER, RESOURCE_BROKER_LOGGER } from "./_config_resources.ts";

/** Whether a resource is one this module alters. */
export function isBrokerResource(resourceType: number): boolean {
  return resourceType === RESOURCE_BROKER || resourceType === RESOURCE_BROKER_LOGGER;
}

/**
 * Replaces the dynamic values of the BROKER resource `r` with `next(current)`: `current` is
 * the layer's values now, `effective` looks up a setting's effective value.
 */
export function alterBrokerResource(
  ctx: RequestContext,
  r: { resourceType: number; resourceName: string },
  validateOnly: boolean,
  next: (
    current: Record<string, string>,
    effective: (name: string) => string | undefined,
  ) => Record<string, string | null>,
): AlterOutcome {
  return outcome(r, () => {
    const dynamic = ctx.broker.dynamicConfigs;
    const layer: DynamicLayer | undefined = dynamic.layerOf(r.resourceName);
    if (layer === undefined) throw unexpectedBroker(ctx, r.resourceName, true);
    const values = next({ ...dynamic.values(layer) }, (name) => dynamic.value(name));
    dynamic.alter(layer, values, validateOnly);
    if (!validateOnly) {
      const where = layer === "default" ? "the cluster default" : `broker ${r.resourceName}`;
      ctx.broker.logger.info(`Altered dynamic configs of ${where}: ${JSON.stringify(values)}.`);
    }
  });
}

/** Applies IncrementalAlterConfigs operations (or, `null`, a legacy AlterConfigs) to loggers. */
export function alterLoggerResource(
  ctx: RequestContext,
  r: { resourceType: number; resourceName: string },
  validateOnly: boolean,
  alterations: readonly LoggerAlteration[] | null,
): AlterOutcome {
  return outcome(r, () => {
    if (alterations === null) {
      throw new KafkaError(
        ErrorCode.INVALID_REQUEST,
        "AlterConfigs does not support BROKER_LOGGER resources: use IncrementalAlterConfigs.",
      );
    }
    if (r.resourceName !== String(ctx.broker.config.nodeId)) {
      throw unexpectedBroker(ctx, r.resourceName, false);
    }
    alterLoggers(ctx.broker.logLevels, alterations, validateOnly);
  });
}

function unexpectedBroker(ctx: RequestContext, name: string, orEmpty: boolean): KafkaError {
  return new KafkaError(
    ErrorCode.INVALID_REQUEST,
    `Unexpected broker id, expected ${ctx.broker.config.nodeId}${
      orEmpty ? " or empty string" : ""
    }, but received "${name}".`,
  );
}

function outcome(r: { resourceType: number; resourceName: string }, fn: () => void): AlterOutcome {
  const out: AlterOutcome = {
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    resourceType: r.resourceType,
    resourceName: r.resourceName,
  };
  try {
    fn();
  } catch (e) {
    if (!(e instanceof KafkaError)) throw e;
    out.errorCode = e.code;
    out.errorMessage = e.message;
  }
  return out;
}
