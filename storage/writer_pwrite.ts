/**
 * A {@linkcode SegmentWriter} that pwrite()s at the end of the file, looping
 * on short writes; a failed append is rolled back with ftruncate.
 *
 * @module
 */

import { IoError, type Libc } from "../ffi/port.ts";
import { pwriteFully } from "../ffi/pwrite_fully.ts";
import { assert } from "../util/assert.ts";
import type { SegmentWriter, SegmentWriterOptions } from "./segment_writer.ts";

/** See the module doc. */
export class PwriteSegmentWriter implements SegmentWriter {
  readonly kind = "pwrite";
  readonly #libc: Libc;
  readonly #fd: number;
  readonly #path: string;
  #sizeBytes: number;
  #failure: IoError | undefined = undefined;

  constructor(libc: Libc, options: SegmentWriterOptions) {
    this.#libc = libc;
    this.#fd = options.fd;
    this.#path = options.path;
    this.#sizeBytes = options.sizeBytes;
    const fileSizeBytes = libc.fileSize(this.#fd);
    assert(
      fileSizeBytes >= options.sizeBytes,
      `"${this.#path}" is shorter than ${options.sizeBytes} bytes`,
    );
    if (fileSizeBytes > options.sizeBytes) libc.ftruncate(this.#fd, options.sizeBytes);
  }

  get sizeBytes(): number {
    return this.#sizeBytes;
  }

  append(bytes: Uint8Array): void {
    this.#checkHealthy();
    try {
      pwriteFully(this.#libc, {
        fd: this.#fd,
        bytes,
        positionBytes: this.#sizeBytes,
        path: this.#path,
      });
    } catch (error) {
      this.#rollBack();
      throw error;
    }
    this.#sizeBytes += bytes.length;
  }

  flush(): void {
    this.#checkHealthy();
    try {
      this.#libc.fdatasync(this.#fd);
    } catch (error) {
      if (error instanceof IoError) this.#failure = error;
      throw error;
    }
  }

  async flushAsync(): Promise<void> {
    this.#checkHealthy();
    try {
      await this.#libc.fdatasyncAsync(this.#fd);
    } catch (error) {
      if (error instanceof IoError) this.#failure ??= error;
      throw error;
    }
  }

  truncateTo(sizeBytes: number): void {
    this.#checkHealthy();
    assert(
      sizeBytes >= 0 && sizeBytes <= this.#sizeBytes,
      `Cannot truncate ${this.#sizeBytes} bytes to ${sizeBytes}`,
    );
    this.#libc.ftruncate(this.#fd, sizeBytes);
    this.#sizeBytes = sizeBytes;
  }

  close(): void {
    if (this.#failure !== undefined) return;
    if (this.#libc.fileSize(this.#fd) !== this.#sizeBytes) {
      this.#libc.ftruncate(this.#fd, this.#sizeBytes);
    }
  }

  /** Cuts partial bytes off; if even that fails, readers still stop at `sizeBytes` and the next append overwrites them. */
  #rollBack(): void {
    try {
      this.#libc.ftruncate(this.#fd, this.#sizeBytes);
    } catch {
      // Reported through the append's own error.
    }
  }

  #checkHealthy(): void {
    if (this.#failure !== undefined) {
      throw new IoError(this.#failure.syscall, this.#failure.errno, this.#failure.path);
    }
  }
}
