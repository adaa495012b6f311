/**
 * A {@linkcode SegmentWriter} that copies into a shared mapping with
 * `Uint8Array.set`. The file grows in whole chunks with fallocate (so a full
 * disk fails the append with ENOSPC instead of a SIGBUS at page-fault time)
 * and each chunk is mapped only once the file covers it: nothing ever touches
 * a page past EOF. Flush is msync(MS_SYNC) of the dirty range; close trims the
 * file to its real size.
 *
 * @module
 */

import { assert } from "../util/assert.ts";
import { Errno, IoError, type Libc, type Mapping, MsyncFlags } from "../ffi/port.ts";
import {
  MMAP_CHUNK_BYTES_DEFAULT,
  type SegmentWriter,
  type SegmentWriterOptions,
} from "./segment_writer.ts";

/** msync ranges start on this boundary (the largest Linux page size). */
const SYNC_ALIGN_BYTES = 64 * 1024;

/** See the module doc. */
export class MmapSegmentWriter implements SegmentWriter {
  readonly kind = "mmap";
  readonly #libc: Libc;
  readonly #fd: number;
  readonly #path: string;
  readonly #chunkBytes: number;
  readonly #chunks: (Mapping | undefined)[] = [];
  #sizeBytes: number;
  /** The file's size: whole chunks past the data, once grown. */
  #allocatedBytes: number;
  /** Bytes from here to `sizeBytes` are not yet msync'd. */
  #dirtyStartBytes: number;
  #failure: IoError | undefined = undefined;
  /** Bumped by truncateTo: a flush that overlapped one must not mark the regrown bytes clean. */
  #truncations = 0;

  constructor(libc: Libc, options: SegmentWriterOptions) {
    this.#libc = libc;
    this.#fd = options.fd;
    this.#path = options.path;
    this.#chunkBytes = options.mmapChunkBytes ?? MMAP_CHUNK_BYTES_DEFAULT;
    assert(
      this.#chunkBytes > 0 && this.#chunkBytes % SYNC_ALIGN_BYTES === 0,
      `mmap chunk "${this.#chunkBytes}" is not a multiple of 64 KiB`,
    );
    this.#sizeBytes = options.sizeBytes;
    this.#dirtyStartBytes = options.sizeBytes;
    const fileSizeBytes = libc.fileSize(this.#fd);
    assert(
      fileSizeBytes >= options.sizeBytes,
      `"${this.#path}" is shorter than ${options.sizeBytes} bytes`,
    );
    // Cut stale bytes (a preallocated tail, a torn batch): a fresh chunk reads as zeros.
    if (fileSizeBytes > options.sizeBytes) libc.ftruncate(this.#fd, options.sizeBytes);
    this.#allocatedBytes = options.sizeBytes;
  }

  get sizeBytes(): number {
    return this.#sizeBytes;
  }

  append(bytes: Uint8Array): void {
    this.#checkHealthy();
    if (bytes.length === 0) return;
    const startBytes = this.#sizeBytes;
    const endBytes = startBytes + bytes.length;
    const lastChunk = Math.floor((endBytes - 1) / this.#chunkBytes);
    for (let c = Math.floor(startBytes / this.#chunkBytes); c <= lastChunk; c++) this.#mapChunk(c);
    // Every page is now mapped and inside the file: the copy cannot fail.
    for (let p = startBytes; p < endBytes;) {
      const c = Math.floor(p / this.#chunkBytes);
      const inChunk = p - c * this.#chunkBytes;
      const n = Math.min(this.#chunkBytes - inChunk, endBytes - p);
      this.#chunks[c]!.bytes.set(bytes.subarray(p - startBytes, p - startBytes + n), inChunk);
      p += n;
    }
    this.#sizeBytes = endBytes;
  }

  flush(): void {
    this.#checkHealthy();
    try {
      for (let p = this.#dirtyStartBytes; p < this.#sizeBytes;) {
        const c = Math.floor(p / this.#chunkBytes);
        const chunkStart = c * this.#chunkBytes;
        const from = Math.floor((p - chunkStart) / SYNC_ALIGN_BYTES) * SYNC_ALIGN_BYTES;
        const to = Math.min(this.#chunkBytes, this.#sizeBytes - chunkStart);
        const mapping = this.#chunks[c];
        if (mapping !== undefined) this.#libc.msync(mapping, from, to - from, MsyncFlags.MS_SYNC);
        p = chunkStart + to;
      }
    } catch (error) {
      if (error instanceof IoError) this.#failure = error;
      throw error;
    }
    this.#dirtyStartBytes = this.#sizeBytes;
  }

  /** fdatasync of the file writes back the pages dirtied through the mappings, as msync does. */
  async flushAsync(): Promise<void> {
    this.#checkHealthy();
    const endBytes = this.#sizeBytes;
    const truncations = this.#truncations;
    try {
      await this.#libc.fdatasyncAsync(this.#fd);
    } catch (error) {
      if (error instanceof IoError) this.#failure ??= error;
      throw error;
    }
    if (truncations === this.#truncations && endBytes > this.#dirtyStartBytes) {
      this.#dirtyStartBytes = endBytes;
    }
  }

  truncateTo(sizeBytes: number): void {
    this.#checkHealthy();
    assert(
      sizeBytes >= 0 && sizeBytes <= this.#sizeBytes,
      `Cannot truncate ${this.#sizeBytes} bytes to ${sizeBytes}`,
    );
    // Zero the cut bytes: the file keeps its chunk size, and recovery must not find them again.
    for (let p = sizeBytes; p < this.#sizeBytes;) {
      const c = Math.floor(p / this.#chunkBytes);
      const inChunk = p - c * this.#chunkBytes;
      const n = Math.min(this.#chunkBytes - inChunk, this.#sizeBytes - p);
      this.#chunks[c]?.bytes.fill(0, inChunk, inChunk + n);
      p += n;
    }
    this.#sizeBytes = sizeBytes;
    this.#dirtyStartBytes = Math.min(this.#dirtyStartBytes, sizeBytes);
    this.#truncations++;
  }

  close(): void {
    for (let c = 0; c < this.#chunks.length; c++) {
      const mapping = this.#chunks[c];
      this.#chunks[c] = undefined;
      if (mapping !== undefined) this.#libc.munmap(mapping);
    }
    if (this.#failure === undefined && this.#libc.fileSize(this.#fd) !== this.#sizeBytes) {
      this.#libc.ftruncate(this.#fd, this.#sizeBytes);
    }
  }

  #mapChunk(c: number): void {
    if (this.#chunks[c] !== undefined) return;
    const chunkEnd = (c + 1) * this.#chunkBytes;
    if (this.#allocatedBytes < chunkEnd) {
      this.#growTo(chunkEnd);
    }
    this.#chunks[c] = this.#libc.mmap(this.#fd, this.#chunkBytes, true, c * this.#chunkBytes);
  }

  #growTo(sizeBytes: number): void {
    try {
      this.#libc.fallocate(this.#fd, this.#allocatedBytes, sizeBytes - this.#allocatedBytes);
    } catch (error) {
      if (!(error instanceof IoError && error.errno === Errno.EOPNOTSUPP)) throw error;
      this.#libc.ftruncate(this.#fd, sizeBytes); // a file system without fallocate: sparse growth
    }
    this.#allocatedBytes = sizeBytes;
  }

  #checkHealthy(): void {
    if (this.#failure !== undefined) {
      throw new IoError(this.#failure.syscall, this.#failure.errno, this.#failure.path);
    }
  }
}
