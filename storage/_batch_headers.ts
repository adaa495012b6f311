/**
 * Reading batch headers (and, for recovery and timestamp search, whole
 * batches) from a segment file with pread.
 *
 * @module
 */

import { assert } from "../util/assert.ts";
import { Errno, IoError, type Libc } from "../ffi/port.ts";
import { BATCH_HEADER_BYTES, BATCH_MAGIC_V2, RecordBatchView } from "../protocol/record_batch.ts";

/** A reader of one file's batch headers; {@linkcode header} holds the last one read. */
export class BatchHeaderReader {
  /** The last header read (a view over a 61-byte buffer reused by every read). */
  readonly header: RecordBatchView = new RecordBatchView(new Uint8Array(BATCH_HEADER_BYTES));
  readonly #libc: Libc;
  readonly #fd: number;
  readonly #path: string;

  constructor(libc: Libc, fd: number, path: string) {
    this.#libc = libc;
    this.#fd = fd;
    this.#path = path;
  }

  /** Reads the header at `positionBytes`; false when it is torn, overruns `limitBytes` or is not v2. */
  tryRead(positionBytes: number, limitBytes: number): boolean {
    if (limitBytes - positionBytes < BATCH_HEADER_BYTES) return false;
    this.#preadFully(this.header.bytes, positionBytes);
    const h = this.header;
    const sizeBytes = h.sizeBytes;
    return sizeBytes >= BATCH_HEADER_BYTES && positionBytes + sizeBytes <= limitBytes &&
      h.magic === BATCH_MAGIC_V2 && h.lastOffsetDelta >= 0;
  }

  /** Reads a header that must be valid (it was written by this process or passed recovery). */
  read(positionBytes: number, limitBytes: number): RecordBatchView {
    assert(
      this.tryRead(positionBytes, limitBytes),
      `Invalid batch header at ${positionBytes} of "${this.#path}"`,
    );
    return this.header;
  }

  /** Reads a whole batch into a new buffer (recovery's CRC check, timestamp search). */
  readBatch(positionBytes: number, sizeBytes: number): Uint8Array {
    const bytes = new Uint8Array(sizeBytes);
    this.#preadFully(bytes, positionBytes);
    return bytes;
  }

  #preadFully(buf: Uint8Array, positionBytes: number): void {
    for (let done = 0; done < buf.length;) {
      const n = this.#libc.pread(this.#fd, buf.subarray(done), positionBytes + done);
      if (n === 0) throw new IoError("pread", Errno.EIO, this.#path); // the file ended under a header
      done += n;
    }
  }
}
