/**
 * One client connection: size-prefixed frames in, responses out strictly in
 * request order. Requests are handled one at a time, as Kafka does, and the
 * connection parses nothing more while one is in progress (Kafka mutes the
 * channel): the first read that arrives meanwhile is kept unparsed and the
 * socket is paused, so what the client pipelines stays in the kernel's
 * buffers and TCP flow control stops the client. A response's send
 * overlaps with the next request's handling, bounded by
 * {@linkcode PENDING_SENDS_MAX}.
 *
 * Memory per connection is bounded by construction: one frame, being read
 * or being handled (its size reserved in the broker-wide
 * {@linkcode RequestMemoryPool} before its body is read; no room means no
 * reading), the unparsed rest of a read (`#leftover`: one read, two when a
 * runtime delivers the read it had under way when paused), and at most
 * {@linkcode PENDING_SENDS_MAX} responses being sent. A frame whose
 * body has not started costs nothing, so connections that send a size
 * prefix and stop hold no memory (the sweep in `connection_table.ts` closes
 * them after `connections.frame.timeout.ms`).
 *
 * A broken frame (negative or oversized size prefix, unknown API key or
 * version, undecodable header or body) closes this connection alone, with a
 * logged reason.
 *
 * @module
 */
import type { Socket, SocketHandlers } from "../ffi/port.ts";
import { ApiKey } from "../protocol/messages/mod.ts";
import { concatBytes } from "../util/bytes.ts";
import type { SendChunk } from "../protocol/send_plan.ts";
import type { Logger, LogRateLimiter } from "../util/log.ts";
import type { FrameBufferPool } from "./frame_buffers.ts";
import type { PendingReservation, RequestMemoryPool } from "./request_memory.ts";

/** Frames answered before their predecessors' sends finished, at most. */
const PENDING_SENDS_MAX = 8;
/** No frame in progress past its size prefix. */
const NO_FRAME = -1;
/** Kafka's principal for a connection nobody authenticated (`KafkaPrincipal.ANONYMOUS`). */
export const ANONYMOUS_PRINCIPAL = "User:ANONYMOUS";
/** Kafka's security protocols, as listeners name them. */
export type SecurityProtocol = "PLAINTEXT" | "SSL" | "SASL_PLAINTEXT" | "SASL_SSL";

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

/** What a connection shares with the others (one per broker). */
export interface ConnectionShared {
  readonly handler: FrameHandler;
  readonly logger: Logger;
  /** Why a connection was closed, rate-limited: a client may open bad connections in a loop. */
  readonly warnings: LogRateLimiter;
  /** Kafka's socket.request.max.bytes. */
  readonly requestSizeBytesMax: number;
  /** Kafka's queued.max.request.bytes. */
  readonly memory: RequestMemoryPool;
  readonly frameBuffers: FrameBufferPool;
  readonly nowMs: () => number;
  readonly onClosed: (c: Connection) => void;
  /** Counts connections closed for a broken frame (bad size prefix, undecodable request). */
  readonly counters: { connectionsClosedForBadFrames: number };
}

/** One client connection. */
export class Connection implements SocketHandlers {
  readonly socket: Socket;
  readonly id: number;
  /**
   * Who is on the other end (KIP-11 form `User:NAME`): ANONYMOUS until SASL or a
   * client certificate says otherwise. Authorization reads it for every request.
   */
  principal: string = ANONYMOUS_PRINCIPAL;
  /** The listener this connection came through (Kafka's listener name, e.g. `PLAINTEXT`). */
  listenerName = "PLAINTEXT";
  /** That listener's security protocol: SASL_* listeners require authentication first. */
  securityProtocol: SecurityProtocol = "PLAINTEXT";
  readonly #shared: ConnectionShared;
  readonly #sender: ResponseSender;
  readonly #log: Logger;
  readonly #abort = new AbortController();
  // The frame being assembled from incoming bytes.
  readonly #sizePrefix = new Uint8Array(4);
  readonly #sizeView = new DataView(this.#sizePrefix.buffer);
  #sizeFilled = 0;
  /** The size of a frame whose prefix is read and whose buffer is not yet reserved. */
  #frameSizeBytes = NO_FRAME;
  #frame: Uint8Array | undefined = undefined;
  #frameFilled = 0;
  /** Bytes reserved in the memory pool for `#frame` (the frame being read). */
  #frameReservedBytes = 0;
  #pendingReservation: PendingReservation | undefined;
  /** Bytes read but not yet parsed (the rest of a read that came during a request). */
  #leftover: Uint8Array | undefined;
  #busy = false;
  #reading = true;
  #pumpDone: Promise<void> = Promise.resolve();
  #pendingSends = new Set<Promise<void>>();
  #closed = false;
  /** When bytes last came in or a response went out (for connections.max.idle.ms). */
  lastActivityMs: number;
  /**
   * When the frame being read started to arrive, while the broker is reading
   * (for connections.frame.timeout.ms); `undefined` when no frame is partly
   * read or the connection is paused (then the wait is the broker's).
   */
  frameStartedMs: number | undefined;

  constructor(
    socket: Socket,
    options: { id: number; sender: ResponseSender; shared: ConnectionShared },
  ) {
    this.socket = socket;
    this.id = options.id;
    this.#sender = options.sender;
    this.#shared = options.shared;
    this.#log = options.shared.logger;
    this.lastActivityMs = options.shared.nowMs();
  }

  /** Aborted when the connection closes: long-poll fetches listen to it. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** A request is being handled (the connection is muted meanwhile). */
  get busy(): boolean {
    return this.#busy;
  }

  /** The socket is being read (not paused). */
  get reading(): boolean {
    return this.#reading;
  }

  onData(chunk: Uint8Array): void {
    this.lastActivityMs = this.#shared.nowMs();
    if (this.#leftover !== undefined) {
      // A read that was under way when the socket paused: keep it behind the rest.
      this.#keep(chunk);
      this.#updateReading();
    } else {
      this.#consume(chunk);
    }
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
      this.lastActivityMs = this.#shared.nowMs();
      onSettled?.();
    });
    this.#pendingSends.add(p);
    if (this.#pendingSends.size >= PENDING_SENDS_MAX) await p;
  }

  /**
   * Resolves after `durationMs`, or at once when the connection closes. The
   * router awaits it to throttle a client over its quota: while it waits,
   * no further request of this connection is read (Kafka mutes the channel).
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
      this.#shared.warnings.warn(
        "connection-closed",
        `Closing connection ${this.id} from ${this.socket.remoteAddress}: ${reason}`,
      );
    }
    this.socket.close();
    this.#finish();
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort();
    this.#pendingReservation?.cancel();
    this.#pendingReservation = undefined;
    if (this.#frameReservedBytes > 0) this.#shared.memory.release(this.#frameReservedBytes);
    this.#frameReservedBytes = 0;
    this.#frame = undefined;
    this.#leftover = undefined;
    this.frameStartedMs = undefined;
    this.#shared.onClosed(this);
  }

  /**
   * Parses `chunk` into the frame being read until it is used up, a frame is
   * complete (it is handled; the rest waits in `#leftover`), or the memory
   * pool has no room for the next frame's body.
   */
  #consume(chunk: Uint8Array): void {
    let at = 0;
    while (!this.#closed && !this.#busy && this.#pendingReservation === undefined) {
      if (this.#frame === undefined && this.#frameSizeBytes === NO_FRAME) {
        if (at === chunk.length) break;
        if (this.#sizeFilled === 0 && this.#reading) this.frameStartedMs = this.#shared.nowMs();
        const part = Math.min(4 - this.#sizeFilled, chunk.length - at);
        this.#sizePrefix.set(chunk.subarray(at, at + part), this.#sizeFilled);
        this.#sizeFilled += part;
        at += part;
        if (this.#sizeFilled < 4) break;
        this.#sizeFilled = 0;
        const sizeBytes = this.#sizeView.getInt32(0);
        const maxBytes = this.#shared.requestSizeBytesMax;
        if (sizeBytes < 0 || sizeBytes > maxBytes) {
          this.#shared.counters.connectionsClosedForBadFrames++;
          this.close(
            `frame size ${sizeBytes} is outside 0..${maxBytes} (socket.request.max.bytes)`,
          );
          return;
        }
        this.#frameSizeBytes = sizeBytes;
      }
      if (this.#frame === undefined) {
        // Memory is reserved when the body starts: a bare size prefix costs nothing.
        if (at === chunk.length && this.#frameSizeBytes > 0) break;
        if (!this.#reserve(this.#frameSizeBytes)) break;
      }
      const frame = this.#frame!;
      if (at === chunk.length && this.#frameFilled < frame.length) break;
      const part = Math.min(frame.length - this.#frameFilled, chunk.length - at);
      frame.set(chunk.subarray(at, at + part), this.#frameFilled);
      this.#frameFilled += part;
      at += part;
      if (this.#frameFilled === frame.length) this.#start(frame);
    }
    if (at < chunk.length && !this.#closed) this.#keep(chunk.subarray(at));
    this.#updateReading();
  }

  /** Reserves the next frame's bytes and takes its buffer; false when waiting for room. */
  #reserve(sizeBytes: number): boolean {
    const pending = this.#shared.memory.reserve(sizeBytes, this.#granted);
    if (pending !== undefined) {
      this.#pendingReservation = pending;
      return false;
    }
    this.#takeFrame(sizeBytes);
    return true;
  }

  /** A reservation that waited is made (one closure per connection, not per frame). */
  readonly #granted = () => {
    // Runs inside another connection's release: continue on a fresh stack.
    const sizeBytes = this.#frameSizeBytes;
    this.#pendingReservation = undefined;
    if (this.#closed) return this.#shared.memory.release(sizeBytes);
    this.#takeFrame(sizeBytes);
    queueMicrotask(() => this.#continue());
  };

  #takeFrame(sizeBytes: number): void {
    this.#frameReservedBytes = sizeBytes;
    this.#frame = this.#shared.frameBuffers.take(sizeBytes);
    this.#frameFilled = 0;
    this.#frameSizeBytes = NO_FRAME;
  }

  /** Keeps unparsed bytes (copied: the runtime may reuse the chunk). */
  #keep(bytes: Uint8Array): void {
    const old = this.#leftover;
    this.#leftover = old === undefined ? bytes.slice() : concatBytes([old, bytes]);
  }

  /** After a request or a wait for room: parse what is left, then read again. */
  #continue(): void {
    if (this.#closed) return;
    const leftover = this.#leftover;
    this.#leftover = undefined;
    if (leftover !== undefined) this.#consume(leftover);
    else this.#updateReading();
  }

  /**
   * Reads while nothing is waiting to be parsed and the memory pool had room;
   * pauses otherwise. A request in progress alone does not pause the socket:
   * the first read that arrives during it does (it waits in `#leftover`), so
   * a client that does not pipeline costs no pause/resume calls.
   */
  #updateReading(): void {
    const want = !this.#closed && this.#pendingReservation === undefined &&
      this.#leftover === undefined;
    if (want === this.#reading || this.#closed) return;
    this.#reading = want;
    if (want) {
      const partial = this.#sizeFilled > 0 || this.#frameSizeBytes !== NO_FRAME ||
        this.#frame !== undefined;
      this.frameStartedMs = partial ? this.#shared.nowMs() : undefined;
      this.socket.resume();
    } else {
      this.frameStartedMs = undefined;
      this.socket.pause();
    }
  }

  /** Hands a complete frame to the handler; the connection is busy until it is done. */
  #start(frame: Uint8Array): void {
    this.#frame = undefined;
    this.#frameReservedBytes = 0;
    this.frameStartedMs = undefined;
    this.#busy = true;
    this.#pumpDone = this.#handle(frame);
  }

  async #handle(frame: Uint8Array): Promise<void> {
    const sizeBytes = frame.length; // a freed (detached) frame reads as empty
    try {
      await this.#shared.handler.handleFrame(frame, this);
      // Only Produce: its handler is done with the request bytes once it
      // resolved (they are in the log), whereas other APIs may keep views of
      // a request (group metadata).
      if (frame[0] === 0 && frame[1] === ApiKey.Produce) this.#shared.frameBuffers.give(frame);
    } catch (e) {
      if (e instanceof FrameError) {
        this.#shared.counters.connectionsClosedForBadFrames++;
        this.#shared.frameBuffers.free(frame); // refused whole: no view of it is kept
        this.close(e.message);
      } else {
        this.#log.error(
          `Bug while handling a request on connection ${this.id}: ${(e as Error).stack ?? e}`,
        );
        this.close("internal error");
      }
    } finally {
      this.#shared.memory.release(sizeBytes);
      this.#busy = false;
      this.lastActivityMs = this.#shared.nowMs();
      this.#continue();
    }
  }
}
