/**
 * Consumer groups over HTTP and in /metrics: a kcat balanced consumer
 * (`-G`) commits, and the API's lag views and the group metrics show the
 * committed offset and the lag left by later produces.
 */
import { assert } from "../../util/assert.ts";
import { run, topicName } from "./harness.ts";
import { call, FORMATS, withHttpBroker } from "./http_helpers.ts";
import { KCAT_PATH, kcatProduce } from "./kcat.ts";

Deno.test("HTTP consumer-group views and metrics show committed offsets and lag", async () => {
  await withHttpBroker({}, async ({ url, cluster, bootstrap }) => {
    const topic = topicName("http-groups");
    const group = topicName("group");
    await kcatProduce(
      bootstrap,
      Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })),
      {
        topic,
      },
    );
    // A balanced consumer reads the ten records, commits on close, and exits at the end.
    await run(KCAT_PATH, [
      "-b",
      bootstrap,
      "-G",
      group,
      topic,
      "-c",
      "10",
      "-e",
      "-q",
      "-X",
      "auto.offset.reset=earliest",
      "-X",
      "enable.auto.commit=true",
    ]);
    await kcatProduce(bootstrap, [{ key: "late", value: "after the commit" }], { topic });
    for (const format of FORMATS) {
      const list = await call("GET", `${cluster}/consumer-groups`, { format });
      const listed = list.body.data.find((g: { consumer_group_id: string }) =>
        g.consumer_group_id === group
      );
      assert.ok(listed !== undefined, JSON.stringify(list.body));
      assert.equal(listed.total_lag, 1);
      const one = await call("GET", `${cluster}/consumer-groups/${group}`, { format });
      assert.equal(one.body.kind, "KafkaConsumerGroup");
      const lags = await call("GET", `${cluster}/consumer-groups/${group}/lags`, { format });
      assert.deepEqual(
        lags.body.data.map((
          l: Record<string, unknown>,
        ) => [l.topic_name, l.partition_id, l.current_offset, l.log_end_offset, l.lag]),
        [[topic, 0, 10, 11, 1]],
      );
      const summary = await call("GET", `${cluster}/consumer-groups/${group}/lag-summary`, {
        format,
      });
      assert.equal(summary.body.total_lag, 1);
      assert.equal(summary.body.max_lag_topic_name, topic);
      const consumers = await call("GET", `${cluster}/consumer-groups/${group}/consumers`, {
        format,
      });
      assert.equal(consumers.status, 200);
      assert.ok(Array.isArray(consumers.body.data));
    }
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const labels = `group="${group}",topic="${topic}",partition="0"`;
    assert.match(metrics, new RegExp(`^denka_group_committed_offset\\{${labels}\\} 10$`, "m"));
    assert.match(metrics, new RegExp(`^denka_group_lag\\{${labels}\\} 1$`, "m"));
  });
});
