/**
 * A bare Kafka connection for the bad-input suite: raw bytes out, frames in,
 * requests encoded with the project's generated codecs, and bounded waits for
 * a response or for the broker to hang up.
 *
 * @module
 */
import {
  beginFrame,
  encodeRequestHeader,
  finishFrame,
  readResponseHeader,
} from "../../protocol/frame.ts";
import {
  defaultFetchRequest,
  defaultFetchRequestPartition,
  defaultFetchRequestTopic,
  type FetchResponse,
} from "../../protocol/messages/fetch.ts";
import { type ApiMessage, fetchApi } from "../../protocol/messages/mod.ts";
import { Reader, Writer } from "../../protocol/primitives.ts";
import { concatBytes } from "../../util/bytes.ts";

/** How long a test waits for a response or a hang-up. */
export const RESPONSE_TIMEOUT_MS = 10_000;

/** A frame read, or the peer's hang-up. */
export type FrameOrClose = { kind: "frame"; body: Uint8Array } | { kind: "closed" };

/** One TCP connection to the broker, spoken to byte by byte. */
export class RawConnection {
  readonly #conn: Deno.TcpConn;
  readonly #clientId: string;
  #buffered: Uint8Array = new Uint8Array(0);
  #closed = false;
  #nextCorrelationId = 1;

  private constructor(conn: Deno.TcpConn, clientId: string) {
    this.#conn = conn;
    this.#clientId = clientId;
  }

  /** Connects to `bootstrap` (`host:port`); requests carry `clientId` (default "denka-raw"). */
  static async connect(bootstrap: string, clientId = "denka-raw"): Promise<RawConnection> {
    const [hostname, port] = bootstrap.split(":");
    const conn = await Deno.connect({ hostname, port: Number(port) });
    return new RawConnection(conn, clientId);
  }

  /** Writes `bytes` whole. */
  async send(bytes: Uint8Array): Promise<void> {
    let written = 0;
    while (written < bytes.length) written += await this.#conn.write(bytes.subarray(written));
  }

  /** Closes our write side only (the broker sees EOF after what was sent). */
  async closeWrite(): Promise<void> {
    await this.#conn.closeWrite();
  }

  /** Closes the connection (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch { /* already closed by a timed-out read */ }
  }

  /** Reads more bytes; false at EOF or on a reset. Closes the socket on timeout. */
  async #fill(deadlineMs: number): Promise<boolean> {
    const chunk = new Uint8Array(64 * 1024);
    const remainingMs = deadlineMs - Date.now();
    if (remainingMs <= 0) throw new Error("Timed out waiting for the broker");
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.close();
    }, remainingMs);
    let n: number | null;
    try {
      n = await this.#conn.read(chunk);
    } catch (e) {
      if (timedOut) throw new Error("Timed out waiting for the broker");
      if (e instanceof Deno.errors.ConnectionReset || e instanceof Deno.errors.BrokenPipe) {
        return false;
      }
      throw e;
    } finally {
      clearTimeout(timer);
    }
    if (n === null) return false;
    const next = new Uint8Array(this.#buffered.length + n);
    next.set(this.#buffered);
    next.set(chunk.subarray(0, n), this.#buffered.length);
    this.#buffered = next;
    return true;
  }

  /** Reads one size-prefixed frame, or reports that the broker closed the connection. */
  async readFrame(timeoutMs = RESPONSE_TIMEOUT_MS): Promise<FrameOrClose> {
    const deadlineMs = Date.now() + timeoutMs;
    for (;;) {
      if (this.#buffered.length >= 4) {
        const size = new DataView(this.#buffered.buffer).getInt32(0);
        if (this.#buffered.length >= 4 + size) {
          const body = this.#buffered.slice(4, 4 + size);
          this.#buffered = this.#buffered.slice(4 + size);
          return { kind: "frame", body };
        }
      }
      if (!(await this.#fill(deadlineMs))) return { kind: "closed" };
    }
  }

  /** Waits until the broker hangs up; throws if it answers instead or stays silent. */
  async expectClosed(timeoutMs = RESPONSE_TIMEOUT_MS): Promise<void> {
    const next = await this.readFrame(timeoutMs);
    if (next.kind !== "closed") {
      throw new Error(
        `Expected the broker to close the connection; got a ${next.body.length}-byte frame`,
      );
    }
  }

  /** Encodes a request frame of `api` at `version` with the next correlation id. */
  encode<Req>(
    api: ApiMessage<Req, unknown>,
    version: number,
    body: Req,
  ): { frame: Uint8Array; correlationId: number } {
    const correlationId = this.#nextCorrelationId++;
    const w = new Writer();
    const mark = beginFrame(w);
    encodeRequestHeader(w, {
      apiKey: api.apiKey,
      apiVersion: version,
      correlationId,
      clientId: this.#clientId,
    });
    api.encodeRequest(w, version, body);
    return { frame: concatBytes(finishFrame(w, mark) as Uint8Array[]), correlationId };
  }

  /** Sends a request and decodes its response (checking the correlation id). */
  async request<Req, Res>(
    api: ApiMessage<Req, Res>,
    version: number,
    body: Req,
  ): Promise<Res> {
    const { frame, correlationId } = this.encode(api, version, body);
    await this.send(frame);
    const response = await this.readFrame();
    if (response.kind === "closed") {
      throw new Error(
        `The broker closed the connection instead of answering ${api.name} v${version}`,
      );
    }
    const r = new Reader(response.body);
    const got = readResponseHeader(r, api.apiKey, version);
    if (got !== correlationId) {
      throw new Error(`Correlation id ${got} does not match the request's ${correlationId}`);
    }
    const decoded = api.decodeResponse(r, version);
    if (r.error !== undefined) {
      throw new Error(`Undecodable ${api.name} v${version} response: ${r.error}`);
    }
    return decoded;
  }
}

/**
 * Fetches partition 0 of `topic` from `offset` by name (`version` <= 12), without a session and
 * without waiting; `maxBytes` bounds the response and the partition alike.
 */
export function fetchPartition0(
  c: RawConnection,
  topic: string,
  offset: number,
  options: { version: number; maxBytes: number },
): Promise<FetchResponse> {
  return c.request(fetchApi, options.version, {
    ...defaultFetchRequest(),
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: options.maxBytes,
    topics: [{
      ...defaultFetchRequestTopic(),
      topic,
      partitions: [{
        ...defaultFetchRequestPartition(),
        fetchOffset: offset,
        partitionMaxBytes: options.maxBytes,
      }],
    }],
  });
}

/** Opens a connection, runs `fn`, and closes it whatever happens. */
export async function withConnection<T>(
  bootstrap: string,
  fn: (c: RawConnection) => Promise<T>,
): Promise<T> {
  const c = await RawConnection.connect(bootstrap);
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}
