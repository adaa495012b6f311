/**
 * A compacted partition holding a batch the cleaner cannot read (written
 * into a stopped broker's segment file, as a broker that stored records
 * without validating them would have left it) no longer takes the broker
 * down: the partition is marked uncleanable, `/metrics` counts it, the other
 * compacted partitions go on being cleaned, and the broker restarts on that
 * data directory.
 */
import { strict as assert } from "node:assert";
import { BATCH_HEADER_BYTES, RecordBatchView } from "../../protocol/record_batch.ts";
import { call } from "./http_helpers.ts";
import { makeDataDir, partitionDir, startTestBroker } from "./harness.ts";
import { withConnection } from "./raw_client.ts";
import { apiVersionsApi } from "../../protocol/messages/mod.ts";

/** How long the test waits for a cleaner run it asked for with a 50 ms interval. */
const CLEANER_DEADLINE_MS = 15_000;

const COMPACTED = [
  { name: "cleanup.policy", value: "compact" },
  { name: "segment.bytes", value: "100" }, // one record per segment
  { name: "segment.index.bytes", value: "1200" },
];

async function produce(cluster: string, topic: string, records: [string, string][]) {
  for (const [key, value] of records) {
    const answer = await call("POST", `${cluster}/topics/${topic}/records`, {
      body: {
        partition_id: 0,
        key: { type: "STRING", data: key },
        value: { type: "STRING", data: value },
      },
    });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
  }
}

async function readOffsets(cluster: string, topic: string): Promise<number[]> {
  const read = await call("GET", `${cluster}/topics/${topic}/partitions/0/records?offset=0`);
  assert.equal(read.status, 200, JSON.stringify(read.body));
  return read.body.data.map((r: { offset: number }) => r.offset);
}

async function metric(url: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

/** Polls `check` until it holds; there is no event to wait on outside the broker's process. */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadlineMs = Date.now() + CLEANER_DEADLINE_MS;
  while (!(await check())) {
    if (Date.now() > deadlineMs) throw new Error(`Timed out waiting until ${what}`);
  }
}

/** Makes the first record's length varint of the segment's first batch run past 10 bytes; CRC fixed. */
async function corruptFirstBatch(path: string): Promise<void> {
  const bytes = await Deno.readFile(path);
  const view = new RecordBatchView(bytes);
  const batch = bytes.subarray(0, view.sizeBytes);
  batch.fill(0xff, BATCH_HEADER_BYTES, BATCH_HEADER_BYTES + 11);
  new RecordBatchView(batch).updateCrc();
  await Deno.writeFile(path, bytes);
}

Deno.test("A partition the cleaner cannot read is uncleanable, the broker stays up and restarts", async () => {
  const dataDir = await makeDataDir();
  const options = { http: { port: 0 }, retentionCheckIntervalMs: 50 } as const;
  try {
    const first = await startTestBroker(dataDir, { http: { port: 0 } });
    try {
      const cluster = `${first.httpUrl}/v3/clusters/${first.config.clusterId}`;
      for (const topic of ["bad", "good"]) {
        const created = await call("POST", `${cluster}/topics`, {
          body: { topic_name: topic, partitions_count: 1, configs: COMPACTED },
        });
        assert.equal(created.status, 201, JSON.stringify(created.body));
        await produce(cluster, topic, [["k", "v1"], ["k", "v2"], ["x", "x1"], ["k", "v3"]]);
      }
    } finally {
      await first.close();
    }
    await corruptFirstBatch(`${partitionDir(dataDir, "bad", 0)}/00000000000000000000.log`);

    const second = await startTestBroker(dataDir, options);
    try {
      const url = second.httpUrl!;
      const cluster = `${url}/v3/clusters/${second.config.clusterId}`;
      await until(
        "the bad partition is uncleanable",
        async () => await metric(url, "denka_log_cleaner_uncleanable_partitions") === 1,
      );
      // "good" comes after "bad" in the same run: it was cleaned all the same. The active
      // segment (k@3) is never cleaned, so the inactive ones say k@1 is the latest: k@0 goes.
      await until("the good partition is cleaned", async () => {
        const offsets = await readOffsets(cluster, "good");
        return !offsets.includes(0);
      });
      await withConnection(second.bootstrap, async (c) => {
        const versions = await c.request(apiVersionsApi, 3, {
          clientSoftwareName: "denka-test",
          clientSoftwareVersion: "1",
        });
        assert.equal(versions.errorCode, 0);
      });
      // It keeps cleaning the others: a new duplicate in "good" goes too once its segment rolls.
      await produce(cluster, "good", [["x", "x2"], ["y", "y1"]]);
      await until("the new duplicate is cleaned", async () => {
        const offsets = await readOffsets(cluster, "good");
        return !offsets.includes(1) && !offsets.includes(2); // k@1 (k@3), x@2 (x@4)
      });
      assert.equal(await metric(url, "denka_log_cleaner_uncleanable_partitions"), 1);
    } finally {
      await second.close();
    }

    const third = await startTestBroker(dataDir, options);
    try {
      await until(
        "the bad partition is found uncleanable again",
        async () => await metric(third.httpUrl!, "denka_log_cleaner_uncleanable_partitions") === 1,
      );
    } finally {
      await third.close();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
