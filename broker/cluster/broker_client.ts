/**
 * An outbound Kafka connection from one broker to another (a follower's
 * fetcher to its leader, Kafka's `BlockingSend`): requests encoded with the
 * generated codecs, size-prefixed frames reassembled from the socket's
 * chunks, responses matched to requests by correlation id. Works over the
 * runtime's {@linkcode Runtime.connect}, so it is the same under Deno and Bun.
 *
 * @module
 */
import type { Runtime, Socket, TlsClientOptions } from "../../ffi/port.ts";
import {
  beginFrame,
  encodeRequestHeader,
  finishFrame,
  FRAME_PREFIX_SIZE_BYTES,
  readResponseHeader,
} from "../../protocol/frame.ts";
import type { ApiMessage } from "../../protocol/messages/mod.ts";
import { Reader, Writer } from "../../protocol/primitives.ts";
import { concatBytes } from "../../util/bytes.ts";
import { interBrokerLogin, type InterBrokerSasl } from "./inter_broker_login.ts";

/** A response frame larger than this closes the connection (a corrupt size prefix). */
export const RESPONSE_FRAME_BYTES_MAX = 256 * 1024 * 1024;

interface Pending {
  readonly decode: (r: Reader) => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
}

/** See the module doc. */
export class BrokerClient {
  readonly #socket: Socket;
  readonly #clientId: string;
  readonly #pending = new Map<number, Pending>();
  #chunks: Uint8Array[] = [];
  #bufferedBytes = 0;
  /** Bytes to buffer before the next frame (or its size prefix) is whole. */
  #neededBytes = FRAME_PREFIX_SIZE_BYTES;
  #nextCorrelationId = 1;
  #closed = false;
  #closeError: Error | undefined;

  private constructor(socket: Socket, clientId: string) {
    this.#socket = socket;
    this.#clientId = clientId;
  }

  /**
   * Connects to `host:port` (over TLS with `options.tls`) and, with `options.sasl`, logs in
   * (see `inter_broker_login.ts`). Rejects, the connection closed, if the connection or the
   * login fails, or the login takes longer than `options.loginTimeoutMs` (a leader that
   * accepts but never answers).
   */
  static async connect(
    runtime: Pick<Runtime, "connect">,
    address: { host: string; port: number },
    clientId: string,
    options: { sasl?: InterBrokerSasl; tls?: TlsClientOptions; loginTimeoutMs?: number } = {},
  ): Promise<BrokerClient> {
    let client: BrokerClient | undefined;
    await runtime.connect(
      { hostname: address.host, port: address.port, tls: options.tls },
      (socket) => {
        client = new BrokerClient(socket, clientId);
        return {
          onData: (chunk) => client!.#onData(chunk),
          onClose: (error) => client!.#onClose(error),
        };
      },
    );
    if (options.sasl !== undefined) {
      const timeoutMs = options.loginTimeoutMs ?? Infinity;
      const timer = Number.isFinite(timeoutMs)
        ? setTimeout(() => client!.close(`No SASL login answer within ${timeoutMs} ms`), timeoutMs)
        : undefined;
      try {
        await interBrokerLogin(client!, options.sasl);
      } catch (error) {
        client!.close((error as Error).message);
        throw error;
      } finally {
        clearTimeout(timer);
      }
    }
    return client!;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sends a request of `api` at `version` and resolves with its decoded response. */
  request<Req, Res>(api: ApiMessage<Req, Res>, version: number, body: Req): Promise<Res> {
    if (this.#closed) return Promise.reject(this.#closeError ?? new Error("Connection is closed"));
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
    const frame = concatBytes(finishFrame(w, mark) as Uint8Array[]);
    return new Promise<Res>((resolve, reject) => {
      const decode = (r: Reader) => {
        const decoded = api.decodeResponse(r, version);
        if (r.error !== undefined) {
          throw new Error(`Undecodable ${api.name} v${version} response: ${r.error}`);
        }
        return decoded;
      };
      this.#pending.set(correlationId, {
        decode: (r) => {
          readResponseHeader(r, api.apiKey, version);
          return decode(r);
        },
        resolve: resolve as (value: unknown) => void,
        reject,
      });
      this.#socket.write(frame).catch((error) => this.#fail(error));
    });
  }

  /** Closes the connection; requests in flight reject with `reason`. Idempotent. */
  close(reason = "Connection closed"): void {
    this.#fail(new Error(reason));
  }

  /**
   * Keeps chunks until the frame under way is whole, then joins them once (a 10 MiB fetch
   * response arrives in many reads: joining at every read would copy it over and over).
   */
  #onData(chunk: Uint8Array): void {
    this.#chunks.push(chunk.slice()); // the runtime may reuse the chunk
    this.#bufferedBytes += chunk.length;
    if (this.#bufferedBytes < this.#neededBytes) return;
    let buffered = this.#chunks.length === 1 ? this.#chunks[0] : concatBytes(this.#chunks);
    this.#neededBytes = FRAME_PREFIX_SIZE_BYTES;
    while (buffered.length >= FRAME_PREFIX_SIZE_BYTES && !this.#closed) {
      const sizeBytes = new DataView(buffered.buffer, buffered.byteOffset).getInt32(0);
      if (sizeBytes < 0 || sizeBytes > RESPONSE_FRAME_BYTES_MAX) {
        return this.#fail(new Error(`Bad response frame size ${sizeBytes}`));
      }
      const end = FRAME_PREFIX_SIZE_BYTES + sizeBytes;
      if (buffered.length < end) {
        this.#neededBytes = end;
        break;
      }
      const frame = buffered.subarray(FRAME_PREFIX_SIZE_BYTES, end);
      buffered = buffered.subarray(end);
      this.#dispatch(frame);
    }
    this.#chunks = buffered.length > 0 ? [buffered] : [];
    this.#bufferedBytes = buffered.length;
  }

  #dispatch(frame: Uint8Array): void {
    const correlationId = new DataView(frame.buffer, frame.byteOffset).getInt32(0);
    const pending = this.#pending.get(correlationId);
    if (pending === undefined) {
      return this.#fail(new Error(`Response to unknown correlation id ${correlationId}`));
    }
    this.#pending.delete(correlationId);
    try {
      pending.resolve(pending.decode(new Reader(frame)));
    } catch (error) {
      pending.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  #onClose(error?: Error): void {
    this.#fail(error ?? new Error("The broker closed the connection"));
  }

  #fail(error: Error): void {
    if (!this.#closed) {
      this.#closed = true;
      this.#closeError = error;
      this.#socket.close();
    }
    for (const p of this.#pending.values()) p.reject(error);
    this.#pending.clear();
  }
}
