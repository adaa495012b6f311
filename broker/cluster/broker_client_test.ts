import { assert } from "../../util/assert.ts";
import { startBroker } from "../../mod.ts";
import { denoRuntime } from "../../ffi/deno.ts";
import { apiVersionsApi, fetchApi, metadataApi, produceApi } from "../../protocol/messages/mod.ts";
import { defaultMetadataRequest } from "../../protocol/messages/metadata.ts";
import { defaultApiVersionsRequest } from "../../protocol/messages/api_versions.ts";
import {
  defaultFetchRequest,
  defaultFetchRequestPartition,
  defaultFetchRequestTopic,
} from "../../protocol/messages/fetch.ts";
import { encodeRecordBatch } from "../../protocol/records.ts";
import { BrokerClient } from "./broker_client.ts";

Deno.test("BrokerClient matches pipelined responses and reassembles a frame of many reads", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "denka-client-" });
  const broker = await startBroker({ port: 0, dataDir, http: false });
  const client = await BrokerClient.connect(denoRuntime(), {
    host: "127.0.0.1",
    port: broker.port,
  }, "test");
  try {
    const created = await client.request(metadataApi, 9, {
      ...defaultMetadataRequest(),
      topics: [{ name: "big", topicId: "00000000-0000-0000-0000-000000000000" }],
    }); // auto-creates the topic
    assert.equal(created.topics[0].errorCode, 0);
    const value = new Uint8Array(900_000).map((_, i) => i & 0xff); // ~3.6 MB over 4 batches
    for (let i = 0; i < 4; i++) {
      const produced = await client.request(produceApi, 9, {
        transactionalId: null,
        acks: 1,
        timeoutMs: 5000,
        topicData: [{
          name: "big",
          partitionData: [{
            index: 0,
            records: encodeRecordBatch([{ key: null, value, timestampMs: 1 }]),
          }],
        }],
      });
      assert.equal(produced.responses[0].partitionResponses[0].errorCode, 0);
    }
    const fetch = client.request(fetchApi, 12, {
      ...defaultFetchRequest(),
      maxWaitMs: 0,
      maxBytes: 8_000_000,
      topics: [{
        ...defaultFetchRequestTopic(),
        topic: "big",
        partitions: [{ ...defaultFetchRequestPartition(), partitionMaxBytes: 8_000_000 }],
      }],
    });
    const versions = client.request(apiVersionsApi, 3, defaultApiVersionsRequest());
    const [fetched, listed] = await Promise.all([fetch, versions]);
    const records = fetched.responses[0].partitions[0].records as unknown as Uint8Array;
    assert.ok(records.length > 4 * 900_000);
    assert.equal(listed.errorCode, 0);
    assert.ok(listed.apiKeys.some((k) => k.apiKey === 23)); // OffsetForLeaderEpoch
    client.close();
    let rejected = false;
    await client.request(apiVersionsApi, 3, defaultApiVersionsRequest()).catch(() =>
      rejected = true
    );
    assert.ok(rejected);
  } finally {
    client.close();
    await broker.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
