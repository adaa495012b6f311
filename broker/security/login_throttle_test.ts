import { assertEquals, assertStrictEquals } from "../../util/assert.ts";
import { createLogger, type Logger, LogRateLimiter } from "../../util/log.ts";
import { LoginThrottle } from "./login_throttle.ts";

const detail = { mechanism: "PLAIN", reason: "Invalid username or password" };

Deno.test("LoginThrottle doubles the delay per failure from one address, up to the bound", () => {
  let nowMs = 0;
  const throttle = new LoginThrottle({ delayMs: 100, delayMsMax: 1000, nowMs: () => nowMs });
  const delays = [];
  for (let i = 0; i < 6; i++) delays.push(throttle.failed("10.0.0.1", detail));
  assertEquals(delays, [100, 200, 400, 800, 1000, 1000]);
  assertEquals(throttle.failed("10.0.0.2", detail), 100); // another address starts afresh
  nowMs += 1;
  assertEquals(throttle.failed("10.0.0.1", detail), 1000);
});

Deno.test("LoginThrottle forgets an address after a success or a quiet period", () => {
  let nowMs = 0;
  const throttle = new LoginThrottle({ delayMs: 100, forgetAfterMs: 60_000, nowMs: () => nowMs });
  throttle.failed("a", detail);
  assertEquals(throttle.failed("a", detail), 200);
  throttle.succeeded("a");
  assertEquals(throttle.failed("a", detail), 100);
  nowMs += 59_999;
  assertEquals(throttle.failed("a", detail), 200);
  nowMs += 60_000;
  assertEquals(throttle.failed("a", detail), 100);
});

Deno.test("LoginThrottle keeps at most addressesMax addresses, dropping the least recent", () => {
  const throttle = new LoginThrottle({ delayMs: 100, addressesMax: 3 });
  for (const address of ["a", "b", "c"]) throttle.failed(address, detail);
  throttle.failed("a", detail); // "a" is now the most recent: "b" goes first
  throttle.failed("d", detail);
  assertEquals(throttle.trackedAddressCount, 3);
  assertEquals(throttle.failed("b", detail), 100);
  assertEquals(throttle.failed("a", detail), 400);
  assertEquals(throttle.trackedAddressCount, 3);
});

Deno.test("LoginThrottle with delay 0 never delays (Kafka's way to turn it off)", () => {
  const throttle = new LoginThrottle({ delayMs: 0 });
  for (let i = 0; i < 5; i++) assertStrictEquals(throttle.failed("a", detail), 0);
});

Deno.test("LoginThrottle logs failures through a rate limiter", () => {
  const lines: string[] = [];
  const logger: Logger = {
    ...createLogger("silent"),
    info: (m: string) => lines.push(m),
  };
  const log = new LogRateLimiter(logger, { messagesPerIntervalMax: 2, nowMs: () => 0 });
  const throttle = new LoginThrottle({ log });
  for (let i = 0; i < 5; i++) throttle.failed("10.1.1.1", detail);
  assertEquals(lines.length, 2);
  assertEquals(
    lines[0],
    "Failed authentication with /10.1.1.1 (PLAIN: Invalid username or password); failure 1 in a row, answered after 100 ms.",
  );
  assertEquals(log.suppressedCount("failed-authentication"), 3);
});
