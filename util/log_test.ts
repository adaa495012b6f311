import { assertEquals } from "./assert.ts";
import { createLogger, LogLevels, ROOT_LOGGER } from "./log.ts";

Deno.test("LogLevels: a logger takes its nearest ancestor's level until it has its own", () => {
  const levels = new LogLevels("info");
  const root = createLogger(levels);
  root.child("groups").child("joins");
  assertEquals(levels.names(), [ROOT_LOGGER, "denka/groups", "denka/groups/joins"]);
  assertEquals(levels.levelOf("denka/groups/joins"), "info");
  levels.set("denka/groups", "debug");
  assertEquals(levels.levelOf("denka/groups/joins"), "debug");
  levels.set(ROOT_LOGGER, "error");
  assertEquals(levels.levelOf("denka/groups/joins"), "debug");
  levels.reset("denka/groups");
  assertEquals(levels.levelOf("denka/groups/joins"), "error");
  levels.reset(ROOT_LOGGER);
  assertEquals(levels.levelOf(ROOT_LOGGER), "error");
});

Deno.test("createLogger() with LogLevels follows level changes at run time", () => {
  const levels = new LogLevels("warn");
  const lines: string[] = [];
  const original = console.error;
  console.error = (line: string) => lines.push(line);
  try {
    const log = createLogger(levels).child("topics");
    log.info("hidden");
    levels.set("denka/topics", "info");
    log.info("shown");
  } finally {
    console.error = original;
  }
  assertEquals(lines.length, 1);
  assertEquals(lines[0].endsWith("INFO [denka/topics] shown"), true);
});
