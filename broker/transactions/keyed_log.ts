/**
 * One partition of an internal, compacted log of keyed records (here a
 * partition of `__transaction_state`), kept as the group log is (see
 * `broker/groups/offset_store.ts`): an internal {@linkcode PartitionLog}
 * whose every append is flushed (fdatasync) before it returns, replayed at
 * start, and rewritten from the live records into a fresh generation once it
 * has doubled since the last rewrite: `<dir>/log-<N>/` holds generation N and
 * `<dir>/CURRENT` (written atomically) names it, so a crash mid-rewrite leaves
 * the old generation in force.
 *
 * @module
 */
import { Errno, IoError, type Libc } from "../../ffi/port.ts";
import { decodeRecordBatches, encodeRecordBatch } from "../../protocol/records.ts";
import { PartitionLog } from "../../storage/partition_log.ts";

/** Segment size of internal logs (Kafka's transaction.state.log.segment.bytes). */
const SEGMENT_BYTES = 104857600;
/** Bytes read per step while replaying. */
const REPLAY_READ_BYTES = 4 * 1024 * 1024;
/** The control flag of a batch's attributes (none in these logs; skipped if found). */
const CONTROL_ATTRIBUTE = 0x20;
/** Records per batch when rewriting. */
const REWRITE_BATCH_RECORDS = 1000;

/** One record: a key and a value, or null for a tombstone. */
export interface KeyedRecord {
  readonly key: Uint8Array;
  readonly value: Uint8Array | null;
}

/** See the module doc. */
export class KeyedLog {
  readonly #libc: Libc;
  readonly #dir: string;
  #generation: number;
  #log: PartitionLog;
  #sizeAfterCompactBytes: number;

  /** Opens (or creates) the log in `dir`; {@linkcode KeyedLog.replay} reads it back. */
  constructor(libc: Libc, dir: string) {
    this.#libc = libc;
    this.#dir = dir;
    libc.mkdirp(dir);
    this.#generation = readGeneration(libc, `${dir}/CURRENT`);
    for (const entry of libc.readdir(dir)) {
      if (entry.isDirectory && entry.name !== `log-${this.#generation}`) {
        libc.removeTree(`${dir}/${entry.name}`); // an interrupted or superseded rewrite
      }
    }
    this.#log = PartitionLog.open(libc, this.#generationDir(this.#generation), logSettings());
    this.#sizeAfterCompactBytes = this.#log.sizeBytes;
  }

  /** Bytes in the current generation. */
  get sizeBytes(): number {
    return this.#log.sizeBytes;
  }

  /** Appends `records` as one batch and flushes; throws IoError (then nothing is acknowledged). */
  append(records: readonly KeyedRecord[], nowMs: number): void {
    if (records.length === 0) return;
    const batch = encodeRecordBatch(records.map((r) => ({ ...r, timestampMs: nowMs })));
    const result = this.#log.append(batch, { nowMs });
    if (!result.ok) {
      throw result.cause ?? new Error(`Internal log append failed: ${result.message}.`);
    }
    this.#log.flush();
  }

  /** Calls `visit` with every record in log order. */
  replay(visit: (key: Uint8Array, value: Uint8Array | null) => void): void {
    replayKeyedRecords(this.#libc, this.#log, this.#log.logEndOffset, this.#dir, visit);
  }

  /** Rewrites from `snapshot()` when the log has doubled since the last rewrite and passed `minBytes`. */
  maybeCompact(minBytes: number, nowMs: number, snapshot: () => KeyedRecord[]): boolean {
    const size = this.#log.sizeBytes;
    if (size < minBytes || size < 2 * this.#sizeAfterCompactBytes) return false;
    this.compact(snapshot(), nowMs);
    return true;
  }

  /** Writes `live` into a new generation, switches `CURRENT` to it, drops the old one. */
  compact(live: readonly KeyedRecord[], nowMs: number): void {
    const next = this.#generation + 1;
    const dir = this.#generationDir(next);
    this.#libc.removeTree(dir);
    const fresh = PartitionLog.open(this.#libc, dir, logSettings());
    try {
      for (let i = 0; i < live.length; i += REWRITE_BATCH_RECORDS) {
        const chunk = live.slice(i, i + REWRITE_BATCH_RECORDS).map((r) => ({
          ...r,
          timestampMs: nowMs,
        }));
        const result = fresh.append(encodeRecordBatch(chunk), { nowMs });
        if (!result.ok) {
          throw result.cause ?? new Error(`Internal log rewrite failed: ${result.message}.`);
        }
      }
      fresh.flush();
    } catch (e) {
      fresh.deleteFiles();
      throw e;
    }
    this.#libc.writeFileAtomic(`${this.#dir}/CURRENT`, new TextEncoder().encode(`${next}\n`));
    const old = this.#log;
    const oldDir = this.#generationDir(this.#generation);
    this.#log = fresh;
    this.#generation = next;
    this.#sizeAfterCompactBytes = fresh.sizeBytes;
    old.close();
    this.#libc.removeTree(oldDir);
  }

  /** Flushes and closes the log. */
  close(): void {
    this.#log.close();
  }

  #generationDir(generation: number): string {
    return `${this.#dir}/log-${generation}`;
  }
}

function readGeneration(libc: Libc, path: string): number {
  try {
    const generation = Number(new TextDecoder().decode(libc.readFile(path)).trim());
    if (!Number.isSafeInteger(generation) || generation < 0) {
      throw new Error(`Corrupt internal log pointer "${path}".`);
    }
    return generation;
  } catch (e) {
    if (e instanceof IoError && e.errno === Errno.ENOENT) return 0;
    throw e;
  }
}

function logSettings() {
  return { segmentBytes: SEGMENT_BYTES, maxMessageBytes: SEGMENT_BYTES };
}

/**
 * Calls `visit` with every record of `log` below `endOffset`, in log order (a keyed internal
 * log: this one, or a replicated `__transaction_state` partition); `label` names it in errors.
 */
export function replayKeyedRecords(
  libc: Libc,
  log: PartitionLog,
  endOffset: number,
  label: string,
  visit: (key: Uint8Array, value: Uint8Array | null) => void,
): void {
  let next = log.logStartOffset;
  while (next < endOffset) {
    const read = log.read(next, REPLAY_READ_BYTES);
    if (read.errorCode !== 0 || read.slices.length === 0) {
      throw new Error(`Cannot read "${label}" at offset ${next} (error ${read.errorCode}).`);
    }
    const bytes = new Uint8Array(read.sizeBytes);
    let at = 0;
    for (const slice of read.slices) {
      const view = bytes.subarray(at, at + slice.sizeBytes);
      let done = 0;
      while (done < view.length) {
        const n = libc.pread(slice.fd, view.subarray(done), slice.positionBytes + done);
        if (n <= 0) throw new Error(`Short read of "${label}" at offset ${next}.`);
        done += n;
      }
      at += slice.sizeBytes;
    }
    const batches = decodeRecordBatches(bytes);
    if (batches.length === 0) throw new Error(`Undecodable batch in "${label}" at ${next}.`);
    for (const batch of batches) {
      const isControl = (batch.attributes & CONTROL_ATTRIBUTE) !== 0;
      for (const record of isControl ? [] : batch.records) {
        if (record.offset >= endOffset) break;
        if (record.key === null) throw new Error(`A record in "${label}" has no key.`);
        visit(record.key, record.value);
      }
      next = batch.lastOffset + 1;
    }
  }
}
