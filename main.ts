/**
 * `deno task broker` / `bun run main.ts`: the command-line entry point.
 *
 * @module
 */
import process from "node:process";
import { readFileSync } from "node:fs";
import {
  ConfigError,
  helpText,
  parseConfigText,
  type RawSettings,
  resolveConfig,
  settingsFromArgs,
  settingsFromEnv,
} from "./broker/config.ts";
import { startBrokerWithConfig } from "./broker/broker.ts";
import { ListenerStartError } from "./broker/kafka_listeners.ts";
import { installStatsFile } from "./broker/stats_file.ts";
import { isBun } from "./ffi/load.ts";
import { usersCommandMain } from "./broker/security/users_command.ts";

async function main(): Promise<number> {
  if (process.argv[2] === "users") return await usersCommandMain(process.argv.slice(3));
  let config;
  try {
    const fromArgs = settingsFromArgs(process.argv.slice(2));
    if (fromArgs.help) {
      console.log(helpText());
      return 0;
    }
    const fromEnv = settingsFromEnv(process.env);
    const layers: RawSettings[] = [];
    const configPath = fromArgs.options["config"] ?? fromEnv.options["config"];
    if (configPath !== undefined) {
      let text: string;
      try {
        text = readFileSync(configPath, "utf8");
      } catch (e) {
        throw new ConfigError(`Cannot read config file "${configPath}": ${(e as Error).message}`);
      }
      layers.push(parseConfigText(text, configPath.endsWith(".json")));
    }
    layers.push(fromEnv, fromArgs);
    config = resolveConfig(layers);
  } catch (e) {
    if (e instanceof ConfigError || e instanceof SyntaxError) {
      console.error(`denka: ${e.message}`);
      return 2;
    }
    throw e;
  }
  let broker;
  try {
    broker = await startBrokerWithConfig(config);
  } catch (e) {
    // A setting found unusable only at start (a SASL mechanism with nothing to check it by).
    if (e instanceof ListenerStartError || e instanceof ConfigError) {
      console.error(`denka: ${e.message}`);
      return 2;
    }
    throw e;
  }
  const writeStats = config.statsFile === undefined
    ? undefined
    : installStatsFile(config.statsFile, {
      counters: broker.counters,
      runtime: isBun ? "bun" : "deno",
      onError: (error) => broker.background.failed("Stats file write", error),
    });
  // Under util/background.ts's containment, the last net: logged and counted, and
  // only a failed assertion stops the broker (instead of the runtime's exit on any).
  process.on("unhandledRejection", (reason) => {
    broker.background.unhandledRejection(reason, () => process.exit(1));
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    broker.logger.info(`Received ${signal}; stopping.`);
    try {
      await broker.close();
      writeStats?.();
    } catch (error) {
      broker.logger.error(`Stopping failed: ${(error as Error).stack ?? error}`);
      process.exit(1);
    }
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
  // Kafka-style certificate rotation: new TLS connections get the files as they are now.
  process.on("SIGHUP", () => {
    broker.logger.info("Received SIGHUP; reloading the TLS certificate.");
    broker.reloadTls().catch((error) => broker.background.failed("TLS reload", error));
  });
  return -1;
}

const code = await main();
if (code >= 0) process.exit(code);
