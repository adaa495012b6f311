import { assertEquals } from "../util/assert.ts";
import { KAFKA_QUOTA_WINDOW, QuotaSensor, THROTTLE_MS_MAX } from "./quota_sensor.ts";

Deno.test("QuotaSensor divides by at least windowCount - 1 samples", () => {
  const sensor = new QuotaSensor(KAFKA_QUOTA_WINDOW);
  assertEquals(sensor.ratePerSec(0), 0);
  sensor.record(10_000, 0);
  assertEquals(sensor.windowMs(0), 10_000);
  assertEquals(sensor.ratePerSec(0), 1000);
  // 3.5 s later: still padded to 10 whole samples (3 full ones elapsed, 7 added).
  assertEquals(sensor.windowMs(3500), 10_500);
});

Deno.test("QuotaSensor spans the real elapsed time once the window is full", () => {
  const sensor = new QuotaSensor({ windowCount: 3, windowSizeMs: 1000 });
  sensor.record(1000, 0);
  sensor.record(1000, 1000);
  sensor.record(1000, 2000);
  assertEquals(sensor.windowMs(2500), 2500);
  assertEquals(sensor.ratePerSec(2500), 1200);
});

Deno.test("QuotaSensor forgets samples older than the whole window", () => {
  const sensor = new QuotaSensor({ windowCount: 2, windowSizeMs: 1000 });
  sensor.record(5000, 0);
  assertEquals(sensor.ratePerSec(1999), 5000 / 1.999);
  // At 2000 ms the only sample is two windows old: reset, the rate drops to 0.
  assertEquals(sensor.ratePerSec(2000), 0);
});

Deno.test("QuotaSensor reuses its samples in a ring", () => {
  const sensor = new QuotaSensor({ windowCount: 2, windowSizeMs: 1000 });
  sensor.record(100, 0);
  sensor.record(200, 1000); // second sample
  sensor.record(400, 2000); // overwrites the first
  assertEquals(sensor.windowMs(2000), 1000);
  assertEquals(sensor.ratePerSec(2000), 600);
});

Deno.test("QuotaSensor.recordAndThrottleMs() is 0 within the quota", () => {
  const sensor = new QuotaSensor(KAFKA_QUOTA_WINDOW);
  assertEquals(sensor.recordAndThrottleMs(10_000, 1000, 0), 0); // exactly 1000 B/s
});

Deno.test("QuotaSensor.recordAndThrottleMs() uses Kafka's (rate - quota) / quota * window", () => {
  const sensor = new QuotaSensor(KAFKA_QUOTA_WINDOW);
  // 20000 bytes over a 10 s window: 2000 B/s against 1000 B/s.
  assertEquals(sensor.recordAndThrottleMs(20_000, 1000, 0), 10_000);
  // 11 s later the first sample has aged out of the window: a small record passes.
  assertEquals(sensor.recordAndThrottleMs(1, 1000, 11_000), 0);
});

Deno.test("QuotaSensor.recordAndThrottleMs() brings the rate back to the quota", () => {
  const sensor = new QuotaSensor({ windowCount: 11, windowSizeMs: 1000 });
  let nowMs = 0;
  for (let i = 0; i < 30; i++) nowMs += 10 + sensor.recordAndThrottleMs(5000, 1000, nowMs);
  // Waiting out each throttle holds the client near 1000 B/s (10 s of burst credit aside).
  const bytes = 30 * 5000;
  const expectedMs = bytes / 1000 * 1000 - 10_000;
  assertEquals(Math.abs(nowMs - expectedMs) < 0.15 * expectedMs, true, `took ${nowMs} ms`);
});

Deno.test("QuotaSensor.recordAndThrottleMs() caps the throttle at int32", () => {
  const sensor = new QuotaSensor(KAFKA_QUOTA_WINDOW);
  assertEquals(sensor.recordAndThrottleMs(1e15, 1, 0), THROTTLE_MS_MAX);
});
