/**
 * The load generator's Kafka connection, built on Denka's own codecs: requests
 * are encoded once with the generated messages and the frame helpers, then
 * re-sent with only the correlation id patched; many requests stay in flight
 * on one connection, and responses are matched by correlation id.
 *
 * Reading allocates nothing per response in the steady state: small frames
 * are handled as views of the read buffer, and a frame larger than the read
 * buffer (a fetch response) is read straight into one reused frame buffer,
 * so its bytes are copied once, by the kernel.
 *
 * A response callback gets a view that is valid only during the call.
 *
 * @module
 */
import { beginFrame, encodeRequestHeader, finishFrame } from "../protocol/frame.ts";
import type { ApiMessage } from "../protocol/messages/mod.ts";
import { Reader, Writer } from "../protocol/primitives.ts";
import { readResponseHeader } from "../protocol/frame.ts";

/** Bytes read per `read()` call when no large frame is being assembled. */
const READ_BUFFER_BYTES = 1024 * 1024;
/** Offset of the correlation id in a size-prefixed request frame. */
const CORRELATION_ID_AT = 8;

/** Concatenates a send plan's byte chunks (requests never carry file slices). */
function flatten(chunks: readonly unknown[]): Uint8Array {
  const parts = chunks as Uint8Array[];
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Encodes a size-prefixed request frame (correlation id 0: patched at send). */
export function encodeRequestFrame<Req>(
  api: ApiMessage<Req, unknown>,
  version: number,
  body: Req,
  clientId = "denka-bench",
): Uint8Array {
  const w = new Writer();
  const mark = beginFrame(w);
  encodeRequestHeader(w, { apiKey: api.apiKey, apiVersion: version, correlationId: 0, clientId });
  api.encodeRequest(w, version, body);
  return flatten(finishFrame(w, mark));
}

/** Gets the response body, or `undefined` when the connection ended first. */
type ResponseHandler = (body: Uint8Array | undefined) => void;

/** One pipelined connection. */
export class BenchConnection {
  readonly #conn: Deno.Conn;
  readonly #pending = new Map<number, ResponseHandler>();
  #nextCorrelationId = 1;
  #writeTail: Promise<void> = Promise.resolve();
  #closed = false;
  #failure: Error | undefined;
  /** Resolves when the read loop ends. */
  readonly done: Promise<void>;

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
    this.done = this.#readLoop();
  }

  /**
   * Connects to `host:port` with TCP_NODELAY; over TLS (handshake done before it resolves)
   * when `tls` gives the CA certificate to verify the broker with.
   */
  static async connect(hostPort: string, tls?: { caPem: string }): Promise<BenchConnection> {
    const at = hostPort.lastIndexOf(":");
    const address = { hostname: hostPort.slice(0, at), port: Number(hostPort.slice(at + 1)) };
    if (tls !== undefined) {
      const conn = await Deno.connectTls({ ...address, caCerts: [tls.caPem] });
      await conn.handshake();
      return new BenchConnection(conn);
    }
    const conn = await Deno.connect(address);
    conn.setNoDelay(true);
    return new BenchConnection(conn);
  }

  /** Requests awaiting a response. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /**
   * Patches a fresh correlation id into `frame`, writes it after earlier
   * writes, and calls `onResponse` with the response body (after the header's
   * correlation id) when it arrives. Resolves when the frame is written; the
   * caller must not touch `frame` until the response arrived.
   */
  send(frame: Uint8Array, onResponse: ResponseHandler): Promise<void> {
    if (this.#closed) return Promise.reject(this.#failure ?? new Error("Connection is closed"));
    const correlationId = this.#nextCorrelationId++;
    new DataView(frame.buffer, frame.byteOffset).setInt32(CORRELATION_ID_AT, correlationId);
    this.#pending.set(correlationId, onResponse);
    const run = this.#writeTail.then(() => this.#writeAll(frame));
    this.#writeTail = run.catch(() => {});
    return run;
  }

  /** Sends a request and decodes its response with the generated codec. */
  request<Req, Res>(api: ApiMessage<Req, Res>, version: number, body: Req): Promise<Res> {
    const frame = encodeRequestFrame(api, version, body);
    return new Promise<Res>((resolve, reject) => {
      this.send(frame, (bytes) => {
        if (bytes === undefined) return reject(new Error(`Connection closed before ${api.name}`));
        const r = new Reader(bytes);
        readResponseHeader(r, api.apiKey, version);
        const decoded = api.decodeResponse(r, version);
        if (r.error !== undefined) reject(new Error(`Undecodable ${api.name}: ${r.error}`));
        else resolve(decoded);
      }).catch(reject);
    });
  }

  /** Writes raw bytes that expect no response (the ingest ceiling). */
  writeRaw(bytes: Uint8Array): Promise<void> {
    const run = this.#writeTail.then(() => this.#writeAll(bytes));
    this.#writeTail = run.catch(() => {});
    return run;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    for (let done = 0; done < bytes.length;) {
      done += await this.#conn.write(bytes.subarray(done));
    }
  }

  #dispatch(body: Uint8Array): void {
    const correlationId = new DataView(body.buffer, body.byteOffset, 4).getInt32(0);
    const handler = this.#pending.get(correlationId);
    if (handler === undefined) throw new Error(`Unexpected correlation id ${correlationId}`);
    this.#pending.delete(correlationId);
    handler(body);
  }

  async #readLoop(): Promise<void> {
    const buffer = new Uint8Array(READ_BUFFER_BYTES);
    const sizeView = new DataView(buffer.buffer);
    let frame = new Uint8Array(0); // reused for frames larger than what is buffered
    let start = 0; // unparsed bytes are buffer[start, end)
    let end = 0;
    try {
      for (;;) {
        // Parse every whole frame that sits in the buffer.
        while (end - start >= 4) {
          const size = sizeView.getInt32(start);
          if (end - start - 4 < size) break;
          this.#dispatch(buffer.subarray(start + 4, start + 4 + size));
          start += 4 + size;
        }
        if (end - start >= 4) {
          const size = sizeView.getInt32(start);
          if (size + 4 > buffer.length) {
            // A big frame: read the rest of it straight into the frame buffer.
            if (frame.length < size) frame = new Uint8Array(size);
            let filled = end - start - 4;
            frame.set(buffer.subarray(start + 4, end));
            start = end = 0;
            while (filled < size) {
              const n = await this.#conn.read(frame.subarray(filled, size));
              if (n === null) return;
              filled += n;
            }
            this.#dispatch(frame.subarray(0, size));
            continue;
          }
        }
        if (start > 0) {
          buffer.copyWithin(0, start, end);
          end -= start;
          start = 0;
        }
        const n = await this.#conn.read(buffer.subarray(end));
        if (n === null) return;
        end += n;
      }
    } catch (e) {
      if (!this.#closed) this.#failure = e as Error;
    } finally {
      this.#closed = true;
      const handlers = [...this.#pending.values()];
      this.#pending.clear();
      for (const handler of handlers) handler(undefined);
    }
  }

  /** The error that ended the read loop, if any. */
  get failure(): Error | undefined {
    return this.#failure;
  }
}
