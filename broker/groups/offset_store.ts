/**
 * The durable group log: committed offsets and group memberships as records
 * of one internal {@linkcode PartitionLog} (Kafka's `__consumer_offsets`, one
 * partition, same record formats). Every change is appended and flushed
 * (fdatasync) before the caller answers the client; the log is replayed at
 * start (last record per key wins, a null value deletes). Offsets committed in
 * a transaction (TxnOffsetCommit) are a transactional batch of the producer,
 * decided by the COMMIT or ABORT control batch that follows, as in Kafka; the
 * replay holds them until then and reports those still undecided.
 *
 * Compaction rewrites the live state into a fresh log generation once the
 * log has doubled since the last rewrite (and passed `compactMinBytes`):
 * `<dataDir>/__consumer_offsets/log-<N>/` holds generation N and the file
 * `CURRENT` (written atomically) names it, so a crash mid-rewrite leaves the
 * old generation in force. The directory has no `-<partition>` suffix, so it
 * is never mistaken for a user topic.
 *
 * @module
 */
import { Errno, IoError, type Libc } from "../../ffi/port.ts";
import { ControlRecordType, encodeControlBatch } from "../../protocol/control_batch.ts";
import { BatchAttribute, setBaseOffset } from "../../protocol/record_batch.ts";
import {
  type DecodedBatch,
  decodeRecordBatches,
  encodeRecordBatch,
} from "../../protocol/records.ts";
import { PartitionLog } from "../../storage/partition_log.ts";
import type { Logger } from "../../util/log.ts";
import {
  type CommittedOffset,
  decodeGroupValue,
  decodeKey,
  decodeOffsetValue,
  type StoredGroup,
} from "./records.ts";

/** Directory of the group log under the data directory. */
export const GROUP_LOG_DIR_NAME = "__consumer_offsets";
/** Kafka's offsets.topic.segment.bytes. */
const SEGMENT_BYTES = 104857600;
/** Bytes read per step while replaying. */
const REPLAY_READ_BYTES = 4 * 1024 * 1024;
/** Default log size below which compaction never runs. */
export const COMPACT_MIN_BYTES_DEFAULT = 16 * 1024 * 1024;

/** One record to append: a key and a value, or null for a tombstone. */
export interface GroupLogRecord {
  readonly key: Uint8Array;
  readonly value: Uint8Array | null;
}

/** An offset committed in a transaction whose marker the log does not hold yet. */
export interface PendingTxnOffset {
  readonly producerId: number;
  readonly groupId: string;
  readonly topic: string;
  readonly partition: number;
  readonly committed: CommittedOffset;
}

/** The producer of a transactional append (TxnOffsetCommit). */
export interface TxnProducerEpoch {
  readonly producerId: number;
  readonly producerEpoch: number;
}

/**
 * What the log held at start: offsets by group, topic and partition; memberships by group;
 * transactional offsets still waiting for their transaction's marker.
 */
export interface LoadedGroupState {
  readonly offsets: Map<string, Map<string, Map<number, CommittedOffset>>>;
  readonly groups: Map<string, StoredGroup>;
  readonly pendingTxnOffsets: PendingTxnOffset[];
}

/**
 * Where a group coordinator writes: the local group log ({@linkcode OffsetStore}) or, in a
 * cluster, a replicated `__consumer_offsets` partition. Each call throws IoError when
 * nothing was written (then nothing is acknowledged).
 */
export interface GroupLogWriter {
  append(records: readonly GroupLogRecord[], txn?: TxnProducerEpoch): void;
  appendTxnMarker(txn: TxnProducerEpoch, committed: boolean, coordinatorEpoch: number): void;
  maybeCompact(snapshot: () => GroupLogRecord[]): boolean;
  close(): void;
}

/** Options of {@linkcode OffsetStore.open}. */
export interface OffsetStoreOptions {
  readonly nowMs: () => number;
  readonly logger: Logger;
  readonly compactMinBytes?: number;
}

/** See the module doc. */
export class OffsetStore implements GroupLogWriter {
  readonly #libc: Libc;
  readonly #root: string;
  readonly #options: OffsetStoreOptions;
  #generation: number;
  #log: PartitionLog;
  #sizeAfterCompactBytes: number;

  private constructor(libc: Libc, root: string, generation: number, options: OffsetStoreOptions) {
    this.#libc = libc;
    this.#root = root;
    this.#generation = generation;
    this.#options = options;
    this.#log = PartitionLog.open(libc, this.#dir(generation), logSettings());
    this.#sizeAfterCompactBytes = this.#log.sizeBytes;
  }

  /** Opens (or creates) the group log under `dataDir` and replays it. */
  static open(
    libc: Libc,
    dataDir: string,
    options: OffsetStoreOptions,
  ): { store: OffsetStore; loaded: LoadedGroupState } {
    const root = `${dataDir}/${GROUP_LOG_DIR_NAME}`;
    libc.mkdirp(root);
    let generation = 0;
    try {
      generation = Number(new TextDecoder().decode(libc.readFile(`${root}/CURRENT`)).trim());
      if (!Number.isSafeInteger(generation) || generation < 0) {
        throw new Error(`Corrupt group log pointer "${root}/CURRENT".`);
      }
    } catch (e) {
      if (!(e instanceof IoError && e.errno === Errno.ENOENT)) throw e;
    }
    for (const entry of libc.readdir(root)) {
      if (entry.isDirectory && entry.name !== `log-${generation}`) {
        libc.removeTree(`${root}/${entry.name}`); // an interrupted or superseded rewrite
      }
    }
    const store = new OffsetStore(libc, root, generation, options);
    try {
      return { store, loaded: store.#replay() };
    } catch (e) {
      store.close();
      throw e;
    }
  }

  /** Bytes in the current log generation. */
  get sizeBytes(): number {
    return this.#log.sizeBytes;
  }

  /**
   * Appends `records` as one batch (a transactional one of `txn`'s producer, as Kafka
   * writes TxnOffsetCommit) and flushes; throws IoError (nothing is then acknowledged).
   */
  append(records: readonly GroupLogRecord[], txn?: TxnProducerEpoch): void {
    if (records.length === 0) return;
    const nowMs = this.#options.nowMs();
    const batch = encodeRecordBatch(
      records.map((r) => ({ key: r.key, value: r.value, timestampMs: nowMs })),
      txn === undefined ? {} : { ...txn, isTransactional: true },
    );
    this.#appendBatch(batch, nowMs);
  }

  /**
   * Appends the COMMIT or ABORT marker (Kafka's control batch) that ends `txn`'s
   * transactional offsets, and flushes; throws IoError.
   */
  appendTxnMarker(txn: TxnProducerEpoch, committed: boolean, coordinatorEpoch: number): void {
    const nowMs = this.#options.nowMs();
    this.#appendBatch(encodeControlBatch({ ...txn, committed, coordinatorEpoch }, nowMs), nowMs);
  }

  /**
   * The coordinator writes its own log: offsets are assigned here (as Kafka's coordinator
   * appends with origin COORDINATOR), so its transactional batches and markers skip the
   * checks a client's produce gets.
   */
  #appendBatch(batch: Uint8Array, nowMs: number): void {
    setBaseOffset(batch, 0, this.#log.logEndOffset);
    const result = this.#log.append(batch, { nowMs, assignOffsets: false });
    if (!result.ok) {
      throw result.cause ?? new Error(`Group log append failed: ${result.message}.`);
    }
    this.#log.flush();
  }

  /**
   * Rewrites the log from `snapshot()` (the live records) when it has doubled since the
   * last rewrite and passed the minimum size. Returns true when it did.
   */
  maybeCompact(snapshot: () => GroupLogRecord[]): boolean {
    const minBytes = this.#options.compactMinBytes ?? COMPACT_MIN_BYTES_DEFAULT;
    const size = this.#log.sizeBytes;
    if (size < minBytes || size < 2 * this.#sizeAfterCompactBytes) return false;
    this.compact(snapshot());
    return true;
  }

  /** Writes `live` into a new generation, switches `CURRENT` to it, drops the old one. */
  compact(live: readonly GroupLogRecord[]): void {
    const next = this.#generation + 1;
    const dir = this.#dir(next);
    this.#libc.removeTree(dir);
    const fresh = PartitionLog.open(this.#libc, dir, logSettings());
    try {
      const nowMs = this.#options.nowMs();
      for (let i = 0; i < live.length; i += 1000) {
        const chunk = live.slice(i, i + 1000).map((r) => ({ ...r, timestampMs: nowMs }));
        const result = fresh.append(encodeRecordBatch(chunk), { nowMs });
        if (!result.ok) {
          throw result.cause ?? new Error(`Group log rewrite failed: ${result.message}.`);
        }
      }
      fresh.flush();
    } catch (e) {
      fresh.deleteFiles();
      throw e;
    }
    this.#libc.writeFileAtomic(`${this.#root}/CURRENT`, new TextEncoder().encode(`${next}\n`));
    const old = this.#log;
    const oldDir = this.#dir(this.#generation);
    this.#log = fresh;
    this.#generation = next;
    this.#sizeAfterCompactBytes = fresh.sizeBytes;
    old.close();
    this.#libc.removeTree(oldDir);
    this.#options.logger.info(
      `Group log compacted to ${live.length} record(s), ${fresh.sizeBytes} bytes (generation ${next}).`,
    );
  }

  /** Flushes and closes the log. */
  close(): void {
    this.#log.close();
  }

  #dir(generation: number): string {
    return `${this.#root}/log-${generation}`;
  }

  #replay(): LoadedGroupState {
    return replayGroupLog(this.#libc, this.#log, this.#log.logEndOffset);
  }
}

/**
 * Replays a group log from its start up to `endOffset` (last record per key wins, a null value
 * deletes; transactional offsets wait for their marker): the local log at start, or a
 * replicated `__consumer_offsets` partition when this broker becomes its leader.
 */
export function replayGroupLog(libc: Libc, log: PartitionLog, endOffset: number): LoadedGroupState {
  const offsets = new Map<string, Map<string, Map<number, CommittedOffset>>>();
  const groups = new Map<string, StoredGroup>();
  const pending = new Map<number, DecodedBatch[]>();
  const apply = (batch: DecodedBatch) => {
    for (const record of batch.records) applyRecord(offsets, groups, record.key, record.value);
  };
  let next = log.logStartOffset;
  while (next < endOffset) {
    const read = log.readToLogEnd(next, REPLAY_READ_BYTES);
    if (read.errorCode !== 0 || read.slices.length === 0) {
      throw new Error(`Cannot read the group log at offset ${next} (error ${read.errorCode}).`);
    }
    const bytes = new Uint8Array(read.sizeBytes);
    let at = 0;
    for (const slice of read.slices) {
      const view = bytes.subarray(at, at + slice.sizeBytes);
      let done = 0;
      while (done < view.length) {
        const n = libc.pread(slice.fd, view.subarray(done), slice.positionBytes + done);
        if (n <= 0) throw new Error(`Short read of the group log at offset ${next}.`);
        done += n;
      }
      at += slice.sizeBytes;
    }
    const batches = decodeRecordBatches(bytes);
    if (batches.length === 0) throw new Error(`Undecodable group log batch at offset ${next}.`);
    for (const batch of batches) {
      if (batch.baseOffset >= endOffset) {
        next = endOffset;
        break;
      }
      replayBatch(batch, pending, apply);
      next = batch.lastOffset + 1;
    }
  }
  return { offsets, groups, pendingTxnOffsets: pendingOffsets(pending) };
}

/** Applies a batch, or holds a transactional one until its producer's marker decides it. */
function replayBatch(
  batch: DecodedBatch,
  pending: Map<number, DecodedBatch[]>,
  apply: (batch: DecodedBatch) => void,
): void {
  if ((batch.attributes & BatchAttribute.TRANSACTIONAL) === 0) return apply(batch);
  if ((batch.attributes & BatchAttribute.CONTROL) === 0) {
    pending.set(batch.producerId, [...(pending.get(batch.producerId) ?? []), batch]);
    return;
  }
  const key = batch.records[0]?.key;
  if (key === null || key === undefined || key.length < 4) {
    throw new Error(`A group log control record at offset ${batch.baseOffset} has no type.`);
  }
  const committed =
    new DataView(key.buffer, key.byteOffset).getInt16(2) === ControlRecordType.COMMIT;
  if (committed) { for (const b of pending.get(batch.producerId) ?? []) apply(b); }
  pending.delete(batch.producerId);
}

function pendingOffsets(pending: Map<number, DecodedBatch[]>): PendingTxnOffset[] {
  const out: PendingTxnOffset[] = [];
  for (const [producerId, batches] of pending) {
    for (const batch of batches) {
      for (const r of batch.records) {
        if (r.key === null || r.value === null) continue;
        const key = decodeKey(r.key);
        if (key.kind !== "offset") continue;
        out.push({
          producerId,
          groupId: key.groupId,
          topic: key.topic,
          partition: key.partition,
          committed: decodeOffsetValue(r.value),
        });
      }
    }
  }
  return out;
}

function logSettings() {
  return { segmentBytes: SEGMENT_BYTES, maxMessageBytes: SEGMENT_BYTES };
}

function applyRecord(
  offsets: LoadedGroupState["offsets"],
  groups: LoadedGroupState["groups"],
  keyBytes: Uint8Array | null,
  value: Uint8Array | null,
): void {
  if (keyBytes === null) throw new Error("A group log record has no key.");
  const key = decodeKey(keyBytes);
  if (key.kind === "group") {
    if (value === null) groups.delete(key.groupId);
    else groups.set(key.groupId, decodeGroupValue(value));
    return;
  }
  let byTopic = offsets.get(key.groupId);
  if (value === null) {
    byTopic?.get(key.topic)?.delete(key.partition);
    if (byTopic?.get(key.topic)?.size === 0) byTopic.delete(key.topic);
    if (byTopic?.size === 0) offsets.delete(key.groupId);
    return;
  }
  if (byTopic === undefined) offsets.set(key.groupId, byTopic = new Map());
  let byPartition = byTopic.get(key.topic);
  if (byPartition === undefined) byTopic.set(key.topic, byPartition = new Map());
  byPartition.set(key.partition, decodeOffsetValue(value));
}
