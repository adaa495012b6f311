/**
 * The seam between a segment and how its bytes reach the page cache: every
 * writer kind passes `tests/writer_conformance_test.ts`.
 *
 * @module
 */

import type { Libc } from "../ffi/port.ts";
import { PwriteSegmentWriter } from "./writer_pwrite.ts";
import { MmapSegmentWriter } from "./writer_mmap.ts";

/** The writer kinds: `pwrite` (default; ~1.7× faster on this VM) or `mmap` + `Uint8Array.set`. */
export type WriterKind = "pwrite" | "mmap";

/** Appends to one segment file. Owns no fd: the segment opens and closes it. */
export interface SegmentWriter {
  readonly kind: WriterKind;
  /** Bytes of the segment (appended and not truncated); readers never look past it. */
  readonly sizeBytes: number;
  /**
   * Appends `bytes` at `sizeBytes`, all or nothing: on a throw (an `IoError`),
   * `sizeBytes` is unchanged and no partial bytes stay readable, so a retry
   * works once the fault clears.
   */
  append(bytes: Uint8Array): void;
  /**
   * Makes every appended byte durable (fdatasync, or msync(MS_SYNC) of the dirty range).
   * A failure poisons the writer (every later call throws): after a failed fsync the
   * kernel may have dropped the dirty pages, so only reopening (recovery) is safe.
   */
  flush(): void;
  /**
   * Makes the bytes appended before the call durable, off the JS thread
   * ({@linkcode Libc.fdatasyncAsync}); appends may go on meanwhile. Fails and
   * poisons the writer as {@linkcode flush} does.
   */
  flushAsync(): Promise<void>;
  /** Drops bytes from `sizeBytes` on; `sizeBytes` must not exceed the current size. */
  truncateTo(sizeBytes: number): void;
  /** Releases mappings and trims the file to `sizeBytes`; does not flush. */
  close(): void;
}

/** Options of {@linkcode createSegmentWriter}. */
export interface SegmentWriterOptions {
  /** The segment's `.log` fd, opened O_RDWR. */
  readonly fd: number;
  /** For error messages. */
  readonly path: string;
  /** The valid bytes already in the file (from recovery); anything past them is cut off. */
  readonly sizeBytes: number;
  /** mmap only: the file grows and is mapped in chunks of this size (a multiple of 64 KiB). */
  readonly mmapChunkBytes?: number;
}

/** The default mmap growth step. */
export const MMAP_CHUNK_BYTES_DEFAULT = 32 * 1024 * 1024;

/** Creates a writer of `kind` over an open segment file. */
export function createSegmentWriter(
  kind: WriterKind,
  libc: Libc,
  options: SegmentWriterOptions,
): SegmentWriter {
  switch (kind) {
    case "pwrite":
      return new PwriteSegmentWriter(libc, options);
    case "mmap":
      return new MmapSegmentWriter(libc, options);
  }
}
