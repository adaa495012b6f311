/**
 * {@linkcode pwriteFully}: `pwrite` until every byte has landed. `pwrite` may
 * write less than asked (a signal, a quota, a full disk reached mid-call);
 * the rest is retried at the advanced position. A return of 0 for a
 * non-empty buffer makes no progress and would loop forever, so it is an
 * error: Linux returns 0 only when it cannot write at all.
 *
 * @module
 */

import { Errno, IoError, type Libc } from "./port.ts";

/** What {@linkcode pwriteFully} writes, and where. */
export interface PwriteFullyRequest {
  readonly fd: number;
  readonly bytes: Uint8Array;
  /** Where the first byte goes. */
  readonly positionBytes: number;
  /** The file's path, for the error. */
  readonly path?: string;
}

/**
 * Writes all of `request.bytes` at `request.positionBytes`, looping on short
 * writes. Throws the libc's {@linkcode IoError}, or `IoError("pwrite", EIO)`
 * when a call writes nothing; bytes written before a failure stay written
 * (the caller rolls back if it must).
 */
export function pwriteFully(libc: Libc, request: PwriteFullyRequest): void {
  const { fd, bytes, positionBytes } = request;
  for (let doneBytes = 0; doneBytes < bytes.length;) {
    const writtenBytes = libc.pwrite(fd, bytes.subarray(doneBytes), positionBytes + doneBytes);
    if (writtenBytes <= 0) throw new IoError("pwrite", Errno.EIO, request.path);
    doneBytes += writtenBytes;
  }
}
