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
import { decodeRequestHeader, encodeResponseHeader } from "../protocol/frame.ts";
import { apiTable } from "../protocol/messages/mod.ts";
import { Reader, Writer } from "../protocol/primitives.ts";
import { type SendChunk, sendPlanSizeBytes } from "../protocol/send_plan.ts";
import type { ApiHandler, BrokerCore, RequestInfo } from "./context.ts";
import { type Connection, FrameError, type FrameHandler } from "./connection.ts";
import { apiHandlers } from "./handlers/mod.ts";
import { type ApiRanges, apiVersionsBody, apiVersionsHandler } from "./handlers/api_versions.ts";

const API_VERSIONS_KEY = 18;

/** Dispatches frames to handlers. */
export class RequestRouter implements FrameHandler {
  readonly #broker: BrokerCore;
  readonly #handlers = new Map<number, ApiHandler>();
  readonly #ranges: ApiRanges;

  constructor(broker: BrokerCore) {
    this.#broker = broker;
    const all = [...apiHandlers, apiVersionsHandler(() => this.#ranges)];
    for (const h of all) {
      const spec = apiTable[h.apiKey];
      if (spec === undefined || h.minVersion < spec.minVersion || h.maxVersion > spec.maxVersion) {
        throw new Error(`Handler for API key ${h.apiKey} serves versions outside its spec.`);
      }
      this.#handlers.set(h.apiKey, h);
    }
    this.#ranges = [...this.#handlers.values()]
      .map((h) => ({ apiKey: h.apiKey, minVersion: h.minVersion, maxVersion: h.maxVersion }))
      .sort((a, b) => a.apiKey - b.apiKey);
  }

  /** What ApiVersions advertises. */
  get ranges(): ApiRanges {
    return this.#ranges;
  }

  async handleFrame(frame: Uint8Array, connection: Connection): Promise<void> {
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
      if (info.apiKey === API_VERSIONS_KEY) {
        await connection.send(
          this.#encode(info, 0, apiVersionsBody(this.#ranges, ErrorCode.UNSUPPORTED_VERSION)),
        );
        return;
      }
      throw new FrameError(
        `API key ${info.apiKey} version ${info.apiVersion} is outside the served range ${handler.minVersion}-${handler.maxVersion}`,
      );
    }
    const spec = apiTable[info.apiKey]!;
    const reader = new Reader(frame, header.headerSizeBytes);
    const request = spec.decodeRequest(reader, info.apiVersion);
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
    try {
      response = await handler.handle(
        { broker: this.#broker, request: info, connection, afterSend: (fn) => settled.push(fn) },
        request,
      );
    } catch (e) {
      runSettled();
      throw e;
    }
    if (response === null || connection.closed) {
      runSettled();
      return;
    }
    await connection.send(this.#encode(info, info.apiVersion, response), runSettled);
  }

  #encode(info: RequestInfo, bodyVersion: number, body: unknown): SendChunk[] {
    const w = new Writer();
    encodeResponseHeader(w, info.apiKey, bodyVersion, info.correlationId);
    apiTable[info.apiKey]!.encodeResponse(w, bodyVersion, body);
    const plan = w.finish();
    const size = new Uint8Array(4);
    new DataView(size.buffer).setInt32(0, sendPlanSizeBytes(plan));
    return [size, ...plan];
  }
}
