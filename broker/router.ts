/**
 * Routes one request frame: decode the header, refuse what is not served,
 * decode the body with the generated codec, call the handler, encode the
 * response (header + body + file slices) and queue it on the connection.
 *
 * A frame that cannot be decoded, an unknown API key, or a version outside
 * the advertised range closes the connection, as Kafka does; ApiVersions at
 * an unknown version is answered instead (KIP-511).
 *
 * @module
 */
import { ErrorCode } from "../protocol/error_codes.ts";
import {
  beginFrame,
  decodeRequestHeader,
  encodeResponseHeader,
  finishFrame,
} from "../protocol/frame.ts";
import { ApiKey, apiTable } from "../protocol/messages/mod.ts";
import { Reader, Writer } from "../protocol/primitives.ts";
import type { SendChunk } from "../protocol/send_plan.ts";
import type { ApiHandler, BrokerCore, RequestInfo } from "./context.ts";
import { type Connection, FrameError, type FrameHandler } from "./connection.ts";
import { apiHandlers } from "./handlers/mod.ts";
import { type ApiRanges, apiVersionsBody, apiVersionsHandler } from "./handlers/api_versions.ts";
import { respondsBeforeThrottle } from "./quotas.ts";
import { RequestTraffic } from "./traffic.ts";

/** Response writers a connection keeps for reuse, at most. */
/** Free response writers kept for reuse, shared by all connections (an idle connection holds none). */
const FREE_WRITERS_MAX = 64;

/**
 * Sees every request a handler ran (metrics): its header and how long the
 * handler took, also when it threw. Must not throw. (Traffic is reported by
 * the handlers themselves, see `traffic.ts`.)
 */
export type RequestObserver = (info: RequestInfo, elapsedMs: number) => void;

/** Dispatches frames to handlers. */
export class RequestRouter implements FrameHandler {
  readonly #broker: BrokerCore;
  readonly #handlers = new Map<number, ApiHandler>();
  readonly #ranges: ApiRanges;
  /** Response writers free for reuse, per connection (dropped with the connection). */
  readonly #freeWriters: Writer[] = [];
  /** Called after each handled request (the HTTP metrics set it). */
  observer: RequestObserver | undefined;

  constructor(broker: BrokerCore) {
    this.#broker = broker;
    const all = [...apiHandlers, apiVersionsHandler(() => this.#ranges)];
    for (const h of all) {
      const api = h.api;
      if (h.minVersion < api.minVersion || h.maxVersion > api.maxVersion) {
        throw new Error(`Handler for ${api.name} serves versions outside its spec.`);
      }
      if (this.#handlers.has(api.apiKey)) throw new Error(`Two handlers for ${api.name}.`);
      this.#handlers.set(api.apiKey, h);
    }
    this.#ranges = [...this.#handlers.values()]
      .map((h) => ({ apiKey: h.api.apiKey, minVersion: h.minVersion, maxVersion: h.maxVersion }))
      .sort((a, b) => a.apiKey - b.apiKey);
  }

  /** What ApiVersions advertises. */
  get ranges(): ApiRanges {
    return this.#ranges;
  }

  async handleFrame(frame: Uint8Array, connection: Connection): Promise<void> {
    // SASL listeners: a bare token after SaslHandshake v0; otherwise only the SASL APIs until authenticated.
    const sasl = this.#broker.sasl.sessionFor(connection);
    if (sasl?.expectsRawToken) return sasl.rawToken(frame);
    const header = decodeRequestHeader(frame);
    if (header.error !== undefined) throw new FrameError(`bad request header: ${header.error}`);
    const info: RequestInfo = {
      apiKey: header.apiKey,
      apiVersion: header.apiVersion,
      correlationId: header.correlationId,
      clientId: header.clientId,
    };
    this.#broker.counters.requests++;
    const handler = this.#handlers.get(info.apiKey);
    if (handler === undefined) {
      throw new FrameError(`unknown or unsupported API key ${info.apiKey}`);
    }
    if (info.apiVersion < handler.minVersion || info.apiVersion > handler.maxVersion) {
      if (info.apiKey === ApiKey.ApiVersions) {
        const w = this.#takeWriter(connection);
        await connection.send(
          this.#encode(w, info, 0, apiVersionsBody(this.#ranges, ErrorCode.UNSUPPORTED_VERSION)),
          () => this.#returnWriter(connection, w),
        );
        return;
      }
      throw new FrameError(
        `API key ${info.apiKey} version ${info.apiVersion} is outside the served range ${handler.minVersion}-${handler.maxVersion}`,
      );
    }
    sasl?.admit(info.apiKey);
    const reader = new Reader(frame, header.headerSizeBytes);
    const request = handler.api.decodeRequest(reader, info.apiVersion);
    if (!reader.ok) {
      throw new FrameError(
        `cannot decode API key ${info.apiKey} v${info.apiVersion}: ${reader.error}`,
      );
    }
    const settled: (() => void)[] = [];
    const runSettled = () => {
      for (const fn of settled) fn();
    };
    let response: unknown;
    const traffic = new RequestTraffic(this.#broker.traffic);
    const startedMs = performance.now();
    try {
      response = await handler.handle({
        broker: this.#broker,
        request: info,
        connection,
        traffic,
        leaseUntilSent: (log) => settled.push(log.retainReads()),
      }, request);
    } catch (e) {
      runSettled();
      throw e;
    } finally {
      this.observer?.(info, performance.now() - startedMs);
    }
    const quotas = this.#broker.quotas;
    const throttleMs = quotas.active ? quotas.throttleRequest(info, frame.length, traffic) : 0;
    if (throttleMs > 0 && response !== null) {
      (response as { throttleTimeMs: number }).throttleTimeMs = throttleMs;
    }
    if (response === null || connection.closed) {
      runSettled();
      if (throttleMs > 0) await connection.mute(throttleMs); // acks=0: nothing to answer
      return;
    }
    // KIP-219 clients get the response at once, then the connection is muted;
    // older ones get it once the throttle time has passed.
    const delayResponse = throttleMs > 0 && !respondsBeforeThrottle(info);
    if (delayResponse) await connection.mute(throttleMs);
    const w = this.#takeWriter(connection);
    await connection.send(this.#encode(w, info, info.apiVersion, response), () => {
      this.#returnWriter(connection, w);
      runSettled();
      sasl?.afterResponse();
    });
    if (throttleMs > 0 && !delayResponse) await connection.mute(throttleMs);
  }

  /** The size prefix, header and body in one plan, written by `w` (no separate prefix buffer). */
  #encode(w: Writer, info: RequestInfo, bodyVersion: number, body: unknown): SendChunk[] {
    const mark = beginFrame(w);
    encodeResponseHeader(w, info.apiKey, bodyVersion, info.correlationId);
    apiTable[info.apiKey]!.encodeResponse(w, bodyVersion, body);
    return finishFrame(w, mark);
  }

  /**
   * A response writer, reused once the response it wrote has been sent, so a
   * response allocates no 8 KiB buffer. Shared by every connection: kept
   * per connection, they cost each idle connection 8 KiB.
   */
  #takeWriter(_connection: Connection): Writer {
    return this.#freeWriters.pop() ?? new Writer();
  }

  #returnWriter(_connection: Connection, w: Writer): void {
    w.reset();
    if (this.#freeWriters.length < FREE_WRITERS_MAX) this.#freeWriters.push(w);
  }
}
