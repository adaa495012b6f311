/**
 * What the broker under fuzz needs before the first case and after each:
 * the fuzzed topics (one compacted with segments that roll and get cleaned
 * quickly, one with the delete policy and two partitions), the advertised API
 * ranges, and the liveness probe (ApiVersions on a fresh connection, answered
 * within a bounded deadline).
 *
 * @module
 */
import { RawConnection, withConnection } from "../interop/raw_client.ts";
import { apiTable } from "../../protocol/messages/mod.ts";
import {
  defaultCreateTopicsRequest,
  defaultCreateTopicsRequestCreatableTopic,
} from "../../protocol/messages/create_topics.ts";
import type { ApiRange } from "./cases.ts";
import { COMPACTED_TOPIC, DELETE_TOPIC } from "./requests.ts";

/** How long a fresh connection may take to get ApiVersions answered. */
export const LIVENESS_TIMEOUT_MS = 10_000;
/** Topic settings of the compacted topic: roll often, clean at once, drop tombstones soon. */
export const COMPACTED_TOPIC_CONFIGS: Readonly<Record<string, string>> = {
  "cleanup.policy": "compact",
  "segment.ms": "200",
  "delete.retention.ms": "100",
};
const DELETE_TOPIC_CONFIGS: Readonly<Record<string, string>> = { "segment.ms": "500" };

/** Creates the fuzzed topics; throws when the broker refuses. */
export async function createFuzzedTopics(bootstrap: string): Promise<void> {
  await withConnection(bootstrap, async (c) => {
    const topic = (name: string, numPartitions: number, configs: Record<string, string>) => ({
      ...defaultCreateTopicsRequestCreatableTopic(),
      name,
      numPartitions,
      replicationFactor: 1,
      configs: Object.entries(configs).map(([k, v]) => ({ name: k, value: v })),
    });
    const res = await c.request(apiTable[19]!, 5, {
      ...defaultCreateTopicsRequest(),
      topics: [
        topic(COMPACTED_TOPIC, 1, COMPACTED_TOPIC_CONFIGS),
        topic(DELETE_TOPIC, 2, DELETE_TOPIC_CONFIGS),
      ],
    }) as { topics: { name: string; errorCode: number; errorMessage: string | null }[] };
    for (const t of res.topics) {
      if (t.errorCode !== 0) {
        throw new Error(`Creating "${t.name}" failed with ${t.errorCode}: ${t.errorMessage}`);
      }
    }
  });
}

/** The (apiKey, version) ranges the broker advertises. */
export async function advertisedApis(bootstrap: string): Promise<ApiRange[]> {
  return await withConnection(bootstrap, async (c) => {
    const res = await c.request(apiTable[18]!, 3, {
      clientSoftwareName: "denka-fuzz",
      clientSoftwareVersion: "1",
    }) as { errorCode: number; apiKeys: ApiRange[] };
    if (res.errorCode !== 0) throw new Error(`ApiVersions failed with ${res.errorCode}`);
    return res.apiKeys.map((a) => ({
      apiKey: a.apiKey,
      minVersion: a.minVersion,
      maxVersion: a.maxVersion,
    }));
  });
}

/** A problem if a fresh connection does not get ApiVersions answered in time, else undefined. */
export async function livenessProblem(bootstrap: string): Promise<string | undefined> {
  const startedMs = performance.now();
  let c: RawConnection | undefined;
  try {
    c = await RawConnection.connect(bootstrap, "denka-fuzz-probe");
    const { frame } = c.encode(apiTable[18]!, 0, {
      clientSoftwareName: "",
      clientSoftwareVersion: "",
    });
    await c.send(frame);
    const answer = await c.readFrame(LIVENESS_TIMEOUT_MS);
    if (answer.kind === "closed") {
      return "the broker closed a fresh connection instead of answering ApiVersions";
    }
    return undefined;
  } catch (e) {
    const elapsedMs = Math.round(performance.now() - startedMs);
    return `ApiVersions on a fresh connection failed after ${elapsedMs} ms: ${
      (e as Error).message
    }`;
  } finally {
    c?.close();
  }
}
