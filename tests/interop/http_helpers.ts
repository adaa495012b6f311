/**
 * Helpers of the HTTP API suites: a broker with its HTTP listener on a free
 * port, and requests in JSON or CBOR that return status, headers and the
 * decoded body. CBOR answers are decoded with the broker's own decoder:
 * cbor-x's `decode` can kill a Deno process (see `broker/http/cbor_decode.ts`).
 *
 * @module
 */
import { Encoder } from "../../util/cbor.ts";
import { decodeCborSequence } from "../../broker/http/cbor_decode.ts";
import { withBroker } from "./harness.ts";
import type { TestBroker, TestBrokerOptions } from "./harness.ts";

/** A test broker with its HTTP base URL. */
export interface HttpTestBroker extends TestBroker {
  readonly url: string;
  /** `<url>/v3/clusters/<cluster id>`. */
  readonly cluster: string;
}

/** Runs `fn` against a broker whose HTTP listener is on a free port. */
export function withHttpBroker<T>(
  options: TestBrokerOptions,
  fn: (t: HttpTestBroker) => Promise<T>,
): Promise<T> {
  return withBroker({ http: { port: 0 }, ...options }, (t) => {
    const url = t.broker.httpUrl;
    if (url === undefined) throw new Error("The broker has no HTTP listener.");
    return fn({ ...t, url, cluster: `${url}/v3/clusters/${t.broker.config.clusterId}` });
  });
}

/** A decoded answer. */
export interface HttpAnswer {
  readonly status: number;
  readonly contentType: string;
  // deno-lint-ignore no-explicit-any
  readonly body: any;
}

const cbor = new Encoder({ useRecords: false, tagUint8Array: false });

/** Body formats a test runs in. */
export const FORMATS = ["json", "cbor"] as const;
/** One of {@linkcode FORMATS}. */
export type Format = (typeof FORMATS)[number];

/**
 * Sends `body` (an object, encoded in `format`; or raw bytes/text as given)
 * and decodes the answer by its content type.
 */
export async function call(
  method: string,
  url: string,
  options: { format?: Format; body?: unknown; raw?: Uint8Array | string; contentType?: string } =
    {},
): Promise<HttpAnswer> {
  const format = options.format ?? "json";
  const type = format === "cbor" ? "application/cbor" : "application/json";
  const headers: Record<string, string> = { accept: type };
  let body: BodyInit | undefined;
  if (options.raw !== undefined) {
    body = options.raw as BodyInit;
    headers["content-type"] = options.contentType ?? type;
  } else if (options.body !== undefined) {
    body = format === "cbor"
      ? cbor.encode(options.body) as Uint8Array<ArrayBuffer>
      : JSON.stringify(options.body);
    headers["content-type"] = type;
  }
  const res = await fetch(url, { method, headers, body });
  const contentType = res.headers.get("content-type") ?? "";
  const bytes = new Uint8Array(await res.arrayBuffer());
  let decoded: unknown = null;
  if (bytes.length > 0) {
    decoded = contentType.startsWith("application/cbor")
      ? decodeCborSequence(bytes)[0]
      : contentType.startsWith("application/json")
      ? JSON.parse(new TextDecoder().decode(bytes))
      : new TextDecoder().decode(bytes);
  }
  return { status: res.status, contentType, body: decoded };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 bytes of `text`. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** A binary field as the API returns it (base64 in JSON, bytes in CBOR) decoded to text. */
export function fieldText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Uint8Array) return decoder.decode(value);
  return decoder.decode(Uint8Array.from(atob(value as string), (c) => c.charCodeAt(0)));
}

/** Base64 of UTF-8 `text`. */
export function b64(text: string): string {
  return btoa(String.fromCharCode(...utf8(text)));
}
