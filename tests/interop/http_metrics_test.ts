/**
 * `/metrics` parsed as Prometheus text: the counters move as kcat produces
 * and consumes and as records are produced and read over HTTP.
 */
import { assert } from "../../util/assert.ts";
import { topicName } from "./harness.ts";
import { call, withHttpBroker } from "./http_helpers.ts";
import { kcatConsume, kcatProduce } from "./kcat.ts";

/** Samples by series (`name{label="v",...}` with labels sorted), and the declared types. */
interface Scrape {
  readonly samples: Map<string, number>;
  readonly types: Map<string, string>;
}

function seriesKey(name: string, labels: Record<string, string>): string {
  const keys = Object.keys(labels).sort();
  return keys.length === 0 ? name : `${name}{${keys.map((k) => `${k}="${labels[k]}"`).join(",")}}`;
}

/** Parses the text exposition format; throws on a line it does not understand. */
function parseMetrics(text: string): Scrape {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("# HELP ")) continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/
      .exec(line);
    if (type !== null) {
      types.set(type[1], type[2]);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+]+|NaN|\+Inf|-Inf)$/.exec(line);
    if (m === null) throw new Error(`Unparsable metrics line: "${line}"`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]] = l[2];
    }
    samples.set(seriesKey(m[1], labels), m[3] === "+Inf" ? Infinity : Number(m[3]));
  }
  return { samples, types };
}

async function scrape(url: string): Promise<Scrape> {
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200);
  return parseMetrics(await res.text());
}

function value(s: Scrape, name: string, labels: Record<string, string> = {}): number {
  return s.samples.get(seriesKey(name, labels)) ?? 0;
}

Deno.test("/metrics parses as Prometheus text and its counters move with produce and fetch", async () => {
  await withHttpBroker({}, async ({ url, cluster, bootstrap, broker }) => {
    const topic = topicName("metrics");
    const before = await scrape(url);
    assert.equal(before.types.get("denka_kafka_requests_total"), "counter");
    assert.equal(before.types.get("denka_kafka_request_duration_seconds"), "histogram");
    assert.equal(before.types.get("denka_partition_high_watermark"), "gauge");
    assert.ok(value(before, "denka_disk_free_bytes", { path: broker.config.dataDir }) > 0);
    assert.ok(value(before, "denka_disk_total_bytes", { path: broker.config.dataDir }) > 0);
    assert.equal(value(before, "denka_ready"), 1);

    const messages = Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `value-${i}` }));
    await kcatProduce(bootstrap, messages, { topic });
    const consumed = await kcatConsume(bootstrap, { topic, count: 30 });
    assert.equal(consumed.length, 30);
    const afterKafka = await scrape(url);
    const produce = { api: "Produce", api_key: "0" };
    const fetchApi = { api: "Fetch", api_key: "1" };
    assert.ok(value(afterKafka, "denka_kafka_requests_total", produce) >= 1);
    assert.ok(value(afterKafka, "denka_kafka_requests_total", fetchApi) >= 1);
    assert.ok(
      value(afterKafka, "denka_kafka_requests_total", { api: "Metadata", api_key: "3" }) >= 2,
    );
    assert.equal(
      value(afterKafka, "denka_kafka_request_duration_seconds_count", { api: "Produce" }),
      value(afterKafka, "denka_kafka_requests_total", produce),
    );
    assert.equal(
      value(afterKafka, "denka_kafka_request_duration_seconds_bucket", {
        api: "Produce",
        le: "+Inf",
      }),
      value(afterKafka, "denka_kafka_requests_total", produce),
    );
    assert.equal(value(afterKafka, "denka_topic_records_in_total", { topic }), 30);
    const storedBytes = value(afterKafka, "denka_partition_size_bytes", { topic, partition: "0" });
    assert.ok(storedBytes > 0);
    assert.equal(value(afterKafka, "denka_topic_bytes_in_total", { topic }), storedBytes);
    assert.equal(value(afterKafka, "denka_topic_records_out_total", { topic }), 30);
    assert.equal(value(afterKafka, "denka_topic_bytes_out_total", { topic }), storedBytes);
    assert.equal(
      value(afterKafka, "denka_partition_high_watermark", { topic, partition: "0" }),
      30,
    );
    assert.equal(
      value(afterKafka, "denka_partition_log_start_offset", { topic, partition: "0" }),
      0,
    );
    assert.equal(value(afterKafka, "denka_partition_segments", { topic, partition: "0" }), 1);
    const sent = value(afterKafka, "denka_fetch_sent_bytes_total", { path: "sendfile" }) +
      value(afterKafka, "denka_fetch_sent_bytes_total", { path: "copy" });
    assert.equal(sent, broker.counters.sendfileBytes + broker.counters.copyBytes);
    assert.ok(sent >= storedBytes);
    assert.ok(value(afterKafka, "denka_connections_accepted_total") >= 2);

    await call("POST", `${cluster}/topics/${topic}/records`, {
      body: { value: { type: "STRING", data: "http" } },
    });
    await call("GET", `${cluster}/topics/${topic}/partitions/0/records?offset=25`);
    const afterHttp = await scrape(url);
    assert.equal(value(afterHttp, "denka_topic_records_in_total", { topic }), 31);
    assert.equal(value(afterHttp, "denka_topic_records_out_total", { topic }), 36);
    assert.equal(value(afterHttp, "denka_partition_high_watermark", { topic, partition: "0" }), 31);
    // No transaction is open: every record is stable.
    assert.equal(
      value(afterHttp, "denka_partition_last_stable_offset", { topic, partition: "0" }),
      31,
    );
    const route = "/v3/clusters/:cluster_id/topics/:topic_name/:op{records(?::batch)?}";
    assert.equal(
      value(afterHttp, "denka_http_requests_total", { method: "POST", route, status: "200" }),
      1,
    );
  });
});

Deno.test("/metrics times durable flushes (fdatasync at segment roll) as they happen", async () => {
  await withHttpBroker({}, async ({ url, cluster }) => {
    const topic = topicName("flush");
    await call("POST", `${cluster}/topics`, {
      body: { topic_name: topic, configs: [{ name: "segment.bytes", value: "1024" }] },
    });
    const before = await scrape(url);
    // Each append of 600 bytes fills a 1 KiB segment: every roll syncs the segment it closes.
    for (let i = 0; i < 4; i++) {
      const answer = await call("POST", `${cluster}/topics/${topic}/records`, {
        body: { value: { type: "STRING", data: "x".repeat(600) } },
      });
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
    }
    const after = await scrape(url);
    assert.ok(value(after, "denka_partition_segments", { topic, partition: "0" }) >= 3);
    const count = (s: Scrape) =>
      value(s, "denka_log_flush_duration_seconds_count", { syscall: "fdatasync" });
    assert.ok(count(after) > count(before), `flushes ${count(before)} -> ${count(after)}`);
  });
});
