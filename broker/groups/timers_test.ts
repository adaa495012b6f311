import { assertEquals } from "../../util/assert.ts";
import { ManualClock, Timers } from "./timers.ts";

Deno.test("Timers with an error handler keep a throwing callback from ending the process", () => {
  const clock = new ManualClock();
  const errors: unknown[] = [];
  const timers = new Timers(clock, (e) => errors.push(e));
  let ran = 0;
  timers.schedule(10, () => {
    throw new Error("Group store write failed");
  });
  timers.schedule(20, () => ran++);
  clock.advance(30);
  assertEquals(errors.length, 1);
  assertEquals(ran, 1);
  assertEquals(timers.liveCount, 0);
});
