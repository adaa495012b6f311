/**
 * A compacted partition holding a batch the cleaner cannot read (written
 * into a stopped broker's segment file, as a broker that stored records
 * without validating them would have left it) no longer takes the broker
 * down: the partition is marked uncleanable, `/metrics` counts it, the other
 * compacted partitions go on being cleaned, and the broker restarts on that
 * data directory.
 */
import { strict as assert } from "node:assert";
import { ErrorCode } from "../../protocol/error_codes.ts";
import {
  defaultCreateTopicsRequest,
  defaultCreateTopicsRequestCreatableTopic,
} from "../../protocol/messages/create_topics.ts";
import { apiVersionsApi, createTopicsApi, produceApi } from "../../protocol/messages/mod.ts";
import { BATCH_HEADER_BYTES, RecordBatchView } from "../../protocol/record_batch.ts";
import { decodeRecordBatches, encodeRecordBatch } from "../../protocol/records.ts";
import { TEST_RUNTIME } from "./bun_broker.ts";
import { makeDataDir, partitionDir, startTestBroker } from "./harness.ts";
import { fetchPartition0, type RawConnection, withConnection } from "./raw_client.ts";

/** How long the test waits for a cleaner run it asked for with a 50 ms interval. */
const CLEANER_DEADLINE_MS = 15_000;
/** The Bun test broker is a subprocess without the HTTP listener: no /metrics there. */
const HAS_METRICS = TEST_RUNTIME !== "bun";

const COMPACTED = [
  { name: "cleanup.policy", value: "compact" },
  { name: "segment.bytes", value: "100" }, // one record per segment
  { name: "segment.index.bytes", value: "1200" },
];
const text = new TextEncoder();

async function createCompacted(c: RawConnection, name: string): Promise<void> {
  const res = await c.request(createTopicsApi, 5, {
    ...defaultCreateTopicsRequest(),
    timeoutMs: 5000,
    topics: [{
      ...defaultCreateTopicsRequestCreatableTopic(),
      name,
      numPartitions: 1,
      replicationFactor: 1,
      configs: COMPACTED,
    }],
  });
  assert.equal(res.topics[0].errorCode, ErrorCode.NONE, res.topics[0].errorMessage ?? "");
}

/** Produces each record in its own batch (so in its own segment). */
async function produce(c: RawConnection, topic: string, records: [string, string][]) {
  for (const [key, value] of records) {
    const batch = encodeRecordBatch([{
      key: text.encode(key),
      value: text.encode(value),
      timestampMs: Date.now(),
    }]);
    const res = await c.request(produceApi, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }],
    });
    assert.equal(res.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
  }
}

/** The offsets readable in partition 0 of `topic`, from `fromOffset`. */
async function readOffsets(c: RawConnection, topic: string, fromOffset = 0): Promise<number[]> {
  const res = await fetchPartition0(c, topic, fromOffset, { version: 11, maxBytes: 1 << 20 });
  const p = res.responses[0].partitions[0];
  assert.equal(p.errorCode, ErrorCode.NONE);
  const bytes = p.records as Uint8Array | null;
  if (bytes === null) return [];
  return decodeRecordBatches(bytes).flatMap((b) => b.records.map((r) => r.offset));
}

async function metric(url: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

async function assertStillAnswers(c: RawConnection): Promise<void> {
  const versions = await c.request(apiVersionsApi, 3, {
    clientSoftwareName: "denka-test",
    clientSoftwareVersion: "1",
  });
  assert.equal(versions.errorCode, ErrorCode.NONE);
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
  const options = {
    retentionCheckIntervalMs: 50,
    ...(HAS_METRICS ? { http: { port: 0 } } : {}),
  } as const;
  const uncleanable = (url: string | undefined) => async () =>
    !HAS_METRICS || await metric(url!, "denka_log_cleaner_uncleanable_partitions") === 1;
  try {
    const first = await startTestBroker(dataDir);
    try {
      await withConnection(first.bootstrap, async (c) => {
        for (const topic of ["bad", "good"]) {
          await createCompacted(c, topic);
          await produce(c, topic, [["k", "v1"], ["k", "v2"], ["x", "x1"], ["k", "v3"]]);
        }
      });
    } finally {
      await first.close();
    }
    await corruptFirstBatch(`${partitionDir(dataDir, "bad", 0)}/00000000000000000000.log`);

    const second = await startTestBroker(dataDir, options);
    try {
      await until("the bad partition is uncleanable", uncleanable(second.httpUrl));
      await withConnection(second.bootstrap, async (c) => {
        // "good" comes after "bad" in the same run: it is cleaned all the same. The active
        // segment (k@3) is never cleaned, so the inactive ones say k@1 is the latest: k@0 goes.
        await until("the good partition is cleaned", async () => {
          return !(await readOffsets(c, "good")).includes(0);
        });
        await assertStillAnswers(c);
        // It keeps cleaning the others: new duplicates in "good" go too once their segment rolls.
        await produce(c, "good", [["x", "x2"], ["y", "y1"]]);
        await until("the new duplicates are cleaned", async () => {
          const offsets = await readOffsets(c, "good");
          return !offsets.includes(1) && !offsets.includes(2); // k@1 (k@3), x@2 (x@4)
        });
        // The uncleanable partition stays readable and appendable (past its bad batch at 0).
        await produce(c, "bad", [["k", "v4"]]);
        assert.deepEqual(await readOffsets(c, "bad", 1), [1, 2, 3, 4]);
      });
      assert.ok(await uncleanable(second.httpUrl)(), "still exactly one");
    } finally {
      await second.close();
    }

    const third = await startTestBroker(dataDir, options);
    try {
      await until("the bad partition is found uncleanable again", uncleanable(third.httpUrl));
      await withConnection(third.bootstrap, assertStillAnswers);
    } finally {
      await third.close();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
