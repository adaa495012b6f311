/**
 * ListOffsets by timestamp decodes the records of the batch it lands in; a
 * stored batch whose records cannot be read (CRC-valid, as written before
 * produce validated records, or by a bad disk) has no matching record, and the
 * connection keeps being served. The fuzz suite found it closing the
 * connection as an internal error (seed 20261205 case 992, a Bun broker):
 * the record reader threw; it now reports the bad batch as a result.
 */
import { assertEquals } from "../../util/assert.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import {
  apiVersionsApi,
  createTopicsApi,
  defaultCreateTopicsRequest,
  defaultCreateTopicsRequestCreatableTopic,
  defaultListOffsetsRequest,
  defaultListOffsetsRequestPartition,
  defaultListOffsetsRequestTopic,
  listOffsetsApi,
  produceApi,
} from "../../protocol/messages/mod.ts";
import { BATCH_HEADER_BYTES, RecordBatchView } from "../../protocol/record_batch.ts";
import { encodeRecordBatch } from "../../protocol/records.ts";
import { startBroker } from "../../mod.ts";
import { partitionDir, segmentLogFiles } from "../../tests/interop/harness.ts";
import { withConnection } from "../../tests/interop/raw_client.ts";

const TIMESTAMP_MS = 1_700_000_000_000;

async function createAndProduce(bootstrap: string, topics: string[]): Promise<void> {
  await withConnection(bootstrap, async (c) => {
    const created = await c.request(createTopicsApi, 5, {
      ...defaultCreateTopicsRequest(),
      topics: topics.map((name) => ({
        ...defaultCreateTopicsRequestCreatableTopic(),
        name,
        numPartitions: 1,
        replicationFactor: 1,
      })),
    });
    assertEquals(created.topics.map((t) => t.errorCode), topics.map(() => 0));
    for (const name of topics) {
      const batch = encodeRecordBatch([
        { key: null, value: Uint8Array.of(1), timestampMs: TIMESTAMP_MS },
        { key: null, value: Uint8Array.of(2), timestampMs: TIMESTAMP_MS + 10 },
      ]);
      const res = await c.request(produceApi, 9, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 5000,
        topicData: [{ name, partitionData: [{ index: 0, records: batch }] }],
      });
      assertEquals(res.responses[0].partitionResponses[0].errorCode, 0);
    }
  });
}

/** Makes the first record of the first stored batch of `topic` overrun the batch, CRC kept valid. */
async function corruptFirstRecord(dataDir: string, topic: string): Promise<void> {
  const [name] = await segmentLogFiles(dataDir, topic, 0);
  const path = `${partitionDir(dataDir, topic, 0)}/${name}`;
  const bytes = await Deno.readFile(path);
  bytes[BATCH_HEADER_BYTES] = 0x7e; // record length 63: past the end of this small batch
  new RecordBatchView(bytes).updateCrc();
  await Deno.writeFile(path, bytes);
}

Deno.test("listOffsetsHandler finds no record in a stored batch it cannot read and keeps serving", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "denka-list-offsets-" });
  try {
    const first = await startBroker({ port: 0, dataDir });
    await createAndProduce(first.bootstrap, ["corrupt", "intact"]);
    await first.close();
    await corruptFirstRecord(dataDir, "corrupt");
    await using broker = await startBroker({ port: 0, dataDir });
    await withConnection(broker.bootstrap, async (c) => {
      const partition = { ...defaultListOffsetsRequestPartition(), timestamp: TIMESTAMP_MS + 5 };
      const res = await c.request(listOffsetsApi, 7, {
        ...defaultListOffsetsRequest(),
        topics: ["corrupt", "intact"].map((name) => ({
          ...defaultListOffsetsRequestTopic(),
          name,
          partitions: [partition],
        })),
      });
      const [corrupt, intact] = res.topics.map((t) => t.partitions[0]);
      assertEquals([corrupt.errorCode, corrupt.offset, corrupt.timestamp], [
        ErrorCode.NONE,
        -1,
        -1,
      ]);
      assertEquals([intact.errorCode, intact.offset, intact.timestamp], [0, 1, TIMESTAMP_MS + 10]);
      const versions = await c.request(apiVersionsApi, 3, {
        clientSoftwareName: "t",
        clientSoftwareVersion: "1",
      });
      assertEquals(versions.errorCode, 0);
    });
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
