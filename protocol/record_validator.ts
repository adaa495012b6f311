/**
 * The record rules of Kafka's `LogValidator` for a client's RecordBatch v2,
 * checked before a byte is written (the header, size and CRC are checked
 * first by `validateBatches` in `record_batch.ts`):
 *
 * 1. Batch: no control batch from a client, no idempotent batch with a
 *    negative base sequence, no transactional batch without a producer id
 *    (whether the producer's transaction may take the batch is the log's
 *    check, KIP-890), a known compression codec, and a record count that can
 *    fit in the bytes present.
 * 2. Compressed records are inflated (`decompress.ts`) to at most
 *    {@linkcode inflatedBytesMax} bytes: past that the batch is refused with
 *    MESSAGE_TOO_LARGE; bytes the codec cannot read are CORRUPT_MESSAGE.
 *    With a native streaming decoder (gzip, zstd, lz4) the records are read
 *    a window at a time ({@linkcode STREAM_WINDOW_BYTES}, larger only for a
 *    larger record), so a batch is never held inflated whole.
 * 3. Records, through the one reader (`record_reader.ts`): the structure
 *    (INVALID_RECORD at the first bad record, as Kafka's iterator throws),
 *    then for each record the offset delta equal to its index (Kafka's
 *    "incremental offsets"; Kafka rewrites such a batch, we store batches as
 *    received, so we refuse it), a key on a compacted topic, and the
 *    timestamp rules of `message.timestamp.type` (INVALID_TIMESTAMP). These
 *    per-record errors are gathered as Kafka's `recordErrors` (batch index
 *    and message). Finally the record count must match: no bytes left over.
 *
 * An uncompressed batch is read in place with one reused reader: no
 * allocation per record, and none at all for a good batch.
 *
 * @module
 */
import { ErrorCode } from "./error_codes.ts";
import { type InflateStream, openInflateStream } from "./decompress.ts";
import { BATCH_HEADER_BYTES, type RecordBatchView } from "./record_batch.ts";
import { RECORD_BYTES_MIN, RecordReader, scanCommonRecords } from "./record_reader.ts";

/** How many times `max.message.bytes` a compressed batch may inflate to. */
export const INFLATION_RATIO_MAX = 64;
/** The most a compressed batch may inflate to whatever `max.message.bytes` says. */
export const INFLATED_BYTES_CEILING = 256 * 1024 * 1024;
/** Record errors listed in one answer (Kafka lists them all; the message counts them). */
export const RECORD_ERRORS_MAX = 100;
/** Kafka's `RecordBatch.NO_TIMESTAMP`. */
const NO_TIMESTAMP = -1;

/**
 * The bound on a compressed batch's inflated records: {@linkcode INFLATION_RATIO_MAX}
 * times `max.message.bytes` (64 MiB at Kafka's default), at most
 * {@linkcode INFLATED_BYTES_CEILING}, at least `max.message.bytes` itself.
 * Kafka has no such bound; clients batch by uncompressed size (librdkafka's
 * `batch.size`, 1 MB) or by estimated compressed size (the Java client's
 * `batch.size`, 16 KiB), so 64 times leaves room for very compressible data
 * while a "zip bomb" stops at a known cost.
 */
export function inflatedBytesMax(maxMessageBytes: number): number {
  return Math.max(
    maxMessageBytes,
    Math.min(INFLATION_RATIO_MAX * maxMessageBytes, INFLATED_BYTES_CEILING),
  );
}

/** Kafka's `ProduceResponse.RecordError`, with the generated codec's field names. */
export interface RecordError {
  readonly batchIndex: number;
  readonly batchIndexErrorMessage: string | null;
}

/** A batch's records are fine, or why not, as Kafka answers it. */
export type RecordsVerdict =
  | { readonly ok: true }
  | {
    readonly ok: false;
    readonly errorCode: number;
    readonly message: string;
    readonly recordErrors: readonly RecordError[];
  };

/** What {@linkcode validateBatchRecords} checks against. */
export interface RecordValidationOptions {
  /** The broker's clock, for `message.timestamp.*`. */
  readonly nowMs: number;
  /** The topic's `max.message.bytes`, which bounds inflation ({@linkcode inflatedBytesMax}). */
  readonly maxMessageBytes: number;
  /** `cleanup.policy` contains `compact`: every record needs a key. */
  readonly compactedTopic?: boolean;
  /** `message.timestamp.type` (default CreateTime). */
  readonly timestampType?: "CreateTime" | "LogAppendTime";
  /** `message.timestamp.before.max.ms` (default: no bound). */
  readonly timestampBeforeMaxMs?: number;
  /** `message.timestamp.after.max.ms` (default: no bound). */
  readonly timestampAfterMaxMs?: number;
}

const OK: RecordsVerdict = { ok: true };
const COMPRESSION_CODEC_MAX = 4;
/** One reader for every uncompressed validation: validation is synchronous, so it is never shared. */
const reader = new RecordReader();

/** Checks the records of the whole batch `batch` points at; see the module doc. */
export function validateBatchRecords(
  batch: RecordBatchView,
  options: RecordValidationOptions,
): RecordsVerdict {
  const batchError = checkBatch(batch);
  if (batchError !== undefined) return batchError;
  const start = batch.positionBytes + BATCH_HEADER_BYTES;
  const end = batch.positionBytes + batch.sizeBytes;
  const codec = batch.compression;
  if (codec === 0) {
    if (batch.recordCount > (end - start) / RECORD_BYTES_MIN) {
      return countTooLarge(batch, end - start);
    }
    // The common case, a good batch with no timestamp rule to apply, in one pass that stores
    // nothing; anything else is read again by the reader, which names what is wrong.
    const timestampRules = options.timestampBeforeMaxMs !== undefined &&
        options.timestampBeforeMaxMs !== Infinity ||
      options.timestampAfterMaxMs !== undefined && options.timestampAfterMaxMs !== Infinity ||
      batch.isLogAppendTime;
    if (
      !timestampRules &&
      scanCommonRecords(batch.bytes, start, end, batch.recordCount, options.compactedTopic ?? false)
    ) return OK;
    return checkRecords(reader.reset(batch.bytes, start, end), batch, options);
  }
  const boundBytes = inflatedBytesMax(options.maxMessageBytes);
  if (batch.recordCount > boundBytes / RECORD_BYTES_MIN) return countTooLarge(batch, boundBytes);
  const stream = openInflateStream(codec, batch.bytes.subarray(start, end), boundBytes);
  return checkStreamedRecords(stream, batch, options, boundBytes);
}

/** Kafka's `validateBatch` for a client's batch, plus the codec. */
function checkBatch(batch: RecordBatchView): RecordsVerdict | undefined {
  if (batch.isControl) {
    return refuse(ErrorCode.INVALID_RECORD, "Clients are not allowed to write control records");
  }
  if (batch.producerId >= 0 && batch.baseSequence < 0) {
    return refuse(
      ErrorCode.INVALID_RECORD,
      `Invalid sequence number ${batch.baseSequence} in record batch with producerId ${batch.producerId}`,
    );
  }
  if (batch.isTransactional && batch.producerId < 0) {
    return refuse(ErrorCode.INVALID_RECORD, "Transactional batch without a producer id");
  }
  if (batch.compression > COMPRESSION_CODEC_MAX) {
    return refuse(
      ErrorCode.CORRUPT_MESSAGE,
      `Unknown compression codec "${batch.compression}" in the batch attributes`,
    );
  }
  return undefined;
}

function checkRecords(
  reader: RecordReader,
  batch: RecordBatchView,
  options: RecordValidationOptions,
): RecordsVerdict {
  const checks = new RecordChecks(batch, options);
  for (let i = 0; i < checks.recordCount; i++) {
    if (!reader.next()) return structureError(reader, i);
    checks.check(reader, i);
  }
  if (reader.remainingBytes > 0) return trailingBytes();
  return checks.verdict();
}

/** The first bytes of a streamed window; it grows (by doubling) only for a larger record. */
export const STREAM_WINDOW_BYTES = 256 * 1024;
/** The window reused from batch to batch (validation is synchronous); one that grew is dropped. */
const sharedWindow = new Uint8Array(STREAM_WINDOW_BYTES);

/**
 * The records of a compressed batch, inflated a window at a time: records are read from the
 * window, the unread tail moves to its front and the stream refills it. Memory: the window,
 * at least one record; the inflated bytes are counted against `boundBytes`.
 */
function checkStreamedRecords(
  stream: InflateStream,
  batch: RecordBatchView,
  options: RecordValidationOptions,
  boundBytes: number,
): RecordsVerdict {
  const checks = new RecordChecks(batch, options);
  let window = sharedWindow;
  let startBytes = 0;
  let filledBytes = 0;
  let inflatedBytes = 0;
  let ended = false;
  /** Reads more of the stream behind the unread bytes; a verdict when that fails. */
  const refill = (): RecordsVerdict | undefined => {
    window.copyWithin(0, startBytes, filledBytes);
    filledBytes -= startBytes;
    startBytes = 0;
    if (filledBytes === window.length) {
      if (window.length > boundBytes) return refuseTooLarge(boundBytes);
      const grown = new Uint8Array(Math.min(window.length * 2, boundBytes + 1));
      grown.set(window.subarray(0, filledBytes));
      window = grown;
    }
    const n = stream.read(window, filledBytes);
    if (n < 0) return refuseInflate(stream);
    if (n === 0) ended = true;
    filledBytes += n;
    inflatedBytes += n;
    return inflatedBytes > boundBytes ? refuseTooLarge(boundBytes) : undefined;
  };
  for (let i = 0; i < checks.recordCount; i++) {
    for (;;) {
      streamReader.reset(window, startBytes, filledBytes);
      if (streamReader.next()) break;
      const needMore = streamReader.error === undefined || streamReader.truncated;
      if (!needMore || ended) return structureError(streamReader, i);
      const failed = refill();
      if (failed !== undefined) return failed;
    }
    checks.check(streamReader, i);
    startBytes = streamReader.positionBytes;
  }
  if (startBytes === filledBytes && !ended) {
    const failed = refill();
    if (failed !== undefined) return failed;
  }
  if (startBytes < filledBytes) return trailingBytes();
  return checks.verdict();
}

const streamReader = new RecordReader();

/** Kafka's per-record rules (`validateRecord`) and the offset order, with the errors found. */
class RecordChecks {
  readonly recordCount: number;
  readonly #compacted: boolean;
  readonly #createTime: boolean;
  readonly #beforeMaxMs: number;
  readonly #afterMaxMs: number;
  readonly #checkRange: boolean;
  readonly #logAppendTimeBatch: boolean;
  readonly #baseTimestampMs: number;
  readonly #maxTimestampMs: number;
  readonly #nowMs: number;
  #errors: RecordError[] | undefined = undefined;
  #errorCount = 0;
  #timestampError = false;

  constructor(batch: RecordBatchView, options: RecordValidationOptions) {
    this.recordCount = batch.recordCount;
    this.#compacted = options.compactedTopic ?? false;
    this.#createTime = (options.timestampType ?? "CreateTime") === "CreateTime";
    this.#beforeMaxMs = options.timestampBeforeMaxMs ?? Infinity;
    this.#afterMaxMs = options.timestampAfterMaxMs ?? Infinity;
    this.#checkRange = this.#beforeMaxMs !== Infinity || this.#afterMaxMs !== Infinity;
    this.#logAppendTimeBatch = batch.isLogAppendTime;
    this.#baseTimestampMs = batch.baseTimestampMs;
    this.#maxTimestampMs = batch.maxTimestampMs;
    this.#nowMs = options.nowMs;
  }

  /** Checks the record `reader` has just read, the `i`th of the batch. */
  check(reader: RecordReader, i: number): void {
    if (reader.offsetDelta !== i) {
      this.#add(
        i,
        `Inner record with offset delta ${reader.offsetDelta} does not have incremental offsets, expected offset delta is ${i}`,
      );
      return;
    }
    if (this.#compacted && reader.keyLengthBytes < 0) {
      this.#add(i, "Compacted topic cannot accept message without key");
      return;
    }
    if (!this.#checkRange && !this.#logAppendTimeBatch) return; // the common case: no rule left
    const timestampMs = this.#logAppendTimeBatch
      ? this.#maxTimestampMs
      : this.#baseTimestampMs + reader.timestampDelta;
    if (this.#createTime && timestampMs !== NO_TIMESTAMP) {
      if (this.#checkRange) this.#checkTimestamp(i, timestampMs);
    } else if (this.#logAppendTimeBatch) {
      this.#timestampError = true;
      this.#add(
        i,
        "Invalid timestamp type in message. Producer should not set timestamp type to LogAppendTime.",
      );
    }
  }

  #checkTimestamp(i: number, timestampMs: number): void {
    const now = this.#nowMs;
    if (now - timestampMs > this.#beforeMaxMs || timestampMs - now > this.#afterMaxMs) {
      this.#timestampError = true;
      this.#add(
        i,
        `Timestamp ${timestampMs} of message with offset ${i} is out of range. The timestamp should be within [${
          now - this.#beforeMaxMs
        }, ${now + this.#afterMaxMs}]`,
      );
    }
  }

  #add(batchIndex: number, message: string): void {
    this.#errorCount++;
    this.#errors ??= [];
    if (this.#errors.length < RECORD_ERRORS_MAX) {
      this.#errors.push({ batchIndex, batchIndexErrorMessage: message });
    }
  }

  /** Kafka's `processRecordErrors`: INVALID_TIMESTAMP if a timestamp failed, else INVALID_RECORD. */
  verdict(): RecordsVerdict {
    const errors = this.#errors;
    if (errors === undefined) return OK;
    if (this.#timestampError) {
      return refuse(
        ErrorCode.INVALID_TIMESTAMP,
        "One or more records have been rejected due to invalid timestamp",
        errors,
      );
    }
    return refuse(
      ErrorCode.INVALID_RECORD,
      `One or more records have been rejected due to ${this.#errorCount} record errors in total, and only showing the first three errors at most: ${
        errors.slice(0, 3).map((e) => `${e.batchIndex}: ${e.batchIndexErrorMessage}`).join("; ")
      }`,
      errors,
    );
  }
}

/** The record structure is bad: Kafka's iterator throws, INVALID_RECORD naming the record. */
function structureError(reader: RecordReader, i: number): RecordsVerdict {
  const message = reader.error ?? "Incorrect declared batch size, premature EOF reached";
  return refuse(ErrorCode.INVALID_RECORD, message, [{
    batchIndex: i,
    batchIndexErrorMessage: message,
  }]);
}

function trailingBytes(): RecordsVerdict {
  return refuse(
    ErrorCode.INVALID_RECORD,
    "Incorrect declared batch size, records still remaining in file",
  );
}

function refuseTooLarge(boundBytes: number): RecordsVerdict {
  return refuse(ErrorCode.MESSAGE_TOO_LARGE, `Decompressed records exceed ${boundBytes} bytes`);
}

function refuseInflate(stream: InflateStream): RecordsVerdict {
  const message = stream.error ?? "The records do not decompress";
  return refuse(stream.tooLarge ? ErrorCode.MESSAGE_TOO_LARGE : ErrorCode.CORRUPT_MESSAGE, message);
}

function countTooLarge(batch: RecordBatchView, bytes: number): RecordsVerdict {
  return refuse(
    ErrorCode.INVALID_RECORD,
    `Record count "${batch.recordCount}" cannot fit in ${bytes} bytes of records`,
  );
}

function refuse(
  errorCode: number,
  message: string,
  recordErrors: readonly RecordError[] = [],
): RecordsVerdict {
  return { ok: false, errorCode, message, recordErrors };
}
