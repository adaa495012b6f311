/**
 * The producer-state snapshot file (`<offset>.snapshot`, Kafka's layout of
 * files, our own encoding): version int16, CRC-32C (of what follows the CRC)
 * uint32, entry count int32, then per producer its id, epoch, last
 * timestamp, ongoing transaction and coordinator epoch (version 2) and its
 * last batches. Version 1 files (before transactions) are still read.
 *
 * @module
 */
import { crc32c } from "../protocol/record_batch.ts";
import type { ProducerEntry } from "./producer_state.ts";

/** A snapshot file that cannot be read: the state is rebuilt from the log instead. */
export class SnapshotCorruptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SnapshotCorruptError";
  }
}

/** Version 2 adds the ongoing transaction and the coordinator epoch to each entry. */
const SNAPSHOT_VERSION = 2;
/** Snapshots written before transactions (still read). */
const SNAPSHOT_VERSION_IDEMPOTENT = 1;
/** version i16, crc u32, entry count i32. */
const SNAPSHOT_HEADER_BYTES = 10;
/** Version 1: producerId f64, epoch i16, lastTimestamp f64, batch count u8. */
const ENTRY_BYTES_IDEMPOTENT = 19;
/** Version 2: version 1's, then txn first offset f64, txn last offset f64, coordinator epoch i32. */
const ENTRY_BYTES = 39;
/** firstSeq i32, lastSeq i32, firstOffset f64, lastOffset f64, timestamp f64. */
const BATCH_BYTES = 32;

/** Encodes `entries` as a snapshot. */
export function encodeProducerSnapshot(entries: readonly ProducerEntry[]): Uint8Array {
  let sizeBytes = SNAPSHOT_HEADER_BYTES;
  for (const e of entries) {
    sizeBytes += ENTRY_BYTES + e.batches.length * BATCH_BYTES;
  }
  const bytes = new Uint8Array(sizeBytes);
  const view = new DataView(bytes.buffer);
  view.setInt16(0, SNAPSHOT_VERSION);
  view.setInt32(6, entries.length);
  let p = SNAPSHOT_HEADER_BYTES;
  for (const e of entries) {
    view.setFloat64(p, e.producerId);
    view.setInt16(p + 8, e.producerEpoch);
    view.setFloat64(p + 10, e.lastTimestampMs);
    view.setUint8(p + 18, e.batches.length);
    view.setFloat64(p + 19, e.currentTxnFirstOffset);
    view.setFloat64(p + 27, e.currentTxnLastOffset);
    view.setInt32(p + 35, e.coordinatorEpoch);
    p += ENTRY_BYTES;
    for (const b of e.batches) {
      view.setInt32(p, b.firstSequence);
      view.setInt32(p + 4, b.lastSequence);
      view.setFloat64(p + 8, b.firstOffset);
      view.setFloat64(p + 16, b.lastOffset);
      view.setFloat64(p + 24, b.timestampMs);
      p += BATCH_BYTES;
    }
  }
  view.setUint32(2, crc32c(bytes, 6));
  return bytes;
}

/** Decodes a snapshot read from `path`; throws {@linkcode SnapshotCorruptError} for a bad file. */
export function decodeProducerSnapshot(bytes: Uint8Array, path: string): ProducerEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const corrupt = (why: string) => new SnapshotCorruptError(`Snapshot "${path}" ${why}.`);
  if (bytes.length < SNAPSHOT_HEADER_BYTES) throw corrupt("is truncated");
  const version = view.getInt16(0);
  if (version !== SNAPSHOT_VERSION && version !== SNAPSHOT_VERSION_IDEMPOTENT) {
    throw corrupt(`has version ${version}`);
  }
  const entryBytes = version === SNAPSHOT_VERSION ? ENTRY_BYTES : ENTRY_BYTES_IDEMPOTENT;
  if (view.getUint32(2) !== crc32c(bytes, 6)) throw corrupt("fails its CRC");
  const entries: ProducerEntry[] = [];
  let p = SNAPSHOT_HEADER_BYTES;
  for (let i = view.getInt32(6); i > 0; i--) {
    if (p + entryBytes > bytes.length) throw corrupt("is truncated");
    const batchCount = view.getUint8(p + 18);
    const transactional = version === SNAPSHOT_VERSION;
    const entry: ProducerEntry = {
      producerId: view.getFloat64(p),
      producerEpoch: view.getInt16(p + 8),
      lastTimestampMs: view.getFloat64(p + 10),
      batches: [],
      currentTxnFirstOffset: transactional ? view.getFloat64(p + 19) : -1,
      currentTxnLastOffset: transactional ? view.getFloat64(p + 27) : -1,
      coordinatorEpoch: transactional ? view.getInt32(p + 35) : -1,
    };
    p += entryBytes;
    if (p + batchCount * BATCH_BYTES > bytes.length) throw corrupt("is truncated");
    for (let b = 0; b < batchCount; b++, p += BATCH_BYTES) {
      entry.batches.push({
        firstSequence: view.getInt32(p),
        lastSequence: view.getInt32(p + 4),
        firstOffset: view.getFloat64(p + 8),
        lastOffset: view.getFloat64(p + 16),
        timestampMs: view.getFloat64(p + 24),
      });
    }
    entries.push(entry);
  }
  return entries;
}
