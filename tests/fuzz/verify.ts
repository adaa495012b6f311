/**
 * The end-of-run read-back: every batch of the fuzzed topics is fetched and
 * must pass the suite's own checker (so no batch produce should have refused
 * is readable), and kcat (librdkafka) must consume each partition to its end
 * without an error such as `_BAD_COMPRESSION`.
 *
 * @module
 */
import { fetchPartition0, type RawConnection, withConnection } from "../interop/raw_client.ts";
import { run } from "../interop/harness.ts";
import { checkBatch, splitBatches } from "./check_batch.ts";
import { toHex } from "./prng.ts";
import { COMPACTED_TOPIC, DELETE_TOPIC } from "./requests.ts";
import { apiTable } from "../../protocol/messages/mod.ts";
import {
  defaultFetchRequest,
  defaultFetchRequestPartition,
  defaultFetchRequestTopic,
} from "../../protocol/messages/fetch.ts";

/** A read-back problem. */
export interface ReadBackFailure {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly problem: string;
  /** The batch (hex, first 2 KiB), when there is one. */
  readonly hex?: string;
}

const FETCH_VERSION = 11;
const FETCH_MAX_BYTES = 8 * 1024 * 1024;
const KCAT_TIMEOUT_MS = 60_000;
/** Fuzzed partitions: the compacted topic has one, the delete topic two. */
export const FUZZED_PARTITIONS: readonly [string, number][] = [
  [COMPACTED_TOPIC, 0],
  [DELETE_TOPIC, 0],
  [DELETE_TOPIC, 1],
];

async function fetchFrom(c: RawConnection, topic: string, partition: number, offset: number) {
  if (partition === 0) {
    return fetchPartition0(c, topic, offset, { version: FETCH_VERSION, maxBytes: FETCH_MAX_BYTES });
  }
  return await c.request(apiTable[1]!, FETCH_VERSION, {
    ...defaultFetchRequest(),
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: FETCH_MAX_BYTES,
    topics: [{
      ...defaultFetchRequestTopic(),
      topic,
      partitions: [{
        ...defaultFetchRequestPartition(),
        partition,
        fetchOffset: offset,
        partitionMaxBytes: FETCH_MAX_BYTES,
      }],
    }],
  }) as Awaited<ReturnType<typeof fetchPartition0>>;
}

/** Fetches one partition from its start to its high watermark, checking every batch. */
async function readBackPartition(
  bootstrap: string,
  topic: string,
  partition: number,
): Promise<{ batches: number; failures: ReadBackFailure[] }> {
  const failures: ReadBackFailure[] = [];
  let batches = 0;
  await withConnection(bootstrap, async (c) => {
    let offset = 0;
    for (let round = 0; round < 100_000; round++) {
      const res = await fetchFrom(c, topic, partition, offset);
      const p = res.responses[0]?.partitions[0];
      if (p === undefined) throw new Error(`Fetch of ${topic}-${partition} answered no partition`);
      if (p.errorCode === 1 /* OFFSET_OUT_OF_RANGE */ && offset < p.logStartOffset) {
        offset = p.logStartOffset;
        continue;
      }
      if (p.errorCode === 3 /* UNKNOWN_TOPIC_OR_PARTITION */) return;
      if (p.errorCode !== 0) {
        failures.push({ topic, partition, offset, problem: `fetch error code ${p.errorCode}` });
        return;
      }
      if (offset >= p.highWatermark) return;
      const blob = p.records as Uint8Array | null;
      const split = blob === null ? [] : splitBatches(blob);
      if (split.length === 0) {
        failures.push({
          topic,
          partition,
          offset,
          problem: `no whole batch below the high watermark ${p.highWatermark}`,
        });
        return;
      }
      for (const b of split) {
        batches++;
        const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
        const base = Number(view.getBigInt64(0));
        const problem = checkBatch(b, { keyRequired: topic === COMPACTED_TOPIC, stored: true });
        if (problem !== undefined) {
          failures.push({
            topic,
            partition,
            offset: base,
            problem,
            hex: toHex(b.subarray(0, 2048)),
          });
        }
        const last = base + (b.length >= 27 ? view.getInt32(23) : 0);
        offset = Math.max(offset, last + 1);
      }
    }
  });
  return { batches, failures };
}

/** Consumes a partition with kcat to its end; a problem string, or undefined when all went well. */
async function kcatReadsToEnd(
  bootstrap: string,
  topic: string,
  partition: number,
): Promise<string | undefined> {
  try {
    const result = await run("kcat", [
      "-b",
      bootstrap,
      "-C",
      "-t",
      topic,
      "-p",
      String(partition),
      "-o",
      "beginning",
      "-e",
      "-q",
      "-X",
      "auto.offset.reset=error",
      "-f",
      "%o\\n",
    ], { timeoutMs: KCAT_TIMEOUT_MS, check: false });
    if (result.code !== 0 || /ERROR|BAD_COMPRESSION|_BAD_MSG/.test(result.stderrText)) {
      return `kcat exited with ${result.code}: ${result.stderrText.slice(-1000)}`;
    }
    return undefined;
  } catch (e) {
    return `kcat: ${(e as Error).message.slice(0, 1000)}`;
  }
}

/** Reads back every fuzzed partition; returns the batches seen and every problem. */
export async function readBack(
  bootstrap: string,
  options: { kcat: boolean },
): Promise<{ batches: number; failures: ReadBackFailure[] }> {
  let batches = 0;
  const failures: ReadBackFailure[] = [];
  for (const [topic, partition] of FUZZED_PARTITIONS) {
    const r = await readBackPartition(bootstrap, topic, partition);
    batches += r.batches;
    failures.push(...r.failures);
    if (options.kcat) {
      const problem = await kcatReadsToEnd(bootstrap, topic, partition);
      if (problem !== undefined) failures.push({ topic, partition, offset: -1, problem });
    }
  }
  return { batches, failures };
}
