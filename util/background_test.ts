import { AssertionError } from "node:assert";
import { assertEquals, assertOk, assertRejects, assertThrows } from "./assert.ts";
import { BackgroundTasks } from "./background.ts";
import type { Logger } from "./log.ts";

function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger: Logger = {
    debug: () => {},
    info: (m) => lines.push(`INFO ${m}`),
    warn: (m) => lines.push(`WARN ${m}`),
    error: (m) => lines.push(`ERROR ${m}`),
    child: () => logger,
  };
  return { logger, lines };
}

Deno.test("BackgroundTasks.run() logs, counts and swallows an error that is not an assertion", () => {
  const { logger, lines } = capture();
  const tasks = new BackgroundTasks(logger);
  let after = false;
  for (let i = 0; i < 25; i++) {
    tasks.run("Retention", () => {
      throw new TypeError(`undefined is not a function (${i})`);
    });
  }
  tasks.run("Retention", () => {
    after = true;
  });
  assertOk(after);
  assertEquals(tasks.failures.get("Retention"), 25);
  assertEquals(lines.length, 10, "rate-limited to 10 a minute per task");
  assertEquals(
    lines[0],
    "ERROR Retention failed (it runs again later): TypeError: undefined is not a function (0)",
  );
});

Deno.test("BackgroundTasks.failed() logs a failed assertion with its stack and throws it on", () => {
  const { logger, lines } = capture();
  const tasks = new BackgroundTasks(logger);
  assertThrows(
    () =>
      tasks.run("Compaction", () => {
        throw new AssertionError({ message: "Offsets must grow" });
      }),
    AssertionError,
  );
  assertEquals(lines.length, 1);
  assertOk(lines[0].startsWith("ERROR Bug in Compaction, stopping: AssertionError"), lines[0]);
  assertOk(lines[0].includes("background_test.ts"), "with its stack");
  assertEquals(tasks.failures.size, 0);
});

Deno.test("BackgroundTasks.watch() contains a rejection nobody awaits", async () => {
  const { logger, lines } = capture();
  const tasks = new BackgroundTasks(logger);
  const rejected = Promise.reject(new RangeError("Varint longer than 10 bytes"));
  tasks.watch("Log maintenance", rejected);
  await assertRejects(() => rejected, RangeError);
  await Promise.resolve(); // the watcher's catch ran first: it was attached first
  assertEquals(tasks.failures.get("Log maintenance"), 1);
  assertEquals(lines.length, 1);
  assertOk(lines[0].includes("RangeError: Varint longer than 10 bytes"));
});

Deno.test("BackgroundTasks.unhandledRejection() stops only for a failed assertion", () => {
  const { logger, lines } = capture();
  const tasks = new BackgroundTasks(logger);
  let stops = 0;
  tasks.unhandledRejection(new Error("socket gone"), () => stops++);
  assertEquals(stops, 0);
  assertEquals(tasks.failures.get("An unawaited promise"), 1);
  tasks.unhandledRejection(new AssertionError({ message: "Offsets must grow" }), () => stops++);
  assertEquals(stops, 1);
  assertEquals(lines.length, 2);
  assertOk(lines[1].startsWith("ERROR Bug in An unawaited promise, stopping"), lines[1]);
});
