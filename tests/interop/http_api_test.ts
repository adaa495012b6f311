/**
 * The HTTP API over real HTTP, in JSON and in CBOR: every endpoint, and each
 * bad input answered with its 4xx and `{error_code, message}` while nothing
 * reaches the log.
 */
import { decodeCborSequence } from "../../broker/http/cbor_decode.ts";
import { assert } from "../../util/assert.ts";
import { topicName } from "./harness.ts";
import {
  b64,
  call,
  fieldText,
  type Format,
  FORMATS,
  utf8,
  withHttpBroker,
} from "./http_helpers.ts";

function binaryField(format: Format, text: string): unknown {
  return format === "cbor" ? utf8(text) : { type: "BINARY", data: b64(text) };
}

function assertError(
  answer: { status: number; body: unknown },
  status: number,
  code: number,
): void {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  const body = answer.body as { error_code: number; message: string };
  assert.equal(body.error_code, code);
  assert.equal(typeof body.message, "string");
  assert.ok(body.message.length > 0);
}

for (const format of FORMATS) {
  Deno.test(`HTTP API (${format}): clusters, topics and partitions`, async () => {
    await withHttpBroker({}, async ({ url, cluster }) => {
      const clusters = await call("GET", `${url}/v3/clusters`, { format });
      assert.equal(clusters.status, 200);
      assert.equal(clusters.contentType.split(";")[0], `application/${format}`);
      assert.equal(clusters.body.data[0].cluster_id, "denka-cluster");
      assert.equal((await call("GET", cluster, { format })).body.kind, "KafkaCluster");
      assertError(await call("GET", `${url}/v3/clusters/other`, { format }), 404, 40404);

      const name = topicName("http-topic");
      const created = await call("POST", `${cluster}/topics`, {
        format,
        body: {
          topic_name: name,
          partitions_count: 3,
          configs: [{ name: "retention.ms", value: "60000" }],
        },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.topic_name, name);
      assert.equal(created.body.partitions_count, 3);
      assertError(
        await call("POST", `${cluster}/topics`, { format, body: { topic_name: name } }),
        409,
        40900,
      );
      assertError(
        await call("POST", `${cluster}/topics`, { format, body: { topic_name: "bad name!" } }),
        400,
        40004,
      );
      assertError(
        await call("POST", `${cluster}/topics`, { format, body: { topic_name: 7 } }),
        400,
        40002,
      );
      assertError(
        await call("POST", `${cluster}/topics`, {
          format,
          body: { topic_name: "x1", partitions_count: 0 },
        }),
        400,
        40004,
      );
      assertError(
        await call("POST", `${cluster}/topics`, {
          format,
          body: { topic_name: "x2", replication_factor: 3 },
        }),
        400,
        40004,
      );
      assertError(
        await call("POST", `${cluster}/topics`, {
          format,
          body: { topic_name: "x3", configs: [{ name: "no.such.config", value: "1" }] },
        }),
        400,
        40004,
      );

      const list = await call("GET", `${cluster}/topics`, { format });
      assert.deepEqual(list.body.data.map((t: { topic_name: string }) => t.topic_name), [name]);
      const one = await call("GET", `${cluster}/topics/${name}`, { format });
      assert.equal(one.body.topic_id, created.body.topic_id);
      assertError(await call("GET", `${cluster}/topics/missing`, { format }), 404, 40401);

      const partitions = await call("GET", `${cluster}/topics/${name}/partitions`, { format });
      assert.deepEqual(partitions.body.data.map((p: { partition_id: number }) => p.partition_id), [
        0,
        1,
        2,
      ]);
      const p2 = await call("GET", `${cluster}/topics/${name}/partitions/2`, { format });
      assert.equal(p2.body.high_watermark, 0);
      assert.equal(p2.body.last_stable_offset, 0);
      assert.equal(p2.body.segment_count, 1);
      assertError(
        await call("GET", `${cluster}/topics/${name}/partitions/3`, { format }),
        404,
        40402,
      );
      assertError(
        await call("GET", `${cluster}/topics/${name}/partitions/x`, { format }),
        404,
        40402,
      );

      assert.equal((await call("DELETE", `${cluster}/topics/${name}`, { format })).status, 204);
      assertError(await call("GET", `${cluster}/topics/${name}`, { format }), 404, 40401);
      assertError(await call("DELETE", `${cluster}/topics/${name}`, { format }), 404, 40401);
      assertError(await call("GET", `${url}/no/such/route`, { format }), 404, 40400);
    });
  });

  Deno.test(`HTTP API (${format}): produce, batch and read records intact`, async () => {
    await withHttpBroker({}, async ({ cluster }) => {
      const name = topicName("http-records");
      await call("POST", `${cluster}/topics`, {
        format,
        body: { topic_name: name, partitions_count: 2 },
      });
      const records = `${cluster}/topics/${name}/records`;
      const one = await call("POST", records, {
        format,
        body: {
          partition_id: 1,
          key: binaryField(format, "k-1"),
          value: { type: "JSON", data: { n: 1, s: "é" } },
          headers: [{ name: "h1", value: format === "cbor" ? utf8("v1") : b64("v1") }, {
            name: "h2",
            value: null,
          }],
          timestamp: "2024-05-01T10:00:00.000Z",
        },
      });
      assert.equal(one.status, 200, JSON.stringify(one.body));
      assert.equal(one.body.error_code, 200);
      assert.equal(one.body.partition_id, 1);
      assert.equal(one.body.offset, 0);
      assert.equal(one.body.timestamp, "2024-05-01T10:00:00.000Z");
      assert.deepEqual(one.body.key, { type: "BINARY", size: 3 });

      const batch = await call("POST", `${records}:batch`, {
        format,
        body: {
          entries: [
            { id: "a", partition_id: 1, value: { type: "STRING", data: "second" } },
            { id: "b", partition_id: 5, value: { type: "STRING", data: "nowhere" } },
            { id: "c", partition_id: 1, key: null, value: null },
          ],
        },
      });
      assert.equal(batch.status, 207);
      assert.deepEqual(
        batch.body.successes.map((s: { id: string; offset: number }) => [s.id, s.offset]),
        [
          ["a", 1],
          ["c", 2],
        ],
      );
      assert.deepEqual(
        batch.body.failures.map((f: { id: string; error_code: number }) => [f.id, f.error_code]),
        [
          ["b", 40402],
        ],
      );

      const read = await call(
        "GET",
        `${cluster}/topics/${name}/partitions/1/records?offset=0&max_records=10`,
        {
          format,
        },
      );
      assert.equal(read.status, 200);
      assert.equal(read.body.high_watermark, 3);
      assert.equal(read.body.next_offset, 3);
      const [r0, r1, r2] = read.body.data;
      assert.equal(fieldText(r0.key), "k-1");
      assert.deepEqual(JSON.parse(fieldText(r0.value)!), { n: 1, s: "é" });
      assert.equal(r0.timestamp, Date.parse("2024-05-01T10:00:00.000Z"));
      assert.deepEqual(
        r0.headers.map((h: { name: string; value: unknown }) => [h.name, fieldText(h.value)]),
        [
          ["h1", "v1"],
          ["h2", null],
        ],
      );
      if (format === "cbor") assert.ok(r0.key instanceof Uint8Array);
      else assert.equal(typeof r0.key, "string");
      assert.equal(fieldText(r1.value), "second");
      assert.equal(r2.key, null);
      assert.equal(r2.value, null);

      const limited = await call(
        "GET",
        `${cluster}/topics/${name}/partitions/1/records?offset=1&max_records=1`,
        {
          format,
        },
      );
      assert.deepEqual(limited.body.data.map((r: { offset: number }) => r.offset), [1]);
      assert.equal(limited.body.next_offset, 2);
      const empty = await call("GET", `${cluster}/topics/${name}/partitions/0/records`, { format });
      assert.deepEqual(empty.body.data, []);
      assert.equal(empty.body.next_offset, 0);
    });
  });

  Deno.test(`HTTP API (${format}): a stream of records gets one delivery report each`, async () => {
    await withHttpBroker({}, async ({ cluster }) => {
      const name = topicName("http-stream");
      await call("POST", `${cluster}/topics`, {
        format,
        body: { topic_name: name, partitions_count: 1 },
      });
      const items = [
        { value: { type: "STRING", data: "s0" } },
        { partition_id: 4, value: { type: "STRING", data: "bad partition" } },
        { value: { type: "STRING", data: "s1" } },
      ];
      const type = `application/${format}`;
      const { Encoder } = await import("../../util/cbor.ts");
      const enc = new Encoder({ useRecords: false, tagUint8Array: false });
      const body = format === "cbor"
        ? new Uint8Array(items.flatMap((i) => [...enc.encode(i)]))
        : items.map((i) => JSON.stringify(i)).join("\n");
      const res = await fetch(`${cluster}/topics/${name}/records`, {
        method: "POST",
        headers: { "content-type": type, accept: type },
        body,
      });
      assert.equal(res.status, 200);
      const bytes = new Uint8Array(await res.arrayBuffer());
      const reports: { error_code: number; offset?: number }[] = [];
      if (format === "cbor") reports.push(...decodeCborSequence(bytes) as typeof reports);
      else {
        for (const line of new TextDecoder().decode(bytes).trim().split("\n")) {
          reports.push(JSON.parse(line));
        }
      }
      assert.deepEqual(reports.map((r) => [r.error_code, r.offset]), [
        [200, 0],
        [40402, undefined],
        [200, 1],
      ]);
    });
  });

  Deno.test(`HTTP API (${format}): bad input gets a 4xx and writes nothing`, async () => {
    await withHttpBroker({ httpMaxBodyBytes: 4096 }, async ({ cluster, url }) => {
      const name = topicName("http-bad");
      await call("POST", `${cluster}/topics`, {
        format,
        body: {
          topic_name: name,
          partitions_count: 1,
          configs: [{ name: "max.message.bytes", value: "1024" }],
        },
      });
      const records = `${cluster}/topics/${name}/records`;
      const malformed = format === "cbor" ? new Uint8Array([0xbf, 0x61]) : '{"value": ';
      assertError(await call("POST", records, { format, raw: malformed }), 400, 40001);
      assertError(await call("POST", records, { format, raw: "" }), 400, 40002);
      assertError(await call("POST", records, { format, body: [1, 2] }), 400, 40002);
      assertError(
        await call("POST", records, { format, body: { value: { type: "FOO", data: "x" } } }),
        400,
        40002,
      );
      assertError(
        await call("POST", records, { format, body: { value: { type: "BINARY", data: 12 } } }),
        400,
        40002,
      );
      assertError(
        await call("POST", records, { format, body: { partition_id: -1, value: null } }),
        400,
        40002,
      );
      assertError(
        await call("POST", records, { format, body: { headers: {}, value: null } }),
        400,
        40002,
      );
      assertError(
        await call("POST", records, { format, body: { timestamp: "yesterday", value: null } }),
        400,
        40002,
      );
      assertError(
        await call("POST", `${records}:batch`, { format, body: { entries: [] } }),
        400,
        40002,
      );
      assertError(
        await call("POST", `${records}:batch`, {
          format,
          body: {
            entries: [{ value: { type: "STRING", data: "ok" } }, {
              value: { type: "STRING", data: 5 },
            }],
          },
        }),
        400,
        40002,
      );
      assertError(
        await call("POST", records, { format, raw: "hello", contentType: "text/plain" }),
        415,
        41500,
      );
      assertError(
        await call("POST", `${cluster}/topics/missing/records`, { format, body: { value: null } }),
        404,
        40401,
      );
      assertError(
        await call("POST", records, { format, body: { partition_id: 3, value: null } }),
        404,
        40402,
      );
      const big = "x".repeat(5000);
      assertError(
        await call("POST", records, { format, body: { value: { type: "STRING", data: big } } }),
        413,
        41300,
      );
      const tooLargeForLog = "y".repeat(2000);
      assertError(
        await call("POST", records, {
          format,
          body: { value: { type: "STRING", data: tooLargeForLog } },
        }),
        422,
        42200,
      );
      const partition = `${cluster}/topics/${name}/partitions/0`;
      assertError(
        await call("GET", `${partition}/records?max_records=abc`, { format }),
        400,
        40003,
      );
      assertError(await call("GET", `${partition}/records?offset=5`, { format }), 416, 41600);
      // Nothing reached the log, and the API still serves.
      const after = await call("GET", partition, { format });
      assert.equal(after.body.high_watermark, 0);
      assert.equal(after.body.size_bytes, 0);
      const ok = await call("POST", records, {
        format,
        body: { value: { type: "STRING", data: "fine" } },
      });
      assert.equal(ok.body.offset, 0);
      assert.equal((await call("GET", `${url}/health/ready`, { format })).status, 200);
    });
  });

  Deno.test(`HTTP API (${format}): health, groups and metrics endpoints`, async () => {
    await withHttpBroker({}, async ({ url, cluster }) => {
      const live = await call("GET", `${url}/health/live`, { format });
      assert.deepEqual([live.status, live.body], [200, { status: "live" }]);
      const ready = await call("GET", `${url}/health/ready`, { format });
      assert.deepEqual([ready.status, ready.body], [200, { status: "ready" }]);
      const groups = await call("GET", `${cluster}/consumer-groups`, { format });
      assert.equal(groups.status, 200);
      assert.deepEqual(groups.body.data, []);
      assertError(await call("GET", `${cluster}/consumer-groups/none`, { format }), 404, 40403);
      assertError(
        await call("GET", `${cluster}/consumer-groups/none/lag-summary`, { format }),
        404,
        40403,
      );
      const throughput = await call("GET", `${url}/denka/v1/throughput`, { format });
      assert.equal(throughput.status, 200);
      assert.ok(throughput.body.samples.length >= 1);
      const metrics = await fetch(`${url}/metrics`);
      assert.match(metrics.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
      assert.match(await metrics.text(), /^denka_ready 1$/m);
    });
  });
}
