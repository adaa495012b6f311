/**
 * The chaos test's checker. From what the producers were told (acknowledged
 * records), what the consumer saw, and every replica's log files read after
 * the cluster settled, it counts:
 *
 * - **lost:** an acknowledged (partition, offset, value) not at that offset
 *   in the leader's log below the high watermark (acknowledged without an
 *   offset, -1: not anywhere in the partition);
 * - **duplicated:** a value present more than once in a partition's log;
 * - **out of order:** adjacent values of a partition whose producer sequence
 *   does not increase;
 * - **vanished:** a record the consumer saw that is no longer at its offset;
 * - **diverging replicas:** a (partition, broker) whose bytes below the high
 *   watermark differ from the leader's.
 *
 * Values are `"<partition>:<seq>"` (see `py/chaos_produce.py`).
 *
 * @module
 */
import { concatBytes } from "../../util/bytes.ts";
import { BATCH_LOG_OVERHEAD_BYTES, RecordBatchView } from "../../protocol/record_batch.ts";
import { decodeRecordBatch } from "../../protocol/records.ts";
import { LOG_FILE_SUFFIX, partitionDirName } from "../../storage/log_files.ts";

/** One record a client reported: acknowledged to the producer, or seen by the consumer. */
export interface ClientRecord {
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
}

/** One replica's log below the high watermark. */
export interface ReplicaLog {
  /** The bytes of every whole batch whose last offset is below the high watermark. */
  readonly bytes: Uint8Array;
  /** Value of each offset below the high watermark. */
  readonly values: Map<number, string>;
}

/** The checker's counts (all zero in a correct run). */
export interface CheckCounts {
  readonly acknowledged: number;
  /** Acknowledged with offset unknown (librdkafka's DUPLICATE_SEQUENCE_NUMBER success). */
  readonly acknowledgedWithoutOffset: number;
  /** Distinct records the consumer saw (it may read some again after a failover). */
  readonly seen: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly outOfOrder: number;
  readonly vanished: number;
  readonly divergingReplicas: number;
  /** The first few violations in words, for the failure message. */
  readonly examples: string[];
}

const EXAMPLES_MAX = 20;

/**
 * Reads the whole batches of `topic-partition` below `highWatermark` from the segment files of
 * the broker whose data directory is `dataDir` (stopped or running: the files are only read).
 */
export function readReplicaLog(
  dataDir: string,
  topic: string,
  partition: number,
  highWatermark: number,
): ReplicaLog {
  const dir = `${dataDir}/${partitionDirName(topic, partition)}`;
  const names = [...Deno.readDirSync(dir)].map((e) => e.name)
    .filter((n) => n.endsWith(LOG_FILE_SUFFIX)).sort();
  const kept: Uint8Array[] = [];
  const values = new Map<number, string>();
  const decoder = new TextDecoder();
  for (const name of names) {
    const file = Deno.readFileSync(`${dir}/${name}`);
    const view = new RecordBatchView(file);
    for (let p = 0; p + BATCH_LOG_OVERHEAD_BYTES <= file.length;) {
      view.moveTo(p);
      const sizeBytes = view.sizeBytes;
      // Preallocated tail (zeros) or a torn write: the log ends here.
      if (view.batchLengthBytes <= 0 || p + sizeBytes > file.length) break;
      if (view.lastOffset >= highWatermark) break;
      const batch = decodeRecordBatch(file, p);
      for (const r of batch.records) {
        values.set(r.offset, r.value === null ? "" : decoder.decode(r.value));
      }
      kept.push(file.subarray(p, p + sizeBytes));
      p += sizeBytes;
    }
  }
  return { bytes: concatBytes(kept), values };
}

function seqOf(value: string): number {
  return Number(value.slice(value.indexOf(":") + 1));
}

/** Compares the clients' records with the replicas' logs (see the module doc). */
export function checkChaos(input: {
  readonly acknowledged: readonly ClientRecord[];
  readonly seen: readonly ClientRecord[];
  /** Per partition: the leader's id and every replica's log, keyed by broker id. */
  readonly partitions: ReadonlyMap<number, { leader: number; logs: Map<number, ReplicaLog> }>;
}): CheckCounts {
  const examples: string[] = [];
  const note = (text: string) => {
    if (examples.length < EXAMPLES_MAX) examples.push(text);
  };
  const finalOf = (p: number) => {
    const entry = input.partitions.get(p);
    return entry?.logs.get(entry.leader)?.values ?? new Map<number, string>();
  };
  let lost = 0;
  const valuesOf = new Map<number, Set<string>>();
  for (const p of input.partitions.keys()) valuesOf.set(p, new Set(finalOf(p).values()));
  for (const r of input.acknowledged) {
    // Acknowledged without an offset (-1): it must be somewhere in its partition.
    const present = r.offset < 0
      ? valuesOf.get(r.partition)?.has(r.value) === true
      : finalOf(r.partition).get(r.offset) === r.value;
    if (!present) {
      const now = finalOf(r.partition).get(r.offset);
      lost++;
      note(`acknowledged ${r.partition}@${r.offset} "${r.value}" is now "${now}"`);
    }
  }
  let vanished = 0;
  for (const r of input.seen) {
    const now = finalOf(r.partition).get(r.offset);
    if (now !== r.value) {
      vanished++;
      note(`consumer saw ${r.partition}@${r.offset} "${r.value}", now "${now}"`);
    }
  }
  let duplicated = 0;
  let outOfOrder = 0;
  let divergingReplicas = 0;
  for (const [p, { leader, logs }] of input.partitions) {
    const offsets = [...finalOf(p).entries()].sort((a, b) => a[0] - b[0]);
    const where = new Map<string, number>();
    let previousSeq = -1;
    for (const [offset, value] of offsets) {
      const first = where.get(value);
      if (first !== undefined) {
        duplicated++;
        note(`partition ${p}: "${value}" at ${first} and again at ${offset}`);
      } else where.set(value, offset);
      const seq = seqOf(value);
      if (seq <= previousSeq) {
        outOfOrder++;
        note(`partition ${p}: "${value}" at ${offset} after seq ${previousSeq}`);
      }
      previousSeq = Math.max(previousSeq, seq);
    }
    const leaderBytes = logs.get(leader)?.bytes;
    for (const [nodeId, log] of logs) {
      if (nodeId === leader || leaderBytes === undefined) continue;
      if (!sameBytes(log.bytes, leaderBytes)) {
        divergingReplicas++;
        note(
          `partition ${p}: broker ${nodeId} has ${log.bytes.length} bytes below the high watermark, leader ${leader} ${leaderBytes.length}, first difference at byte ${
            firstDifference(log.bytes, leaderBytes)
          }`,
        );
      }
    }
  }
  return {
    acknowledged: input.acknowledged.length,
    acknowledgedWithoutOffset: input.acknowledged.filter((r) => r.offset < 0).length,
    seen: new Set(input.seen.map((r) => `${r.partition}@${r.offset}=${r.value}`)).size,
    lost,
    duplicated,
    outOfOrder,
    vanished,
    divergingReplicas,
    examples,
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && firstDifference(a, b) === -1;
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}
