/**
 * Reading records from a partition for the HTTP API: the fetch pipeline's
 * file slices are read with pread (right away, so their fds are valid),
 * compressed batches are inflated (`protocol/decompress.ts`, bounded as
 * produce bounds them), batches are decoded with `protocol/records.ts` (the
 * one record reader), and records before the asked offset or past the
 * record limit are dropped. Control batches (transaction markers) are skipped.
 *
 * @module
 */
import type { Libc } from "../../ffi/port.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import {
  BATCH_HEADER_BYTES,
  BATCH_LOG_OVERHEAD_BYTES,
  BatchField,
  RecordBatchView,
} from "../../protocol/record_batch.ts";
import { type DecodedRecord, decodeRecordBatch } from "../../protocol/records.ts";
import type { PartitionLog } from "../../storage/partition_log.ts";
import { HttpError, HttpErrorCode } from "./codec.ts";
import { inflate } from "../../protocol/decompress.ts";
import { inflatedBytesMax } from "../../protocol/record_validator.ts";

/** Limits of one read. */
export interface ReadLimits {
  readonly offset: number;
  readonly maxRecords: number;
  /** Bytes of stored batches to read (at least one whole batch is read). */
  readonly maxBytes: number;
}

/** Records read, and where to continue. */
export interface RecordsRead {
  readonly records: DecodedRecord[];
  /** The offset to read next. */
  readonly nextOffset: number;
  readonly highWatermark: number;
  readonly logStartOffset: number;
  /** Stored (possibly compressed) bytes read. */
  readonly sizeBytes: number;
}

const COMPRESSION_MASK = 0x07;

/** Reads records at or after `limits.offset`; throws OFFSET_OUT_OF_RANGE (416) outside the log. */
export function readRecords(log: PartitionLog, libc: Libc, limits: ReadLimits): RecordsRead {
  const read = log.read(limits.offset, limits.maxBytes);
  const base = { highWatermark: read.highWatermark, logStartOffset: read.logStartOffset };
  if (read.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
    throw new HttpError(
      416,
      HttpErrorCode.OFFSET_OUT_OF_RANGE,
      `Offset ${limits.offset} is outside the log (${read.logStartOffset}..${read.highWatermark}).`,
    );
  }
  if (read.errorCode !== ErrorCode.NONE) {
    throw new HttpError(500, HttpErrorCode.INTERNAL, "The partition could not be read.");
  }
  const bytes = new Uint8Array(read.sizeBytes);
  let p = 0;
  for (const slice of read.slices) {
    for (let done = 0; done < slice.sizeBytes;) {
      const n = libc.pread(
        slice.fd,
        bytes.subarray(p + done, p + slice.sizeBytes),
        slice.positionBytes + done,
      );
      if (n === 0) break;
      done += n;
    }
    p += slice.sizeBytes;
  }
  const records: DecodedRecord[] = [];
  let nextOffset = limits.offset;
  const view = new RecordBatchView(bytes);
  for (
    let at = 0;
    at + BATCH_LOG_OVERHEAD_BYTES <= bytes.length && records.length < limits.maxRecords;
  ) {
    view.moveTo(at);
    const sizeBytes = view.sizeBytes;
    if (sizeBytes < BATCH_HEADER_BYTES || at + sizeBytes > bytes.length) break;
    if (!view.isControl) {
      const batch = decodeStoredBatch(
        bytes.subarray(at, at + sizeBytes),
        log.config.maxMessageBytes,
      );
      for (const r of batch.records) {
        if (r.offset < limits.offset) continue;
        if (records.length >= limits.maxRecords) break;
        records.push(r);
        nextOffset = r.offset + 1;
      }
    }
    if (records.length < limits.maxRecords) nextOffset = Math.max(nextOffset, view.lastOffset + 1);
    at += sizeBytes;
  }
  return { records, nextOffset, sizeBytes: read.sizeBytes, ...base };
}

/**
 * Decodes one stored batch, inflating its records first when needed (to at most
 * `inflatedBytesMax(maxMessageBytes)`); bad bytes are an HttpError 500.
 */
export function decodeStoredBatch(
  batch: Uint8Array,
  maxMessageBytes: number,
): ReturnType<typeof decodeRecordBatch> {
  const view = new RecordBatchView(batch);
  const codec = view.compression;
  if (codec === 0) return decodeOrHttpError(batch, view);
  const inflated = inflate(
    codec,
    batch.subarray(BATCH_HEADER_BYTES),
    inflatedBytesMax(maxMessageBytes),
  );
  if (!inflated.ok) {
    throw new HttpError(
      500,
      HttpErrorCode.INTERNAL,
      `The batch at offset ${view.baseOffset} cannot be decompressed: ${inflated.message}`,
    );
  }
  const payload = inflated.bytes;
  const plain = new Uint8Array(BATCH_HEADER_BYTES + payload.length);
  plain.set(batch.subarray(0, BATCH_HEADER_BYTES));
  plain.set(payload, BATCH_HEADER_BYTES);
  const dv = new DataView(plain.buffer);
  dv.setInt32(BatchField.batchLength, plain.length - BATCH_LOG_OVERHEAD_BYTES);
  dv.setInt16(BatchField.attributes, view.attributes & ~COMPRESSION_MASK);
  return decodeOrHttpError(plain, view);
}

function decodeOrHttpError(
  batch: Uint8Array,
  stored: RecordBatchView,
): ReturnType<typeof decodeRecordBatch> {
  try {
    return decodeRecordBatch(batch);
  } catch (e) {
    throw new HttpError(
      500,
      HttpErrorCode.INTERNAL,
      `The batch at offset ${stored.baseOffset} cannot be read: ${(e as Error).message}`,
    );
  }
}
