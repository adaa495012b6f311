/**
 * Topic configs storage cannot open are refused at the door, under every
 * API that sets them, with `validateOnly` saying what the real call says;
 * nothing refused is saved; a data directory holding such a value (saved by
 * an older broker, or edited by hand) still starts.
 */
import { strict as assert } from "node:assert";
import { ErrorCode } from "../../protocol/error_codes.ts";
import {
  defaultAlterConfigsRequest,
  defaultAlterConfigsRequestResource,
} from "../../protocol/messages/alter_configs.ts";
import {
  defaultCreateTopicsRequest,
  defaultCreateTopicsRequestCreatableTopic,
} from "../../protocol/messages/create_topics.ts";
import {
  defaultIncrementalAlterConfigsRequest,
  defaultIncrementalAlterConfigsRequestAlterConfigsResource,
} from "../../protocol/messages/incremental_alter_configs.ts";
import {
  alterConfigsApi,
  apiVersionsApi,
  createTopicsApi,
  describeConfigsApi,
  incrementalAlterConfigsApi,
} from "../../protocol/messages/mod.ts";
import { decode, encode } from "../../util/cbor.ts";
import { makeDataDir, startTestBroker, withBroker } from "./harness.ts";
import { type RawConnection, withConnection } from "./raw_client.ts";

const RESOURCE_TOPIC = 2;
const BAD = { name: "segment.index.bytes", value: "10" };

function createTopic(c: RawConnection, name: string, validateOnly: boolean, configs = [BAD]) {
  return c.request(createTopicsApi, 5, {
    ...defaultCreateTopicsRequest(),
    timeoutMs: 5000,
    validateOnly,
    topics: [{
      ...defaultCreateTopicsRequestCreatableTopic(),
      name,
      numPartitions: 1,
      replicationFactor: 1,
      configs,
    }],
  });
}

async function describedValue(c: RawConnection, topic: string, key: string) {
  const res = await c.request(describeConfigsApi, 1, {
    resources: [{ resourceType: RESOURCE_TOPIC, resourceName: topic, configurationKeys: [key] }],
    includeSynonyms: false,
    includeDocumentation: false,
  });
  return res.results[0].configs.find((e) => e.name === key)?.value;
}

async function assertStillAnswers(c: RawConnection): Promise<void> {
  const versions = await c.request(apiVersionsApi, 3, {
    clientSoftwareName: "denka-test",
    clientSoftwareVersion: "1",
  });
  assert.equal(versions.errorCode, ErrorCode.NONE);
}

Deno.test("CreateTopics with segment.index.bytes=10 answers INVALID_CONFIG, validateOnly alike, and the connection stays open", async () => {
  await withBroker({}, async ({ bootstrap }) => {
    await withConnection(bootstrap, async (c) => {
      for (const validateOnly of [true, false]) {
        const res = await createTopic(c, "tiny-index", validateOnly);
        const t = res.topics[0];
        assert.equal(t.errorCode, ErrorCode.INVALID_CONFIG, `validateOnly=${validateOnly}`);
        assert.match(t.errorMessage ?? "", /"segment.index.bytes" must be between 12/);
      }
      await assertStillAnswers(c);
      const ok = await createTopic(c, "tiny-index", false, [{ ...BAD, value: "12" }]);
      assert.equal(ok.topics[0].errorCode, ErrorCode.NONE);
    });
  });
});

Deno.test("AlterConfigs and IncrementalAlterConfigs refuse segment.index.bytes=10 and save nothing", async () => {
  await withBroker({}, async ({ bootstrap, dataDir }) => {
    await withConnection(bootstrap, async (c) => {
      const created = await createTopic(c, "altered", false, [{
        name: "retention.ms",
        value: "1000",
      }]);
      assert.equal(created.topics[0].errorCode, ErrorCode.NONE);
      const saved = await Deno.readFile(`${dataDir}/denka-topics.cbor`);
      for (const validateOnly of [true, false]) {
        const legacy = await c.request(alterConfigsApi, 1, {
          ...defaultAlterConfigsRequest(),
          validateOnly,
          resources: [{
            ...defaultAlterConfigsRequestResource(),
            resourceType: RESOURCE_TOPIC,
            resourceName: "altered",
            configs: [BAD],
          }],
        });
        assert.equal(legacy.responses[0].errorCode, ErrorCode.INVALID_CONFIG);
        assert.match(legacy.responses[0].errorMessage ?? "", /between 12/);
        const incremental = await c.request(incrementalAlterConfigsApi, 1, {
          ...defaultIncrementalAlterConfigsRequest(),
          validateOnly,
          resources: [{
            ...defaultIncrementalAlterConfigsRequestAlterConfigsResource(),
            resourceType: RESOURCE_TOPIC,
            resourceName: "altered",
            configs: [{ ...BAD, configOperation: 0 }],
          }],
        });
        assert.equal(incremental.responses[0].errorCode, ErrorCode.INVALID_CONFIG);
      }
      assert.deepEqual(await Deno.readFile(`${dataDir}/denka-topics.cbor`), saved);
      assert.equal(await describedValue(c, "altered", "segment.index.bytes"), "10485760");
      assert.equal(await describedValue(c, "altered", "retention.ms"), "1000");
      await assertStillAnswers(c);
    });
  });
});

Deno.test("A data dir whose saved topic config storage cannot open still starts, on the default", async () => {
  const dataDir = await makeDataDir();
  try {
    const first = await startTestBroker(dataDir);
    try {
      await withConnection(first.bootstrap, async (c) => {
        const created = await createTopic(c, "saved", false, [{
          name: "retention.ms",
          value: "1000",
        }]);
        assert.equal(created.topics[0].errorCode, ErrorCode.NONE);
      });
    } finally {
      await first.close();
    }
    // What an older broker's AlterConfigs saved before applying it.
    const path = `${dataDir}/denka-topics.cbor`;
    const meta = decode(await Deno.readFile(path)) as {
      topics: { name: string; overrides: Record<string, string> }[];
    };
    meta.topics.find((t) => t.name === "saved")!.overrides["segment.index.bytes"] = "10";
    await Deno.writeFile(path, encode(meta));

    const second = await startTestBroker(dataDir);
    try {
      await withConnection(second.bootstrap, async (c) => {
        assert.equal(await describedValue(c, "saved", "segment.index.bytes"), "10485760");
        assert.equal(await describedValue(c, "saved", "retention.ms"), "1000");
        await assertStillAnswers(c);
      });
    } finally {
      await second.close();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
