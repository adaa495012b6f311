/**
 * The file behind an index (Kafka's `AbstractIndex`): fixed-width entries in a
 * file preallocated to `maxIndexBytes` with ftruncate and mmap'd; trimmed to
 * `entryCount × entrySizeBytes` and remapped read-only when the segment stops
 * being active.
 *
 * Unlike Kafka, an active index maps a window of its preallocated file, not
 * all of it: {@linkcode WINDOW_BYTES_MIN} at first, doubled (remapped) when an
 * append needs more. Deno's V8 counts every mapped ArrayBuffer as external
 * memory, and 1,000 partitions × two 10 MiB indexes (20 GB) kept it
 * collecting garbage without pause: measured on workload 6 (1,000
 * partitions), the GC threads used 0.65 cores and p50 latency was 25 ms; with
 * 64 KiB windows, 0.07 cores and 0.9 ms, and start-up on them fell from 20-29 s
 * to 0.5-1.4 s.
 *
 * @module
 */

import { assert } from "../util/assert.ts";
import { type Libc, type Mapping, MsyncFlags, OpenFlags } from "../ffi/port.ts";
import { floorSearch } from "./_floor_search.ts";

/** An index file failed its sanity check on open: rebuild it from the log. */
export class IndexCorruptError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(`Index "${path}" is corrupt: ${message}`);
    this.name = "IndexCorruptError";
    this.path = path;
  }
}

const EMPTY = new Uint8Array(0);

/** The first window an active index maps (a multiple of the largest page size). */
export const WINDOW_BYTES_MIN = 64 * 1024;
/** Kafka's `AbstractIndex` warm section: the index's last 8 KiB, where tail lookups land. */
export const WARM_SECTION_BYTES = 8192;

/** Options of {@linkcode IndexFile.open}. */
export interface IndexFileOptions {
  readonly entrySizeBytes: number;
  /** Kafka's `segment.index.bytes`: the preallocated size, rounded down to whole entries. */
  readonly maxIndexBytes: number;
  /** Active segment: grow to `maxIndexBytes` and map read-write. */
  readonly writable: boolean;
  /** True for the all-zero entry that marks the end of an untrimmed file. */
  readonly isEmptyEntry: (view: DataView, positionBytes: number) => boolean;
}

/** A mapped index file; see the module doc. */
export class IndexFile {
  readonly path: string;
  readonly entrySizeBytes: number;
  readonly maxEntryCount: number;
  #libc: Libc;
  #mapping: Mapping | undefined = undefined;
  #writable = false;
  #view: DataView = new DataView(EMPTY.buffer);
  #entryCount = 0;

  private constructor(libc: Libc, path: string, entrySizeBytes: number, maxIndexBytes: number) {
    assert(
      maxIndexBytes >= entrySizeBytes,
      `segment.index.bytes "${maxIndexBytes}" holds no entry`,
    );
    this.#libc = libc;
    this.path = path;
    this.entrySizeBytes = entrySizeBytes;
    this.maxEntryCount = Math.floor(maxIndexBytes / entrySizeBytes);
  }

  /** Opens (creating if missing) and maps the index; throws {@linkcode IndexCorruptError} on a bad size. */
  static open(libc: Libc, path: string, options: IndexFileOptions): IndexFile {
    const index = new IndexFile(libc, path, options.entrySizeBytes, options.maxIndexBytes);
    const fd = libc.open(path, OpenFlags.O_RDWR | OpenFlags.O_CREAT | OpenFlags.O_CLOEXEC, 0o644);
    try {
      const sizeBytes = libc.fileSize(fd);
      const preallocatedBytes = index.maxEntryCount * index.entrySizeBytes;
      if (sizeBytes % index.entrySizeBytes !== 0 || sizeBytes > preallocatedBytes) {
        throw new IndexCorruptError(
          path,
          `size ${sizeBytes} is not a whole number of entries within ${preallocatedBytes}`,
        );
      }
      index.#entryCount = sizeBytes / index.entrySizeBytes;
      if (sizeBytes === preallocatedBytes && sizeBytes > 0) {
        // Untrimmed (the broker stopped without closing): entries end at the first empty one.
        index.#entryCount = index.#firstEmptyEntry(fd, options.isEmptyEntry);
      }
      if (options.writable) index.#growAndMapWritable(fd);
      else index.#map(fd, sizeBytes, false);
    } catch (error) {
      index.#unmap();
      throw error;
    } finally {
      libc.close(fd);
    }
    return index;
  }

  /** A view of the mapped entries (empty when nothing is mapped); a grown window is a new view. */
  get view(): DataView {
    return this.#view;
  }
  /** Valid entries. */
  get entryCount(): number {
    return this.#entryCount;
  }
  /** Bytes of the file mapped now (a window of it while writable). */
  get mappedBytes(): number {
    return this.#view.byteLength;
  }

  /**
   * The last entry whose key is at or below `target`, or -1. `keyAt` reads an entry's key at its
   * byte position; keys must not decrease. Kafka's warm section: a target at or past the first
   * key of the last {@linkcode WARM_SECTION_BYTES} of entries is searched there alone, so tail
   * lookups (nearly every fetch) touch only the last pages of the index. Measured on a full
   * 10 MiB index (`bench/index_search.ts`, 4 Dec 2026, a busy box): tail lookups 0.75-0.79x the
   * time of a search over the whole index (Deno 58 vs 74 ns, Bun 120 vs 160 ns), random ones
   * 1.24-1.37x (one more probe); consumers read at the tail, so it is kept.
   */
  floorEntry(target: number, keyAt: (view: DataView, positionBytes: number) => number): number {
    const view = this.#view;
    const size = this.entrySizeBytes;
    const count = this.#entryCount;
    const key = (i: number) => keyAt(view, i * size);
    const warmFrom = Math.max(0, count - Math.floor(WARM_SECTION_BYTES / size));
    if (warmFrom > 0 && key(warmFrom) <= target) return floorSearch(warmFrom, count, target, key);
    return floorSearch(0, warmFrom > 0 ? warmFrom : count, target, key);
  }

  get isWritable(): boolean {
    return this.#writable;
  }
  get isFull(): boolean {
    return this.#entryCount >= this.maxEntryCount;
  }
  /** Bytes holding valid entries. */
  get validSizeBytes(): number {
    return this.#entryCount * this.entrySizeBytes;
  }

  /**
   * Makes room for one entry at the end and returns its position; the caller fills it
   * through {@linkcode view}, read after this call (a grown window is a new view).
   */
  appendEntry(): number {
    assert(this.#writable, `Index "${this.path}" is not writable`);
    assert(!this.isFull, `Index "${this.path}" is full`);
    const positionBytes = this.#entryCount * this.entrySizeBytes;
    if (positionBytes + this.entrySizeBytes > this.#view.byteLength) this.#growWindow();
    this.#entryCount++;
    return positionBytes;
  }

  /** Drops entries from `entryCount` on (zeroes them so an untrimmed file stays parseable). */
  truncateToEntries(entryCount: number): void {
    assert(entryCount >= 0 && entryCount <= this.#entryCount);
    if (this.#writable) {
      new Uint8Array(this.#view.buffer, this.#view.byteOffset, this.#view.byteLength)
        .fill(0, entryCount * this.entrySizeBytes, this.validSizeBytes);
    }
    this.#entryCount = entryCount;
  }

  /** msync(MS_SYNC) the mapped entries (a no-op when read-only). */
  flush(): void {
    if (this.#writable && this.#mapping !== undefined) {
      this.#libc.msync(this.#mapping, 0, this.#mapping.lengthBytes, MsyncFlags.MS_SYNC);
    }
  }

  /** Kafka's `trimToValidSize`: unmap, ftruncate to the valid entries, remap read-only. */
  trimToValidSize(): void {
    // Open and cut before unmapping, so a failure leaves the index mapped and usable.
    const fd = this.#libc.open(this.path, OpenFlags.O_RDWR | OpenFlags.O_CLOEXEC);
    try {
      this.#libc.ftruncate(fd, this.validSizeBytes);
      this.#unmap();
      this.#map(fd, this.validSizeBytes, false);
    } finally {
      this.#libc.close(fd);
    }
  }

  /** Grows back to the preallocated size and maps read-write (the segment became active again). */
  makeWritable(): void {
    if (this.#writable) return;
    const fd = this.#libc.open(this.path, OpenFlags.O_RDWR | OpenFlags.O_CLOEXEC);
    try {
      this.#growAndMapWritable(fd);
    } finally {
      this.#libc.close(fd);
    }
  }

  /** Unmaps; the file stays as it is. */
  close(): void {
    this.#unmap();
  }

  #growAndMapWritable(fd: number): void {
    this.#unmap();
    this.#libc.ftruncate(fd, this.#preallocatedBytes);
    this.#map(fd, this.#windowBytesFor(this.validSizeBytes + this.entrySizeBytes), true);
  }

  get #preallocatedBytes(): number {
    return this.maxEntryCount * this.entrySizeBytes;
  }

  /** The window that holds `neededBytes`: a power-of-two multiple of the minimum, capped. */
  #windowBytesFor(neededBytes: number): number {
    let windowBytes = WINDOW_BYTES_MIN;
    while (windowBytes < neededBytes) windowBytes *= 2;
    return Math.min(windowBytes, this.#preallocatedBytes);
  }

  /** Remaps the writable window twice as large (the file is already preallocated). */
  #growWindow(): void {
    const windowBytes = this.#windowBytesFor(this.#view.byteLength * 2);
    // Map the new window before dropping the old one: a failure leaves the index usable.
    const fd = this.#libc.open(this.path, OpenFlags.O_RDWR | OpenFlags.O_CLOEXEC);
    let grown: Mapping;
    try {
      grown = this.#libc.mmap(fd, windowBytes, true, 0);
    } finally {
      this.#libc.close(fd);
    }
    this.#unmap();
    this.#mapping = grown;
    this.#view = new DataView(grown.bytes.buffer, grown.bytes.byteOffset, grown.bytes.byteLength);
    this.#writable = true;
  }

  #map(fd: number, lengthBytes: number, writable: boolean): void {
    assert(this.#mapping === undefined);
    if (lengthBytes > 0) {
      this.#mapping = this.#libc.mmap(fd, lengthBytes, writable, 0);
      const bytes = this.#mapping.bytes;
      this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    this.#writable = writable;
  }

  #unmap(): void {
    const mapping = this.#mapping;
    this.#mapping = undefined;
    this.#writable = false;
    this.#view = new DataView(EMPTY.buffer);
    if (mapping !== undefined) this.#libc.munmap(mapping);
  }

  #firstEmptyEntry(
    fd: number,
    isEmptyEntry: (view: DataView, positionBytes: number) => boolean,
  ): number {
    // Valid entries are never empty and empty ones only follow them: binary search the
    // boundary, reading single entries (mapping the whole preallocated file is what the
    // windows avoid).
    const entry = new Uint8Array(this.entrySizeBytes);
    const view = new DataView(entry.buffer);
    let low = 0;
    let high = this.maxEntryCount;
    while (low < high) {
      const middle = (low + high) >>> 1;
      entry.fill(0);
      this.#libc.pread(fd, entry, middle * this.entrySizeBytes);
      if (isEmptyEntry(view, 0)) high = middle;
      else low = middle + 1;
    }
    return low;
  }
}

/**
 * What the offset and time indexes share (Kafka's `AbstractIndex`): the segment's base offset and
 * an {@linkcode IndexFile} that only the subclass reads and writes entries of.
 */
export abstract class AbstractIndex {
  readonly baseOffset: number;
  protected readonly file: IndexFile;

  protected constructor(baseOffset: number, file: IndexFile) {
    this.baseOffset = baseOffset;
    this.file = file;
  }

  get entryCount(): number {
    return this.file.entryCount;
  }
  get isFull(): boolean {
    return this.file.isFull;
  }
  /** The index file's path. */
  get path(): string {
    return this.file.path;
  }
  get isWritable(): boolean {
    return this.file.isWritable;
  }
  /** Entries the preallocated file holds (`segment.index.bytes` / entry size). */
  get maxEntryCount(): number {
    return this.file.maxEntryCount;
  }
  /** Bytes of the file mapped now (a window of it while writable). */
  get mappedBytes(): number {
    return this.file.mappedBytes;
  }

  flush(): void {
    this.file.flush();
  }
  trimToValidSize(): void {
    this.file.trimToValidSize();
  }
  makeWritable(): void {
    this.file.makeWritable();
  }
  close(): void {
    this.file.close();
  }
  /** Drops every entry (the segment is being rebuilt from its log). */
  clear(): void {
    this.file.truncateToEntries(0);
  }
}
