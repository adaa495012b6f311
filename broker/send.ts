/**
 * A connection's output path: writes send plans (byte buffers plus file
 * slices) to a {@linkcode Socket}, strictly in order, using only the ports.
 *
 * - Adjacent byte buffers are coalesced into one pooled buffer, so a response
 *   without file slices costs one `socket.write` (one syscall when the socket
 *   is writable). Measured and left out: writing bytes with a sync FFI
 *   `send()` (MSG_DONTWAIT, MSG_MORE before a slice) instead of the runtime's
 *   async write, and TCP_CORK around a response with slices: neither moved
 *   throughput or CPU per GB beyond the noise, and the cork raised the p99
 *   latency at 50 MB/s (see `bench/README.md`).
 * - A file slice goes out with `sendfile` when `fetchPath` is `"sendfile"` and
 *   the socket exposes its fd. When the send buffer is full (EAGAIN), the
 *   sender "pokes": it preads the next byte of the file and awaits
 *   `socket.write` of it, which resolves when the runtime's own poller sees
 *   the socket writable, then resumes `sendfile`. No thread, no `poll()`.
 * - Otherwise (the copy path) slices are pread into the pooled buffer, next to
 *   any adjacent byte buffers, and written in writes of up to
 *   {@linkcode COPY_BUFFER_BYTES}.
 *
 * @module
 */

import { type Libc, SENDFILE_WOULD_BLOCK, type Socket } from "../ffi/port.ts";
import type { FileSlice, SendChunk } from "../protocol/send_plan.ts";

/** Plain mutable counters the broker exposes (bytes are file-slice bytes only). */
export interface SendCounters {
  /** File bytes that went out through sendfile, poke bytes included. */
  sendfileBytes: number;
  /** File bytes that went out through pread + write. */
  copyBytes: number;
  /** sendfile calls made (including those that would block). */
  sendfileCalls: number;
  /** sendfile calls that found the send buffer full (each one costs a poke). */
  wouldBlock: number;
}

/** Fresh zeroed counters. */
export function newSendCounters(): SendCounters {
  return { sendfileBytes: 0, copyBytes: 0, sendfileCalls: 0, wouldBlock: 0 };
}

/** Options of {@linkcode createSender}. */
export interface SenderOptions {
  /** `"sendfile"` when the socket exposes its fd; `"copy"` always copies through user space. */
  fetchPath: "sendfile" | "copy";
  counters: SendCounters;
}

/** Writes whole responses to one connection, one after another. */
export interface Sender {
  /**
   * Writes `plan` after every earlier plan has been written. Resolves when
   * all its bytes are in the kernel; rejects if the socket fails or a file
   * slice reaches past the end of its file (then close the connection). The
   * plan's buffers must stay untouched until it settles.
   */
  send(plan: readonly SendChunk[]): Promise<void>;
}

/** Size of the pooled buffer of the copy path (1 MiB writes are the fast ones on loopback). */
export const COPY_BUFFER_BYTES = 1024 * 1024;
/** Initial size of the pooled buffer that coalesces small byte buffers. */
export const COALESCE_BUFFER_BYTES = 64 * 1024;
const EMPTY = new Uint8Array(0);

/** A file slice reached past the end of its file (truncated under the sender). */
export class FileSliceTruncatedError extends Error {
  constructor(slice: FileSlice, sentBytes: number) {
    super(
      `File slice ended early: fd ${slice.fd} at position "${slice.positionBytes}" ` +
        `sent ${sentBytes} of "${slice.sizeBytes}" bytes`,
    );
    this.name = "FileSliceTruncatedError";
  }
}

/** Creates the sender of one connection. */
export function createSender(socket: Socket, libc: Libc, options: SenderOptions): Sender {
  const plans = new PlanWriter(socket, libc, options);
  let tail: Promise<void> = Promise.resolve();
  let sendsPending = 0;
  const settle = () => {
    sendsPending--;
  };
  return {
    send(plan) {
      sendsPending++;
      // When idle, start at once: a small response is written before send() returns.
      const run = sendsPending === 1 ? plans.write(plan) : tail.then(() => plans.write(plan));
      tail = run.then(settle, settle);
      return run;
    },
  };
}

/** Size of the shared buffers small responses (bytes alone) are coalesced in. */
const SMALL_WRITE_BUFFER_BYTES = 4096;
/** Free write buffers kept per size, at most (the rest go to the GC): 1 MiB, 2 MiB and 8 MiB. */
const WRITE_BUFFERS_FREE_MAX = new Map<number, number>([
  [SMALL_WRITE_BUFFER_BYTES, 256],
  [64 * 1024, 32],
  [1024 * 1024, 8],
]);

/**
 * Write buffers shared by every connection: a connection holds one only
 * while it writes a plan, so an idle connection holds none (with one
 * 64 KiB buffer per connection, idle connections cost ~80 KiB each under
 * Deno).
 */
const freeWriteBuffers = new Map<number, Uint8Array<ArrayBuffer>[]>();

function takeWriteBuffer(sizeBytes: number): Uint8Array<ArrayBuffer> {
  return freeWriteBuffers.get(sizeBytes)?.pop() ?? new Uint8Array(sizeBytes);
}

function giveWriteBuffer(buffer: Uint8Array<ArrayBuffer>): void {
  const sizeBytes = buffer.length;
  const freeMax = WRITE_BUFFERS_FREE_MAX.get(sizeBytes);
  if (freeMax === undefined) return;
  let free = freeWriteBuffers.get(sizeBytes);
  if (free === undefined) freeWriteBuffers.set(sizeBytes, free = []);
  if (free.length < freeMax) free.push(buffer);
}

class PlanWriter {
  readonly #socket: Socket;
  readonly #libc: Libc;
  readonly #counters: SendCounters;
  readonly #useSendfile: boolean;
  /** From the shared write buffers while a plan is written; empty in between. */
  #pool = EMPTY;
  #poolFillBytes = 0;
  readonly #pokeByte = new Uint8Array(1);

  constructor(socket: Socket, libc: Libc, options: SenderOptions) {
    this.#socket = socket;
    this.#libc = libc;
    this.#counters = options.counters;
    this.#useSendfile = options.fetchPath === "sendfile" && socket.fd !== undefined;
  }

  async write(plan: readonly SendChunk[]): Promise<void> {
    this.#poolFillBytes = 0;
    // A small response of bytes alone takes a shared 4 KiB buffer; others a
    // shared 64 KiB one (a fresh ArrayBuffer per response cost 20% more CPU
    // per produce request of 4 KiB).
    const small = bufferRunBytes(plan, 0) <= SMALL_WRITE_BUFFER_BYTES &&
      plan.every((chunk) => chunk instanceof Uint8Array);
    this.#pool = takeWriteBuffer(small ? SMALL_WRITE_BUFFER_BYTES : COALESCE_BUFFER_BYTES);
    try {
      await this.#writePlan(plan);
    } finally {
      giveWriteBuffer(this.#pool);
      this.#pool = EMPTY;
    }
  }

  async #writePlan(plan: readonly SendChunk[]): Promise<void> {
    for (let i = 0; i < plan.length; i++) {
      const chunk = plan[i];
      if (chunk instanceof Uint8Array) {
        if (chunk.length === 0) continue;
        // A lone big buffer (nothing pooled, next chunk not bytes) is written as is.
        const alone = this.#poolFillBytes === 0 && !(plan[i + 1] instanceof Uint8Array);
        if (alone && chunk.length >= COALESCE_BUFFER_BYTES) {
          await this.#socket.write(chunk);
        } else {
          await this.#appendBytes(chunk, plan, i);
        }
      } else if (this.#useSendfile) {
        await this.#flush();
        await this.#sendfileSlice(chunk);
      } else {
        await this.#copySlice(chunk);
      }
    }
    await this.#flush();
  }

  /** Copies `bytes` into the pool, growing it to hold the run of adjacent buffers. */
  async #appendBytes(bytes: Uint8Array, plan: readonly SendChunk[], index: number): Promise<void> {
    const overflows = this.#poolFillBytes + bytes.length > this.#pool.length;
    if (overflows && this.#pool.length < COPY_BUFFER_BYTES) {
      const runBytes = this.#poolFillBytes + bufferRunBytes(plan, index);
      this.#grow(Math.min(COPY_BUFFER_BYTES, Math.max(runBytes, this.#pool.length * 2)));
    }
    let doneBytes = 0;
    while (doneBytes < bytes.length) {
      if (this.#poolFillBytes === this.#pool.length) await this.#flush();
      const countBytes = Math.min(
        bytes.length - doneBytes,
        this.#pool.length - this.#poolFillBytes,
      );
      this.#pool.set(bytes.subarray(doneBytes, doneBytes + countBytes), this.#poolFillBytes);
      this.#poolFillBytes += countBytes;
      doneBytes += countBytes;
    }
  }

  #grow(sizeBytes: number): void {
    const pool = sizeBytes === COPY_BUFFER_BYTES
      ? takeWriteBuffer(sizeBytes)
      : new Uint8Array(sizeBytes);
    pool.set(this.#pool.subarray(0, this.#poolFillBytes));
    giveWriteBuffer(this.#pool);
    this.#pool = pool;
  }

  async #flush(): Promise<void> {
    if (this.#poolFillBytes === 0) return;
    const fillBytes = this.#poolFillBytes;
    this.#poolFillBytes = 0;
    await this.#socket.write(this.#pool.subarray(0, fillBytes));
  }

  /** The copy path: pread into the pool behind any pooled bytes, write it when full. */
  async #copySlice(slice: FileSlice): Promise<void> {
    if (this.#pool.length < COPY_BUFFER_BYTES && slice.sizeBytes > 0) this.#grow(COPY_BUFFER_BYTES);
    let doneBytes = 0;
    while (doneBytes < slice.sizeBytes) {
      if (this.#poolFillBytes === this.#pool.length) await this.#flush();
      const wantBytes = Math.min(
        slice.sizeBytes - doneBytes,
        this.#pool.length - this.#poolFillBytes,
      );
      const target = this.#pool.subarray(this.#poolFillBytes, this.#poolFillBytes + wantBytes);
      const readBytes = this.#libc.pread(slice.fd, target, slice.positionBytes + doneBytes);
      if (readBytes === 0) throw new FileSliceTruncatedError(slice, doneBytes);
      this.#poolFillBytes += readBytes;
      doneBytes += readBytes;
      this.#counters.copyBytes += readBytes;
    }
  }

  /** The sendfile path, with a one-byte poke whenever the send buffer is full. */
  async #sendfileSlice(slice: FileSlice): Promise<void> {
    const outFd = this.#socket.fd as number;
    const counters = this.#counters;
    let positionBytes = slice.positionBytes;
    const endBytes = slice.positionBytes + slice.sizeBytes;
    while (positionBytes < endBytes) {
      const sentBytes = this.#libc.sendfile(
        outFd,
        slice.fd,
        positionBytes,
        endBytes - positionBytes,
      );
      counters.sendfileCalls++;
      if (sentBytes > 0) {
        positionBytes += sentBytes;
        counters.sendfileBytes += sentBytes;
        continue;
      }
      if (sentBytes !== SENDFILE_WOULD_BLOCK) {
        throw new FileSliceTruncatedError(slice, positionBytes - slice.positionBytes);
      }
      counters.wouldBlock++;
      // The poke: hand the next byte to the runtime writer; it resolves when the socket is writable.
      if (this.#libc.pread(slice.fd, this.#pokeByte, positionBytes) === 0) {
        throw new FileSliceTruncatedError(slice, positionBytes - slice.positionBytes);
      }
      await this.#socket.write(this.#pokeByte);
      positionBytes += 1;
      counters.sendfileBytes += 1;
    }
  }
}

/** Total bytes of the run of adjacent byte buffers starting at `plan[index]`. */
function bufferRunBytes(plan: readonly SendChunk[], index: number): number {
  let totalBytes = 0;
  for (let i = index; i < plan.length; i++) {
    const chunk = plan[i];
    if (!(chunk instanceof Uint8Array)) break;
    totalBytes += chunk.length;
  }
  return totalBytes;
}
