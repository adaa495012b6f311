import { assertEquals } from "./assert.ts";
import { createLogger, type Logger, LogLevels, LogRateLimiter, ROOT_LOGGER } from "./log.ts";

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

function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger: Logger = {
    debug: (m) => lines.push(`DEBUG ${m}`),
    info: (m) => lines.push(`INFO ${m}`),
    warn: (m) => lines.push(`WARN ${m}`),
    error: (m) => lines.push(`ERROR ${m}`),
    child: () => logger,
  };
  return { logger, lines };
}

Deno.test("LogRateLimiter logs N messages of a kind per interval and reports the rest", () => {
  const { logger, lines } = capture();
  let nowMs = 1000;
  const limiter = new LogRateLimiter(logger, {
    messagesPerIntervalMax: 3,
    intervalMs: 10_000,
    nowMs: () => nowMs,
  });
  for (let i = 0; i < 10; i++) limiter.warn("closed", `closed ${i}`);
  assertEquals(lines, ["WARN closed 0", "WARN closed 1", "WARN closed 2"]);
  assertEquals(limiter.suppressedCount("closed"), 7);
  nowMs += 9_999; // still the same window
  limiter.warn("closed", "closed 10");
  assertEquals(lines.length, 3);
  nowMs += 1; // a new window
  limiter.warn("closed", "closed 11");
  assertEquals(lines[3], "WARN closed 11 (8 similar messages suppressed)");
  limiter.warn("closed", "closed 12");
  assertEquals(lines[4], "WARN closed 12");
  assertEquals(limiter.suppressedCount("closed"), 0);
});

Deno.test("LogRateLimiter counts each kind on its own", () => {
  const { logger, lines } = capture();
  const limiter = new LogRateLimiter(logger, { messagesPerIntervalMax: 1, nowMs: () => 0 });
  limiter.warn("a", "a1");
  limiter.warn("a", "a2");
  limiter.error("b", "b1");
  limiter.error("b", "b2");
  limiter.error("b", "b3");
  assertEquals(lines, ["WARN a1", "ERROR b1"]);
  assertEquals(limiter.suppressedCount("a"), 1);
  assertEquals(limiter.suppressedCount("b"), 2);
});

Deno.test("LogRateLimiter.flush() reports counts not yet reported, once", () => {
  const { logger, lines } = capture();
  const limiter = new LogRateLimiter(logger, { messagesPerIntervalMax: 1, nowMs: () => 0 });
  limiter.error("append-failed", "Append failed: ENOSPC");
  limiter.error("append-failed", "Append failed: ENOSPC");
  limiter.info("quiet", "only one");
  limiter.flush();
  limiter.flush();
  assertEquals(lines, [
    "ERROR Append failed: ENOSPC",
    "INFO only one",
    'ERROR 1 similar message of kind "append-failed" suppressed.',
  ]);
});

Deno.test("LogRateLimiter starts a new window when the clock goes back", () => {
  const { logger, lines } = capture();
  let nowMs = 50_000;
  const limiter = new LogRateLimiter(logger, { messagesPerIntervalMax: 1, nowMs: () => nowMs });
  limiter.warn("k", "first");
  limiter.warn("k", "second");
  nowMs = 0;
  limiter.warn("k", "third");
  assertEquals(lines, ["WARN first", "WARN third (1 similar message suppressed)"]);
});
