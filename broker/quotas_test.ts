import { memoryLibc } from "../ffi/memory.ts";
import { assertEquals } from "../util/assert.ts";
import { ClientQuotaStore } from "./client_quota_store.ts";
import type { RequestInfo } from "./context.ts";
import { ClientQuotas, type ClientQuotasOptions, respondsBeforeThrottle } from "./quotas.ts";
import { KAFKA_QUOTA_WINDOW } from "./quota_sensor.ts";
import { RequestTraffic, type TrafficSink } from "./traffic.ts";

const NO_TRAFFIC_SINK: TrafficSink = { countIn() {}, countOut() {} };

/** Quotas over an in-memory data dir with a manual clock (`clock.nowMs` is set by the test). */
function open(options: Partial<ClientQuotasOptions> = {}) {
  const libc = memoryLibc({ seed: 1 });
  libc.mkdirp("/data");
  const clock = { nowMs: 0 };
  const quotas = new ClientQuotas(ClientQuotaStore.open(libc, "/data"), {
    producerBytesPerSec: undefined,
    consumerBytesPerSec: undefined,
    window: KAFKA_QUOTA_WINDOW,
    nowMs: () => clock.nowMs,
    ...options,
  });
  return { quotas, clock };
}

function setQuota(quotas: ClientQuotas, clientId: string | null, key: string, value: number) {
  const outcomes = quotas.alter([{
    entity: [{ entityType: "client-id", entityName: clientId }],
    ops: [{ key, value, remove: false }],
  }], false);
  assertEquals(outcomes[0].errorCode, 0);
}

function info(apiKey: number, apiVersion: number, clientId: string | null): RequestInfo {
  return { apiKey, apiVersion, correlationId: 1, clientId };
}

Deno.test("ClientQuotas is inactive until a quota is set", () => {
  const { quotas } = open();
  assertEquals(quotas.active, false);
  assertEquals(quotas.recordProduce("app", 1e12), 0);
  setQuota(quotas, "app", "producer_byte_rate", 1000);
  assertEquals(quotas.active, true);
  quotas.alter([{
    entity: [{ entityType: "client-id", entityName: "app" }],
    ops: [{ key: "producer_byte_rate", value: 0, remove: true }],
  }], false);
  assertEquals(quotas.active, false);
  assertEquals(open({ consumerBytesPerSec: 5 }).quotas.active, true);
});

Deno.test("ClientQuotas takes a client's own quota, then <default>, then the broker option", () => {
  const { quotas } = open({ producerBytesPerSec: 100 });
  assertEquals(quotas.quotaOf("app", "producer_byte_rate"), 100);
  assertEquals(quotas.quotaOf("app", "consumer_byte_rate"), Infinity);
  setQuota(quotas, null, "producer_byte_rate", 200);
  assertEquals(quotas.quotaOf("app", "producer_byte_rate"), 200);
  setQuota(quotas, "app", "producer_byte_rate", 300);
  assertEquals(quotas.quotaOf("app", "producer_byte_rate"), 300);
  assertEquals(quotas.quotaOf("other", "producer_byte_rate"), 200);
});

Deno.test("ClientQuotas throttles a producer over its quota by Kafka's formula", () => {
  const { quotas, clock } = open({ producerBytesPerSec: 1000 });
  assertEquals(quotas.recordProduce("app", 10_000), 0); // 1000 B/s over the 10 s minimum window
  clock.nowMs = 100;
  // 15000 bytes over 10.1 s: (1485.1 - 1000) / 1000 * 10100 ms.
  assertEquals(quotas.recordProduce("app", 5000), 4900);
  // The client waited its throttle out, but the window is still padded to 10 s
  // (Kafka's Rate): 15001 bytes over 10 s are still over the quota.
  clock.nowMs = 5000;
  assertEquals(quotas.recordProduce("app", 1), 5001);
  clock.nowMs = 11_000; // the burst's sample has aged out of the 11 s window
  assertEquals(quotas.recordProduce("app", 1), 0);
});

Deno.test("ClientQuotas measures each client id apart, also under <default>", () => {
  const { quotas } = open();
  setQuota(quotas, null, "consumer_byte_rate", 1000);
  assertEquals(quotas.recordFetch("a", 20_000), 10_000);
  assertEquals(quotas.recordFetch("b", 10_000), 0);
  assertEquals(quotas.recordProduce("a", 1e9), 0); // no producer quota
});

Deno.test("ClientQuotas applies a changed quota to the rate already measured", () => {
  const { quotas } = open();
  setQuota(quotas, "app", "producer_byte_rate", 1_000_000);
  assertEquals(quotas.recordProduce("app", 20_000), 0);
  setQuota(quotas, "app", "producer_byte_rate", 1000);
  // 20001 bytes over 10 s against 1000 B/s.
  assertEquals(quotas.recordProduce("app", 1), 10_001);
});

Deno.test("ClientQuotas.throttleRequest() counts Produce request bytes", () => {
  const { quotas } = open({ producerBytesPerSec: 100 });
  const traffic = new RequestTraffic(NO_TRAFFIC_SINK);
  assertEquals(quotas.throttleRequest(info(0, 9, "app"), 1000, traffic), 0);
  assertEquals(quotas.throttleRequest(info(0, 9, "app"), 1000, traffic), 10_000);
  // acks=0 counts the same way: the throttle is computed from the request.
  assertEquals(quotas.throttleRequest(info(0, 9, "app"), 1000, traffic), 20_000);
  // Other APIs are not counted.
  assertEquals(quotas.throttleRequest(info(3, 9, "app"), 1e9, traffic), 0);
});

Deno.test("ClientQuotas.throttleRequest() counts the record bytes a Fetch handler reported", () => {
  const { quotas } = open({ consumerBytesPerSec: 100 });
  const counted: [string, number, number][] = [];
  const traffic = new RequestTraffic({
    countIn() {},
    countOut: (topic, bytes, records) => counted.push([topic, bytes, records]),
  });
  traffic.countOut("a", 1800, 18);
  traffic.countOut("b", 200, 2);
  assertEquals(counted, [["a", 1800, 18], ["b", 200, 2]]);
  assertEquals(traffic.bytesOut, 2000);
  // 2000 bytes over 10 s against 100 B/s: (200 - 100) / 100 * 10 s.
  assertEquals(quotas.throttleRequest(info(1, 12, null), 50, traffic), 10_000);
});

Deno.test("respondsBeforeThrottle() follows KIP-219's versions", () => {
  assertEquals(respondsBeforeThrottle(info(0, 5, "x")), false);
  assertEquals(respondsBeforeThrottle(info(0, 6, "x")), true);
  assertEquals(respondsBeforeThrottle(info(1, 7, "x")), false);
  assertEquals(respondsBeforeThrottle(info(1, 8, "x")), true);
});

Deno.test("ClientQuotas drops idle clients once it knows many", () => {
  const { quotas, clock } = open({ producerBytesPerSec: 1000 });
  for (let i = 0; i < 1024; i++) quotas.recordProduce(`c${i}`, 1);
  assertEquals(quotas.clientCount, 1024);
  clock.nowMs = 11_000; // a whole window later, every rate has aged out
  quotas.recordProduce("new", 1);
  assertEquals(quotas.clientCount, 1);
});
