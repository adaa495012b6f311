/**
 * One client connection: size-prefixed frames in, responses out strictly in
 * request order. Requests are handled one at a time, as Kafka does (a
 * connection is muted while its request is in progress); a response's send
 * overlaps with the next request's handling, bounded by
 * `PENDING_SENDS_MAX`.
 *
 * A broken frame (negative or oversized size prefix, unknown API key or
 * version, undecodable header or body) closes this connection alone, with a
 * logged reason.
 *
 * @module
 */
import type { Socket, SocketHandlers } from "../ffi/port.ts";
import type { SendChunk } from "../protocol/send_plan.ts";
import type { Logger } from "../util/log.ts";

/** Frames answered before their predecessors' sends finished, at most. */
const PENDING_SENDS_MAX = 8;
/** Frames from this size up to {@linkcode POOLED_FRAME_MAX_BYTES} use recycled buffers. */
const POOLED_FRAME_MIN_BYTES = 64 * 1024;
/** Largest recycled frame buffer (a produce request of a few 1 MiB batches fits). */
const POOLED_FRAME_MAX_BYTES = 4 * 1024 * 1024;
/** Recycled frame buffers a connection keeps, at most. */
const FRAME_POOL_MAX = 2;
const PRODUCE_API_KEY = 0;

/** What the connection asks of the broker for each frame. */
export interface FrameHandler {
  /**
   * Handles one request frame (without its size prefix) and sends its
   * response, if any, through `send`. Throws {@linkcode FrameError} to close
   * the connection.
   */
  handleFrame(frame: Uint8Array, connection: Connection): Promise<void>;
}

/** A frame that cannot be handled: the connection is closed with this reason. */
export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FrameError";
  }
}

/** Sends a connection's responses in order (see `broker/send.ts`). */
export interface ResponseSender {
  send(plan: readonly SendChunk[]): Promise<void>;
}

/** One client connection. */
export class Connection implements SocketHandlers {
  readonly socket: Socket;
  readonly id: number;
  readonly #handler: FrameHandler;
  readonly #sender: ResponseSender;
  readonly #log: Logger;
  readonly #requestSizeBytesMax: number;
  readonly #onClosed: (c: Connection) => void;
  readonly #abort = new AbortController();
  // The frame being assembled from incoming bytes.
  readonly #sizePrefix = new Uint8Array(4);
  readonly #sizeView = new DataView(this.#sizePrefix.buffer);
  #sizeFilled = 0;
  #frame: Uint8Array | undefined = undefined;
  #frameFilled = 0;
  #frames: Uint8Array[] = [];
  /** Buffers of handled Produce frames, ready for the next large frame. */
  readonly #framePool: Uint8Array[] = [];
  #pumping = false;
  #pumpDone: Promise<void> = Promise.resolve();
  #pendingSends = new Set<Promise<void>>();
  #closed = false;

  constructor(
    socket: Socket,
    options: {
      id: number;
      handler: FrameHandler;
      sender: ResponseSender;
      logger: Logger;
      requestSizeBytesMax: number;
      onClosed: (c: Connection) => void;
    },
  ) {
    this.socket = socket;
    this.id = options.id;
    this.#handler = options.handler;
    this.#sender = options.sender;
    this.#log = options.logger;
    this.#requestSizeBytesMax = options.requestSizeBytesMax;
    this.#onClosed = options.onClosed;
  }

  /** Aborted when the connection closes: long-poll fetches listen to it. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  get closed(): boolean {
    return this.#closed;
  }

  onData(chunk: Uint8Array): void {
    // The runtime may reuse `chunk`: bytes are copied straight into the frame
    // being assembled. This is the one copy of record bytes on the way in.
    let at = 0;
    while (!this.#closed && at < chunk.length) {
      if (this.#frame === undefined) {
        const part = Math.min(4 - this.#sizeFilled, chunk.length - at);
        this.#sizePrefix.set(chunk.subarray(at, at + part), this.#sizeFilled);
        this.#sizeFilled += part;
        at += part;
        if (this.#sizeFilled < 4) break;
        this.#sizeFilled = 0;
        const sizeBytes = this.#sizeView.getInt32(0);
        if (sizeBytes < 0 || sizeBytes > this.#requestSizeBytesMax) {
          this.close(
            `frame size ${sizeBytes} is outside 0..${this.#requestSizeBytesMax} (socket.request.max.bytes)`,
          );
          return;
        }
        this.#frame = this.#newFrame(sizeBytes);
        this.#frameFilled = 0;
      }
      const part = Math.min(this.#frame.length - this.#frameFilled, chunk.length - at);
      this.#frame.set(chunk.subarray(at, at + part), this.#frameFilled);
      this.#frameFilled += part;
      at += part;
      if (this.#frameFilled === this.#frame.length) {
        this.#frames.push(this.#frame);
        this.#frame = undefined;
      }
    }
    if (!this.#pumping && this.#frames.length > 0) this.#pumpDone = this.#pump();
  }

  /** Resolves once the request in progress, if any, has finished. */
  idle(): Promise<void> {
    return this.#pumpDone;
  }

  onClose(error?: Error): void {
    if (error !== undefined && !this.#closed) {
      this.#log.debug(`Connection ${this.id} from ${this.socket.remoteAddress} failed: ${error}`);
    }
    this.#finish();
  }

  /** Queues a response; resolves when it may be followed by the next one. */
  /**
   * Queues a response; resolves when the next one may be queued. `onSettled`
   * runs once the response is fully handed to the kernel or has failed (the
   * file slices it names are no longer in use).
   */
  async send(plan: readonly SendChunk[], onSettled?: () => void): Promise<void> {
    if (this.#closed) {
      onSettled?.();
      return;
    }
    const p = this.#sender.send(plan).catch((e) => {
      this.close(`sending a response failed: ${(e as Error).message}`);
    }).finally(() => {
      this.#pendingSends.delete(p);
      onSettled?.();
    });
    this.#pendingSends.add(p);
    if (this.#pendingSends.size >= PENDING_SENDS_MAX) await p;
  }

  /**
   * Resolves after `durationMs`, or at once when the connection closes. The
   * router awaits it to throttle a client over its quota: while it waits,
   * no further request of this connection is handled (Kafka mutes the
   * channel); bytes that arrive are only buffered.
   */
  mute(durationMs: number): Promise<void> {
    if (this.#closed || durationMs <= 0) return Promise.resolve();
    const signal = this.#abort.signal;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, durationMs);
      signal.addEventListener("abort", done);
    });
  }

  /** Closes the connection, logging why. */
  close(reason?: string): void {
    if (this.#closed) return;
    if (reason !== undefined) {
      this.#log.warn(`Closing connection ${this.id} from ${this.socket.remoteAddress}: ${reason}`);
    }
    this.socket.close();
    this.#finish();
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort();
    this.#frame = undefined;
    this.#frames = [];
    this.#onClosed(this);
  }

  /**
   * A buffer for a frame of `sizeBytes`: a recycled one for large frames when
   * one is free (a fresh 1 MiB buffer costs 256 first-touch page faults, which
   * are slow on this kind of VM), else a new one.
   */
  #newFrame(sizeBytes: number): Uint8Array {
    if (sizeBytes < POOLED_FRAME_MIN_BYTES || sizeBytes > POOLED_FRAME_MAX_BYTES) {
      return new Uint8Array(sizeBytes);
    }
    const pool = this.#framePool;
    for (let i = 0; i < pool.length; i++) {
      if (pool[i].length >= sizeBytes) return pool.splice(i, 1)[0].subarray(0, sizeBytes);
    }
    // Capacity: the next power of two, so that frames of similar sizes share buffers.
    return new Uint8Array(2 ** Math.ceil(Math.log2(sizeBytes))).subarray(0, sizeBytes);
  }

  /**
   * Takes back the buffer of a handled Produce frame. Only Produce: its
   * handler is done with the request bytes once it resolved (they are in the
   * log), whereas other APIs may keep views of a request (group metadata).
   */
  #recycleFrame(frame: Uint8Array): void {
    const capacity = frame.buffer.byteLength;
    if (
      frame.length >= POOLED_FRAME_MIN_BYTES && capacity <= POOLED_FRAME_MAX_BYTES &&
      frame.byteOffset === 0 && frame[0] === 0 && frame[1] === PRODUCE_API_KEY &&
      this.#framePool.length < FRAME_POOL_MAX
    ) {
      this.#framePool.push(new Uint8Array(frame.buffer as ArrayBuffer));
    }
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      while (!this.#closed && this.#frames.length > 0) {
        const frame = this.#frames.shift()!;
        try {
          await this.#handler.handleFrame(frame, this);
          this.#recycleFrame(frame);
        } catch (e) {
          if (e instanceof FrameError) this.close(e.message);
          else {
            this.#log.error(
              `Bug while handling a request on connection ${this.id}: ${(e as Error).stack ?? e}`,
            );
            this.close("internal error");
          }
        }
      }
    } finally {
      this.#pumping = false;
    }
  }
}
