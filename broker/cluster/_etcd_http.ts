/**
 * HTTP to etcd's JSON gateway with plain `fetch` (the same under Deno, Bun
 * and a Bun single binary): several endpoints with failover, a timeout per
 * call, retries only where a call is idempotent (or could not have reached
 * the server: connection refused), and every failure mapped to a
 * {@linkcode CoordinatorError}. Also the gateway's encodings: keys and values
 * are base64, int64s are decimal strings, and fields at their zero value are
 * left out.
 *
 * @module
 */
import { linkSignals } from "./_linked_signal.ts";
import { CoordinatorError, type KeyValue } from "./coordinator.ts";
import type { ClusterClock } from "./lease_keeper.ts";
import { fromBase64 as decodeBase64, toBase64 } from "../../util/base64.ts";

/** The longest line a watch or observe stream may send before it counts as broken. */
export const STREAM_LINE_BYTES_MAX = 64 * 1024 * 1024;

/** How a call may be retried and how long it may take. */
export interface CallOptions {
  /** Safe to send again (to the next endpoint) after a timeout or a lost connection. */
  readonly idempotent: boolean;
  readonly signal?: AbortSignal;
  /** Default: the client's `callTimeoutMs`; `Infinity` for calls that wait (campaign). */
  readonly timeoutMs?: number;
}

/** The JSON object of a gateway answer. */
// deno-lint-ignore no-explicit-any
export type Json = Record<string, any>;

/** The gateway client: endpoints, timeouts, failover, error mapping. */
export class EtcdHttp {
  readonly #endpoints: readonly string[];
  readonly #callTimeoutMs: number;
  readonly #clock: ClusterClock;
  readonly #closing: AbortSignal;
  #current = 0;

  constructor(options: {
    readonly endpoints: readonly string[];
    readonly callTimeoutMs: number;
    readonly clock: ClusterClock;
    readonly closing: AbortSignal;
  }) {
    if (options.endpoints.length === 0) {
      throw new RangeError("At least one etcd endpoint is needed");
    }
    this.#endpoints = options.endpoints.map((e) => e.replace(/\/+$/, ""));
    this.#callTimeoutMs = options.callTimeoutMs;
    this.#clock = options.clock;
    this.#closing = options.closing;
  }

  /** Sends one unary call, failing over between endpoints where that is safe. */
  async call(path: string, body: Json, options: CallOptions): Promise<Json> {
    let lastError: CoordinatorError | undefined;
    for (let attempt = 0; attempt < this.#endpoints.length; attempt++) {
      try {
        const response = await this.open(path, body, options);
        return await readJson(response);
      } catch (error) {
        if (!(error instanceof CoordinatorError)) throw error;
        const retriable = error.reason === "unavailable" || error.reason === "timeout";
        if (!retriable) throw error;
        this.failOver();
        lastError = error;
        if (!options.idempotent && !isConnectRefused(error.cause)) break;
      }
    }
    throw lastError!;
  }

  /**
   * Sends a request and returns the response once its headers arrived; the
   * timeout covers the whole body only for unary calls (see `call`). A
   * streaming caller passes `timeoutMs: Infinity` and reads the body itself.
   */
  async open(path: string, body: Json, options: CallOptions): Promise<Response> {
    const endpoint = this.#endpoints[this.#current];
    const timeoutMs = options.timeoutMs ?? this.#callTimeoutMs;
    const signals = [this.#closing];
    if (options.signal !== undefined) signals.push(options.signal);
    let timedOut = false;
    let timer: unknown;
    if (Number.isFinite(timeoutMs)) {
      const timeout = new AbortController();
      timer = this.#clock.set(() => {
        timedOut = true;
        timeout.abort();
      }, timeoutMs);
      signals.push(timeout.signal);
    }
    // One signal for the request and, for a stream, its whole body: closing the
    // coordinator or aborting the caller's signal ends a read that is waiting. A
    // stream's link stays until one of its sources aborts.
    const linked = linkSignals(signals);
    const signal = linked.signal;
    try {
      const response = await fetch(endpoint + path, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal,
      });
      if (!Number.isFinite(timeoutMs)) return response;
      // Unary: read the body under the same timeout, then hand back a settled response.
      const text = await response.text();
      return new Response(text, { status: response.status });
    } catch (error) {
      if (this.#closing.aborted) throw new CoordinatorError("closed", "The coordinator is closed");
      if (options.signal?.aborted) {
        throw new CoordinatorError("aborted", `The call to "${path}" was aborted`);
      }
      if (timedOut) {
        throw new CoordinatorError(
          "timeout",
          `etcd at "${endpoint}" did not answer "${path}" within ${timeoutMs} ms`,
        );
      }
      throw new CoordinatorError(
        "unavailable",
        `etcd at "${endpoint}" could not be reached for "${path}": ${describe(error)}`,
        { cause: error },
      );
    } finally {
      this.#clock.clear(timer);
      if (Number.isFinite(timeoutMs)) linked.dispose();
    }
  }

  /** The next call goes to the next endpoint. */
  failOver(): void {
    this.#current = (this.#current + 1) % this.#endpoints.length;
  }

  /** The endpoint the next call goes to. */
  get currentEndpoint(): string {
    return this.#endpoints[this.#current];
  }
}

/** The JSON of a unary answer, or the error it carries. */
export async function readJson(response: Response): Promise<Json> {
  const text = await response.text();
  let json: Json;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new CoordinatorError(
      "protocol",
      `etcd answered HTTP ${response.status} with a body that is not JSON: "${text.slice(0, 200)}"`,
      { cause },
    );
  }
  if (typeof json !== "object" || json === null) {
    throw new CoordinatorError("protocol", `etcd answered "${text.slice(0, 200)}"`);
  }
  if (!response.ok || json.error !== undefined) throw gatewayError(response.status, json);
  return json;
}

/**
 * The error in a gateway answer: unary calls carry `{error, message, code}`,
 * streams `{error: {grpc_code, http_code, message}}`. Codes are gRPC's.
 */
export function gatewayError(httpStatus: number, json: Json): CoordinatorError {
  const nested = typeof json.error === "object" && json.error !== null;
  const code = Number(nested ? json.error.grpc_code : json.code);
  const message = String(nested ? json.error.message : (json.message ?? json.error));
  // NotFound from the KV and lease APIs; Unknown (2) from the election API, same text.
  if (message.includes("requested lease not found")) {
    return new CoordinatorError("lease_not_found", `etcd: "${message}"`);
  }
  if (code === 11 && message.includes("compacted")) {
    return new CoordinatorError("compacted", `etcd: "${message}"`);
  }
  if (code === 14 || httpStatus === 503) {
    return new CoordinatorError("unavailable", `etcd is unavailable: "${message}"`);
  }
  if (code === 4) return new CoordinatorError("timeout", `etcd timed out: "${message}"`);
  return new CoordinatorError("server", `etcd refused the call (code ${code}): "${message}"`);
}

/** Whether a fetch failure means the connection was never made (nothing was sent). */
export function isConnectRefused(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  const text = `${error.message} ${String(error.cause ?? "")} ${String(code ?? "")}`;
  return /ECONNREFUSED|Connection refused|\(Connect\)/.test(text);
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.cause instanceof Error ? `${error.message} (${error.cause.message})` : error.message;
}

/**
 * Parsed JSON objects from a newline-separated stream body; ends when the body does. When
 * `signal` aborts, a read in progress is abandoned and the generator throws at once: the
 * runtime's fetch does not always end a pending body read when its request signal aborts,
 * and a watch that outlives close() holds the broker's shutdown.
 */
export async function* jsonLines(
  body: ReadableStream<Uint8Array>,
  signal?: AbortSignal,
): AsyncGenerator<Json> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const aborted = abortedPromise(signal);
  let buffer = "";
  try {
    for (;;) {
      const read = reader.read();
      const { value, done } = aborted === undefined
        ? await read
        : await Promise.race([read, aborted.promise]);
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      for (let newline = buffer.indexOf("\n"); newline >= 0; newline = buffer.indexOf("\n")) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (line.length > 0) yield parseLine(line);
      }
      if (buffer.length > STREAM_LINE_BYTES_MAX) {
        throw new CoordinatorError(
          "protocol",
          `A stream line exceeded ${STREAM_LINE_BYTES_MAX} bytes`,
        );
      }
    }
    if (buffer.trim().length > 0) yield parseLine(buffer.trim());
  } finally {
    aborted?.dispose();
    const cancelled = reader.cancel().catch(() => {});
    // After an abort the cancel may wait on the same stuck read: let it go.
    if (!signal?.aborted) await cancelled;
  }
}

/** A promise that rejects when `signal` aborts (never handled-unhandled), and its disposal. */
function abortedPromise(
  signal: AbortSignal | undefined,
): { promise: Promise<never>; dispose: () => void } | undefined {
  if (signal === undefined) return undefined;
  const { promise, reject } = Promise.withResolvers<never>();
  promise.catch(() => {});
  const onAbort = () => reject(new CoordinatorError("closed", "The stream was aborted"));
  if (signal.aborted) onAbort();
  else signal.addEventListener("abort", onAbort, { once: true });
  return { promise, dispose: () => signal.removeEventListener("abort", onAbort) };
}

function parseLine(line: string): Json {
  try {
    return JSON.parse(line);
  } catch (cause) {
    throw new CoordinatorError("protocol", `A stream line is not JSON: "${line.slice(0, 200)}"`, {
      cause,
    });
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export { toBase64 };

/** Bytes of a base64 field (absent: empty); a malformed one is a protocol error. */
export function fromBase64(text: string | undefined): Uint8Array {
  if (text === undefined) return new Uint8Array(0);
  const bytes = decodeBase64(text);
  if (bytes === undefined) throw new CoordinatorError("protocol", `Bad base64 "${text}" from etcd`);
  return bytes;
}

/** Base64 of a key's UTF-8 bytes. */
export function keyToBase64(key: string): string {
  return toBase64(encoder.encode(key));
}

/** A key from its base64 field. */
export function keyFromBase64(text: string | undefined): string {
  return decoder.decode(fromBase64(text));
}

/** The `range_end` that selects every key starting with `prefix` (etcd's GetPrefixRangeEnd). */
export function prefixRangeEnd(prefix: string): string {
  const bytes = encoder.encode(prefix);
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i] < 0xff) {
      const end = bytes.slice(0, i + 1);
      end[i]++;
      return toBase64(end);
    }
  }
  return toBase64(new Uint8Array([0]));
}

/** An int64 field (a decimal string, absent when 0) as a number. */
export function int64(field: unknown): number {
  if (field === undefined) return 0;
  const value = Number(field);
  if (!Number.isSafeInteger(value)) {
    throw new CoordinatorError("protocol", `etcd sent "${String(field)}" where an integer belongs`);
  }
  return value;
}

/** A gateway `mvccpb.KeyValue` with its full key cut to the part after `rootPrefix`. */
export function decodeKeyValue(kv: Json, rootPrefix: string): KeyValue {
  const key = keyFromBase64(kv.key);
  const lease = kv.lease === undefined || kv.lease === "0" ? undefined : String(kv.lease);
  return {
    key: key.startsWith(rootPrefix) ? key.slice(rootPrefix.length) : key,
    value: fromBase64(kv.value),
    createRevision: int64(kv.create_revision),
    modRevision: int64(kv.mod_revision),
    version: int64(kv.version),
    leaseId: lease,
  };
}

/** Waits `delayMs` on `clock`, or less if `signal` aborts. */
export function pause(clock: ClusterClock, delayMs: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clock.clear(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = clock.set(done, delayMs);
    signal.addEventListener("abort", done);
  });
}
