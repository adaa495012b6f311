/**
 * One log segment (Kafka's `LogSegment`): the `.log` file and its writer, the
 * offset and time indexes, and the header scans that turn an offset or a
 * timestamp into a file position (in `segment_scan.ts`). Record bytes are
 * never read into the heap, except by recovery (CRC check) and the timestamp
 * search inside one batch.
 *
 * @module
 */

import { assert } from "../util/assert.ts";
import { type Libc, OpenFlags } from "../ffi/port.ts";
import { type BatchInfo, RecordBatchView } from "../protocol/record_batch.ts";
import { BatchHeaderReader } from "./_batch_headers.ts";
import { IndexCorruptError } from "./_index_file.ts";
import type { LogConfig } from "./log_config.ts";
import {
  INDEX_FILE_SUFFIX,
  LOG_FILE_SUFFIX,
  type SegmentFileSuffix,
  segmentPath,
  TIME_INDEX_FILE_SUFFIX,
  TXN_INDEX_FILE_SUFFIX,
} from "./log_files.ts";
import { TransactionIndex, TxnIndexCorruptError } from "./txn_index.ts";
import { OffsetIndex } from "./offset_index.ts";
import { type BatchEnd, type BatchPosition, SegmentScanner } from "./segment_scan.ts";
import { createSegmentWriter, type SegmentWriter } from "./segment_writer.ts";
import { TimeIndex, type TimestampOffset } from "./time_index.ts";

export type { BatchEnd, BatchPosition } from "./segment_scan.ts";

/** Options of {@linkcode Segment.open}. */
export interface SegmentOpenOptions {
  readonly dir: string;
  readonly baseOffset: number;
  readonly config: LogConfig;
  readonly nowMs: number;
  /** The last segment: writable indexes and a writer. */
  readonly active: boolean;
  /** Scan every batch (CRC included), rebuild both indexes and cut a torn tail. */
  readonly recover: boolean;
}

const OPEN_FLAGS = OpenFlags.O_RDWR | OpenFlags.O_CREAT | OpenFlags.O_CLOEXEC;

/** See the module doc. */
export class Segment {
  readonly baseOffset: number;
  readonly logPath: string;
  /** The `.log` fd, for {@linkcode FileSlice}s. */
  readonly logFd: number;
  readonly offsetIndex: OffsetIndex;
  readonly timeIndex: TimeIndex;
  /** The aborted transactions whose markers are in this segment (`.txnindex`). */
  readonly txnIndex: TransactionIndex;
  /** The `.txnindex` file was unreadable and was deleted: the loader rebuilds it from the log. */
  txnIndexLost = false;
  /** When this process created or opened the segment (Kafka's `created`). */
  readonly createdMs: number;
  readonly #libc: Libc;
  readonly #headers: BatchHeaderReader;
  readonly #scanner: SegmentScanner;
  #config: LogConfig;
  #writer: SegmentWriter | undefined = undefined;
  #sizeBytes = 0;
  #nextOffset: number;
  #maxTimestamp: TimestampOffset;
  /** maxTimestamp of the first batch, or -1 (Kafka's `rollingBasedTimestamp`). */
  #firstBatchTimestampMs = -1;
  #bytesSinceLastIndexEntry = 0;
  /** Bytes cut off a torn tail by recovery. */
  truncatedBytes = 0;
  /** Whether this open ran recovery (a CRC scan of every batch) over a non-empty file. */
  recovered = false;
  /** A flush failed: the writer refuses everything; only reopening (recovery) helps. */
  #flushFailed = false;
  /** Bytes may be in the page cache only (appended, or kept by recovery, since the last flush). */
  #unsynced = false;
  /** Bumped by every change of the log's bytes: an async flush clears `#unsynced` only if none came. */
  #changes = 0;

  private constructor(
    libc: Libc,
    options: SegmentOpenOptions,
    logFd: number,
    indexes: [OffsetIndex, TimeIndex],
    txnIndex: TransactionIndex,
  ) {
    this.#libc = libc;
    this.#config = options.config;
    this.baseOffset = options.baseOffset;
    this.logPath = segmentPath(options.dir, options.baseOffset, LOG_FILE_SUFFIX);
    this.logFd = logFd;
    this.#headers = new BatchHeaderReader(libc, logFd, this.logPath);
    [this.offsetIndex, this.timeIndex] = indexes;
    this.txnIndex = txnIndex;
    this.#scanner = new SegmentScanner(this.#headers, this.offsetIndex, this.timeIndex);
    this.createdMs = options.nowMs;
    this.#nextOffset = options.baseOffset;
    this.#maxTimestamp = { timestampMs: -1, offset: options.baseOffset };
  }

  /** Opens (or creates) the segment at `baseOffset`; see {@linkcode SegmentOpenOptions}. */
  static open(libc: Libc, options: SegmentOpenOptions): Segment {
    const logPath = segmentPath(options.dir, options.baseOffset, LOG_FILE_SUFFIX);
    const logFd = libc.open(logPath, OPEN_FLAGS, 0o644);
    const indexes: (OffsetIndex | TimeIndex)[] = [];
    try {
      // A missing index (deleted by hand, or a crash during a swap) is rebuilt from the log.
      let recover = options.recover || (libc.fileSize(logFd) > 0 && !(
        libc.exists(segmentPath(options.dir, options.baseOffset, INDEX_FILE_SUFFIX)) &&
        libc.exists(segmentPath(options.dir, options.baseOffset, TIME_INDEX_FILE_SUFFIX))
      ));
      const openIndex = <T>(suffix: SegmentFileSuffix, make: (path: string) => T): T => {
        const path = segmentPath(options.dir, options.baseOffset, suffix);
        try {
          return make(path);
        } catch (error) {
          if (!(error instanceof IndexCorruptError)) throw error;
          libc.unlink(path);
          recover = true;
          return make(path);
        }
      };
      const indexOptions = {
        baseOffset: options.baseOffset,
        maxIndexBytes: options.config.segmentIndexBytes,
        writable: options.active,
      };
      indexes.push(openIndex(INDEX_FILE_SUFFIX, (p) => OffsetIndex.open(libc, p, indexOptions)));
      indexes.push(openIndex(TIME_INDEX_FILE_SUFFIX, (p) => TimeIndex.open(libc, p, indexOptions)));
      const txnPath = segmentPath(options.dir, options.baseOffset, TXN_INDEX_FILE_SUFFIX);
      let txnIndexLost = false;
      let txnIndex: TransactionIndex;
      try {
        txnIndex = TransactionIndex.open(libc, txnPath);
      } catch (error) {
        if (!(error instanceof TxnIndexCorruptError)) throw error;
        libc.unlink(txnPath);
        txnIndex = TransactionIndex.open(libc, txnPath);
        txnIndexLost = true;
      }
      const segment = new Segment(
        libc,
        options,
        logFd,
        indexes as [OffsetIndex, TimeIndex],
        txnIndex,
      );
      segment.txnIndexLost = txnIndexLost;
      segment.#load(recover);
      if (options.active) {
        segment.#writer = createSegmentWriter(options.config.writerKind, libc, {
          fd: logFd,
          path: logPath,
          sizeBytes: segment.#sizeBytes,
          mmapChunkBytes: options.config.mmapChunkBytes,
        });
      } else if (segment.offsetIndex.isWritable) {
        segment.#trimIndexes(); // rebuilt by recovery
      }
      return segment;
    } catch (error) {
      for (const index of indexes) index.close();
      libc.close(logFd);
      throw error;
    }
  }

  /** Bytes of valid batches. */
  get sizeBytes(): number {
    return this.#writer?.sizeBytes ?? this.#sizeBytes;
  }
  /** The offset after the last batch (baseOffset when empty). */
  get nextOffset(): number {
    return this.#nextOffset;
  }
  /** The largest batch maxTimestamp and the last offset of its batch; (-1, baseOffset) when empty. */
  get maxTimestamp(): TimestampOffset {
    return this.#maxTimestamp;
  }
  get isActive(): boolean {
    return this.#writer !== undefined;
  }
  /** A flush of this segment failed; appends are refused until the partition reopens it. */
  get flushFailed(): boolean {
    return this.#flushFailed;
  }

  /** Applies changed topic settings (segment.bytes, segment.ms, index.interval.bytes). */
  setConfig(config: LogConfig): void {
    this.#config = config;
  }

  /**
   * Kafka's `shouldRoll`: the append would take the segment past `segment.bytes`, `segment.ms`
   * has passed since its first batch, an index is full, or `lastOffset` does not fit an index entry.
   */
  shouldRoll(
    append: { sizeBytes: number; lastOffset: number; maxTimestampMs: number; nowMs: number },
  ): boolean {
    const sizeBytes = this.sizeBytes;
    const waitedMs = this.#firstBatchTimestampMs >= 0
      ? append.maxTimestampMs - this.#firstBatchTimestampMs
      : append.nowMs - this.createdMs;
    return sizeBytes > this.#config.segmentBytes - append.sizeBytes ||
      (sizeBytes > 0 && waitedMs > this.#config.segmentMs) ||
      this.offsetIndex.isFull || this.timeIndex.isFull ||
      !this.offsetIndex.canHoldOffset(append.lastOffset);
  }

  /**
   * Appends `bytes` (whole batches with final offsets) and indexes them. All or nothing: an
   * `IoError` from the writer leaves the segment unchanged.
   */
  append(bytes: Uint8Array, batches: readonly BatchInfo[]): void {
    const writer = this.#writer;
    assert(writer !== undefined, `Segment ${this.baseOffset} is not active`);
    const view = new RecordBatchView(bytes);
    const lastBatch = batches[batches.length - 1];
    const lastOffset = view.moveTo(lastBatch.positionBytes).baseOffset + lastBatch.lastOffsetDelta;
    assert(
      view.moveTo(batches[0].positionBytes).baseOffset >= this.#nextOffset,
      "Offsets must grow",
    );
    assert(
      this.offsetIndex.canHoldOffset(lastOffset),
      `Offset ${lastOffset} is out of range for segment ${this.baseOffset}`,
    );
    let positionBytes = writer.sizeBytes;
    writer.append(bytes);
    this.#unsynced = true;
    this.#changes++;
    for (const batch of batches) {
      this.#indexBatch(
        positionBytes,
        view.moveTo(batch.positionBytes).baseOffset + batch.lastOffsetDelta,
        batch.maxTimestampMs,
        batch.sizeBytes,
      );
      positionBytes += batch.sizeBytes;
    }
    this.#nextOffset = lastOffset + 1;
  }

  /** The first batch whose last offset is >= `targetOffset` (see `segment_scan.ts`). */
  findBatch(targetOffset: number): BatchPosition | undefined {
    return this.#scanner.findBatch(targetOffset, this.sizeBytes);
  }

  /**
   * The end of the last whole batch from `fromPositionBytes` that ends at or below
   * `limitPositionBytes`, and the offset of what follows it (this segment's next offset when the
   * end is the segment's end).
   */
  batchEndAtOrBelow(fromPositionBytes: number, limitPositionBytes: number): BatchEnd {
    const end = this.#scanner.batchEndAtOrBelow(
      fromPositionBytes,
      limitPositionBytes,
      this.sizeBytes,
    );
    return end.nextOffset >= 0
      ? end
      : { positionBytes: end.positionBytes, nextOffset: this.nextOffset };
  }

  /** The first record with timestamp >= `timestampMs` and offset >= `offsetMin`, if any. */
  findOffsetByTimestamp(timestampMs: number, offsetMin: number): TimestampOffset | undefined {
    return this.#scanner.findOffsetByTimestamp(timestampMs, offsetMin, this.sizeBytes);
  }

  /**
   * Makes appended bytes durable. Indexes are rebuilt by recovery, so only the log is synced;
   * a segment with nothing appended (or kept by recovery) since its last flush needs no sync.
   */
  flush(): void {
    this.txnIndex.flush();
    if (!this.#unsynced) return;
    try {
      this.#writer?.flush();
      this.#unsynced = false;
    } catch (error) {
      this.#flushFailed = true;
      throw error;
    }
  }

  /**
   * {@linkcode flush} off the JS thread: makes the bytes appended before the call durable
   * while appends go on. A segment that rolled meanwhile was synced by its roll.
   */
  async flushAsync(): Promise<void> {
    const writer = this.#writer;
    if (!this.#unsynced || writer === undefined) return;
    const changes = this.#changes;
    try {
      await writer.flushAsync();
      if (changes === this.#changes) this.#unsynced = false;
    } catch (error) {
      this.#flushFailed = true;
      throw error;
    }
  }

  /** Calls `visit` with each batch header from the one holding `fromOffset`; false stops. */
  forEachBatch(
    fromOffset: number,
    visit: (header: RecordBatchView, positionBytes: number) => boolean | void,
  ): void {
    this.#scanner.forEachBatch(fromOffset, this.sizeBytes, visit);
  }

  /** Reads `sizeBytes` of the log at `positionBytes` into a new buffer (the cleaner). */
  readBytes(positionBytes: number, sizeBytes: number): Uint8Array {
    assert(positionBytes + sizeBytes <= this.sizeBytes, "Read past the end of the segment");
    return this.#headers.readBatch(positionBytes, sizeBytes);
  }

  /**
   * Takes the segment out of service without touching its files (they may already belong
   * to a replacement): drops the writer and the index mappings, keeps the log fd open for
   * reads in flight until {@linkcode closeFd}.
   */
  retire(): void {
    try {
      this.#writer?.close();
    } finally {
      this.#writer = undefined;
      this.offsetIndex.close();
      this.timeIndex.close();
      this.txnIndex.close();
    }
  }

  /** Closes the log fd of a retired segment. */
  closeFd(): void {
    this.#libc.close(this.logFd);
  }

  /** Kafka's `onBecomeInactiveSegment` + flush: final time index entry, sync, trim, drop the writer. */
  makeInactive(): void {
    const writer = this.#writer;
    assert(writer !== undefined, `Segment ${this.baseOffset} is not active`);
    // Everything that may fail runs while the segment is still active, so a failed roll can
    // be retried by the next append.
    this.flush();
    this.timeIndex.maybeAppend(this.#maxTimestamp.timestampMs, this.#maxTimestamp.offset);
    this.offsetIndex.flush();
    this.timeIndex.flush();
    this.#sizeBytes = writer.sizeBytes;
    writer.close();
    this.#writer = undefined;
    this.#trimIndexes();
  }

  /** Closes without syncing the log (callers flush first): trims indexes, releases the writer and fd. */
  close(): void {
    try {
      if (this.#writer !== undefined) {
        this.timeIndex.maybeAppend(this.#maxTimestamp.timestampMs, this.#maxTimestamp.offset);
        this.#sizeBytes = this.#writer.sizeBytes;
        this.#writer.close();
        this.#writer = undefined;
        this.#trimIndexes();
      }
    } finally {
      this.offsetIndex.close();
      this.timeIndex.close();
      this.txnIndex.close();
      this.#libc.close(this.logFd);
    }
  }

  /** Closes without trimming or syncing, then deletes its files. */
  delete(): void {
    try {
      this.#writer?.close();
    } finally {
      this.#writer = undefined;
      this.offsetIndex.close();
      this.timeIndex.close();
      this.txnIndex.delete();
      this.#libc.close(this.logFd);
    }
    for (const path of [this.logPath, this.offsetIndex.path, this.timeIndex.path]) {
      if (this.#libc.exists(path)) this.#libc.unlink(path);
    }
  }

  #indexBatch(
    positionBytes: number,
    lastOffset: number,
    maxTimestampMs: number,
    batchSizeBytes: number,
  ): void {
    if (positionBytes === 0) this.#firstBatchTimestampMs = maxTimestampMs;
    if (maxTimestampMs > this.#maxTimestamp.timestampMs) {
      this.#maxTimestamp = { timestampMs: maxTimestampMs, offset: lastOffset };
    }
    if (
      this.#bytesSinceLastIndexEntry > this.#config.indexIntervalBytes && !this.offsetIndex.isFull
    ) {
      this.offsetIndex.append(lastOffset, positionBytes);
      this.timeIndex.maybeAppend(this.#maxTimestamp.timestampMs, this.#maxTimestamp.offset);
      this.#bytesSinceLastIndexEntry = 0;
    }
    this.#bytesSinceLastIndexEntry += batchSizeBytes;
  }

  #trimIndexes(): void {
    this.offsetIndex.flush();
    this.timeIndex.flush();
    this.offsetIndex.trimToValidSize();
    this.timeIndex.trimToValidSize();
  }

  /** Loads sizes and offsets: trusting the (sanity-checked) indexes, or by full recovery. */
  #load(recover: boolean): void {
    const fileSizeBytes = this.#libc.fileSize(this.logFd);
    const header = this.#headers.header;
    if (!recover) {
      try {
        this.offsetIndex.sanityCheck(fileSizeBytes);
        const last = this.offsetIndex.lastEntry();
        let p = last.positionBytes;
        let nextOffset = this.baseOffset;
        for (; p < fileSizeBytes; p += header.sizeBytes) {
          if (!this.#headers.tryRead(p, fileSizeBytes)) {
            throw new IndexCorruptError(this.logPath, `bad batch at ${p}`);
          }
          nextOffset = header.lastOffset + 1;
        }
        this.timeIndex.sanityCheck(nextOffset);
        this.#sizeBytes = fileSizeBytes;
        this.#nextOffset = nextOffset;
        this.#maxTimestamp = this.timeIndex.lastEntry();
        this.#bytesSinceLastIndexEntry = fileSizeBytes - last.positionBytes;
        if (fileSizeBytes > 0 && this.#headers.tryRead(0, fileSizeBytes)) {
          this.#firstBatchTimestampMs = header.maxTimestampMs;
        }
        return;
      } catch (error) {
        if (!(error instanceof IndexCorruptError)) throw error;
      }
    }
    this.#recover(fileSizeBytes);
  }

  /** Kafka's `LogSegment.recover`: CRC-check every batch, rebuild the indexes, cut the invalid tail. */
  #recover(fileSizeBytes: number): void {
    const header = this.#headers.header;
    this.offsetIndex.makeWritable();
    this.timeIndex.makeWritable();
    this.offsetIndex.clear();
    this.timeIndex.clear();
    this.#bytesSinceLastIndexEntry = 0;
    this.#maxTimestamp = { timestampMs: -1, offset: this.baseOffset };
    let p = 0;
    while (p < fileSizeBytes && this.#headers.tryRead(p, fileSizeBytes)) {
      const batchSizeBytes = header.sizeBytes;
      const lastOffset = header.lastOffset;
      const baseOffset = header.baseOffset;
      const maxTimestampMs = header.maxTimestampMs;
      if (baseOffset < this.#nextOffset || !this.offsetIndex.canHoldOffset(lastOffset)) break;
      const batch = new RecordBatchView(this.#headers.readBatch(p, batchSizeBytes));
      if (!batch.isCrcValid()) break;
      this.#indexBatch(p, lastOffset, maxTimestampMs, batchSizeBytes);
      this.#nextOffset = lastOffset + 1;
      p += batchSizeBytes;
    }
    this.recovered = fileSizeBytes > 0;
    this.#unsynced = fileSizeBytes > 0; // what recovery kept may be in the page cache only
    this.truncatedBytes = fileSizeBytes - p;
    this.#sizeBytes = p;
    if (this.truncatedBytes > 0) this.#libc.ftruncate(this.logFd, p);
  }
}
