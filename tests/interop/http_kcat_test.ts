/**
 * HTTP and Kafka clients see the same log: records produced over HTTP are
 * consumed intact by kcat, records produced by kcat (plain and with every
 * codec) are read intact over HTTP, and a live tail (Server-Sent Events)
 * delivers what kcat produces after it parked.
 */
import { assert } from "../../util/assert.ts";
import { topicName } from "./harness.ts";
import { call, fieldText, FORMATS, utf8, withHttpBroker } from "./http_helpers.ts";
import { kcatConsume, kcatProduce } from "./kcat.ts";

for (const format of FORMATS) {
  Deno.test(`HTTP (${format}) produce -> kcat consume: keys, values, headers intact`, async () => {
    await withHttpBroker({}, async ({ cluster, bootstrap }) => {
      const topic = topicName("http-to-kcat");
      await call("POST", `${cluster}/topics`, {
        format,
        body: { topic_name: topic, partitions_count: 1 },
      });
      const entries = Array.from({ length: 20 }, (_, i) => ({
        id: String(i),
        partition_id: 0,
        key: format === "cbor" ? utf8(`key-${i}`) : { type: "STRING", data: `key-${i}` },
        value: { type: "STRING", data: `value-${i} ünïcode` },
        headers: [{ name: "idx", value: format === "cbor" ? utf8(String(i)) : btoa(String(i)) }],
      }));
      const answer = await call("POST", `${cluster}/topics/${topic}/records:batch`, {
        format,
        body: { entries },
      });
      assert.equal(answer.body.successes.length, 20);
      const consumed = await kcatConsume(bootstrap, { topic, count: 20 });
      assert.equal(consumed.length, 20);
      consumed.forEach((m, i) => {
        assert.equal(m.offset, i);
        assert.equal(m.key, `key-${i}`);
        assert.equal(m.value, `value-${i} ünïcode`);
        assert.deepEqual(m.headers, [["idx", String(i)]]);
      });
    });
  });
}

for (const codec of ["none", "gzip", "snappy", "lz4", "zstd"]) {
  Deno.test(`kcat produce (${codec}) -> HTTP read in JSON and CBOR: records intact`, async () => {
    await withHttpBroker({}, async ({ cluster, bootstrap }) => {
      const topic = topicName(`kcat-to-http-${codec}`);
      const messages = Array.from({ length: 50 }, (_, i) => ({
        key: `k${i}`,
        value: `v${i}-${"abc".repeat(i)}`,
      }));
      await kcatProduce(bootstrap, messages, {
        topic,
        codec: codec === "none" ? undefined : codec,
        headers: [["src", "kcat"]],
        config: { "linger.ms": "50", "batch.num.messages": "20" },
      });
      for (const format of FORMATS) {
        const read = await call(
          "GET",
          `${cluster}/topics/${topic}/partitions/0/records?offset=7&max_records=100`,
          { format },
        );
        assert.equal(read.status, 200, JSON.stringify(read.body));
        assert.equal(read.body.high_watermark, 50);
        assert.equal(read.body.next_offset, 50);
        const got = read.body.data.map((
          r: {
            offset: number;
            key: unknown;
            value: unknown;
            headers: { name: string; value: unknown }[];
          },
        ) => [
          r.offset,
          fieldText(r.key),
          fieldText(r.value),
          r.headers.map((h) => [h.name, fieldText(h.value)]),
        ]);
        assert.deepEqual(
          got,
          messages.slice(7).map((m, i) => [i + 7, m.key, m.value, [["src", "kcat"]]]),
        );
      }
    });
  });
}

Deno.test("HTTP live tail (SSE) delivers what kcat produces after it parked", async () => {
  await withHttpBroker({}, async ({ broker, cluster, bootstrap }) => {
    const topic = topicName("http-tail");
    await call("POST", `${cluster}/topics`, { body: { topic_name: topic, partitions_count: 1 } });
    await kcatProduce(bootstrap, [{ key: "old", value: "before the tail" }], { topic });
    const controller = new AbortController();
    // Registered before the request: the tail parks as soon as it has sent "ready".
    const parked = broker.nextFetchPark();
    const res = await fetch(`${cluster}/topics/${topic}/partitions/0/records/tail`, {
      signal: controller.signal,
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    const readUntil = async (pattern: RegExp) => {
      while (!pattern.test(text)) {
        const { done, value } = await reader.read();
        if (done) throw new Error(`The stream ended before ${pattern}; got:\n${text}`);
        text += value;
      }
    };
    await readUntil(/event: ready\ndata: \{"offset":1\}\n\n/);
    await parked; // the tail waits on the partition's append waiters
    await kcatProduce(bootstrap, [{ key: "k1", value: "live one" }, {
      key: "k2",
      value: "live two",
    }], {
      topic,
    });
    await readUntil(/id: 2\nevent: record\n/);
    const records = [...text.matchAll(/id: (\d+)\nevent: record\ndata: (.*)\n\n/g)].map((m) =>
      JSON.parse(m[2])
    );
    assert.deepEqual(records.map((r) => [r.offset, fieldText(r.key), fieldText(r.value)]), [
      [1, "k1", "live one"],
      [2, "k2", "live two"],
    ]);
    controller.abort();
    await reader.cancel().catch(() => {});
  });
});

Deno.test("HTTP bad input leaves the Kafka listener serving", async () => {
  await withHttpBroker({ httpMaxBodyBytes: 2048 }, async ({ cluster, bootstrap }) => {
    const topic = topicName("http-bad-kafka-ok");
    await kcatProduce(bootstrap, [{ key: "a", value: "1" }], { topic });
    await call("POST", `${cluster}/topics/${topic}/records`, { raw: "{oops" });
    await call("POST", `${cluster}/topics/${topic}/records`, { raw: "z".repeat(10_000) });
    await call("POST", `${cluster}/topics/${topic}/records`, {
      format: "cbor",
      raw: new Uint8Array([0x5f, 0x41]),
    });
    await kcatProduce(bootstrap, [{ key: "b", value: "2" }], { topic });
    const consumed = await kcatConsume(bootstrap, { topic, count: 2 });
    assert.deepEqual(consumed.map((m) => [m.offset, m.key, m.value]), [[0, "a", "1"], [
      1,
      "b",
      "2",
    ]]);
  });
});
