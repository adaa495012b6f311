/**
 * A response is assembled from byte buffers plus file ranges: the connection
 * writes buffers and `sendfile`s file slices, so record bytes read from disk
 * never enter the JS heap on plaintext connections.
 *
 * @module
 */

/** A view of `sizeBytes` bytes of an open file, starting at `positionBytes`. */
export interface FileSlice {
  readonly fd: number;
  readonly positionBytes: number;
  readonly sizeBytes: number;
}

/** One piece of a response: bytes to write, or a file range to send. */
export type SendChunk = Uint8Array | FileSlice;

/** A whole response in order, as the connection will send it. */
export type SendPlan = SendChunk[];

/** True when `chunk` is a file range rather than bytes. */
export function isFileSlice(chunk: SendChunk): chunk is FileSlice {
  return !(chunk instanceof Uint8Array);
}

/** Total size in bytes of a list of chunks. */
export function sendPlanSizeBytes(plan: readonly SendChunk[]): number {
  let total = 0;
  for (const chunk of plan) {
    total += chunk instanceof Uint8Array ? chunk.length : chunk.sizeBytes;
  }
  return total;
}
