/**
 * Bodies of the HTTP API: JSON, or CBOR when the client sends or
 * accepts `application/cbor` (encoded with cbor-x, decoded by
 * `cbor_decode.ts`). Binary fields travel as raw byte strings in
 * CBOR and as base64 strings in JSON. Every client mistake is an
 * {@linkcode HttpError}, answered as `{error_code, message}` in the format
 * the client asked for.
 *
 * @module
 */
import { Encoder } from "../../util/cbor.ts";
import { decodeCborSequence } from "./cbor_decode.ts";
import { fromBase64 as decodeBase64, toBase64 } from "../../util/base64.ts";

/** `application/cbor`. */
export const CBOR_TYPE = "application/cbor";
/** `application/json`. */
export const JSON_TYPE = "application/json";

/** Error codes of the HTTP API: the HTTP status times 100 plus a detail, as Confluent's. */
export const HttpErrorCode = {
  MALFORMED_BODY: 40001,
  WRONG_TYPE: 40002,
  BAD_PARAMETER: 40003,
  UNAUTHORIZED: 40101,
  FORBIDDEN: 40301,
  TOPIC_EXISTS: 40900,
  INVALID_TOPIC: 40004,
  NOT_FOUND: 40400,
  UNKNOWN_TOPIC: 40401,
  UNKNOWN_PARTITION: 40402,
  UNKNOWN_GROUP: 40403,
  UNKNOWN_CLUSTER: 40404,
  BODY_TOO_LARGE: 41300,
  UNSUPPORTED_MEDIA_TYPE: 41500,
  OFFSET_OUT_OF_RANGE: 41600,
  RECORD_REJECTED: 42200,
  NOT_READY: 50300,
  INTERNAL: 50000,
} as const;

/** A client mistake (or a refused operation): status, error code and a sentence. */
export class HttpError extends Error {
  readonly status: number;
  readonly errorCode: number;
  /** More fields of the error body (a 403 names the operation and resource). */
  readonly details: Readonly<Record<string, unknown>>;
  constructor(
    status: number,
    errorCode: number,
    message: string,
    details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.errorCode = errorCode;
    this.details = details;
  }
}

/** The format of a response body. */
export type BodyFormat = "json" | "cbor";

const cborEncoder = new Encoder({ useRecords: false, tagUint8Array: false });
const textDecoder = new TextDecoder("utf-8", { fatal: true });

export { toBase64 };

/** Standard (or URL-safe) base64 to bytes; throws WRONG_TYPE naming `field` when invalid. */
export function fromBase64(text: string, field: string): Uint8Array {
  const bytes = decodeBase64(text.replaceAll("-", "+").replaceAll("_", "/"));
  if (bytes === undefined) {
    throw new HttpError(400, HttpErrorCode.WRONG_TYPE, `Field "${field}" is not valid base64.`);
  }
  return bytes;
}

/** The response format: CBOR when `Accept` names it, or when the request body was CBOR and `Accept` does not ask for JSON. */
export function responseFormat(
  accept: string | undefined,
  contentType: string | undefined,
): BodyFormat {
  const a = (accept ?? "").toLowerCase();
  if (a.includes(CBOR_TYPE)) return "cbor";
  if (a.includes(JSON_TYPE)) return "json";
  return mediaType(contentType) === CBOR_TYPE ? "cbor" : "json";
}

/** The media type of a Content-Type header, lowercased, without parameters. */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? "").split(";")[0].trim().toLowerCase();
}

/** A response with `body` encoded in `format`. */
export function encodeResponse(format: BodyFormat, status: number, body: unknown): Response {
  if (status === 204) return new Response(null, { status });
  if (format === "cbor") {
    const bytes = cborEncoder.encode(body) as Uint8Array<ArrayBuffer>;
    return new Response(bytes, { status, headers: { "content-type": CBOR_TYPE } });
  }
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": `${JSON_TYPE}; charset=utf-8` },
  });
}

/** Several bodies in one response: a CBOR sequence, or newline-delimited JSON. */
export function encodeSequence(format: BodyFormat, status: number, items: unknown[]): Response {
  if (format === "cbor") {
    const parts = items.map((item) => cborEncoder.encode(item) as Uint8Array);
    const out: Uint8Array<ArrayBuffer> = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let p = 0;
    for (const part of parts) {
      out.set(part, p);
      p += part.length;
    }
    return new Response(out, { status, headers: { "content-type": CBOR_TYPE } });
  }
  const text = items.map((item) => JSON.stringify(item) + "\n").join("");
  return new Response(text, { status, headers: { "content-type": "application/x-ndjson" } });
}

/** An error response in the client's format. */
export function errorResponse(format: BodyFormat, error: HttpError): Response {
  return encodeResponse(format, error.status, {
    error_code: error.errorCode,
    message: error.message,
    ...error.details,
  });
}

/**
 * Reads a request body of at most `maxBytes` (checked against Content-Length
 * first, then while streaming, so an oversized body is never buffered whole).
 */
export async function readBodyBytes(request: Request, maxBytes: number): Promise<Uint8Array> {
  const tooLarge = () =>
    new HttpError(
      413,
      HttpErrorCode.BODY_TOO_LARGE,
      `The request body is larger than the limit of ${maxBytes} bytes.`,
    );
  const declared = Number(request.headers.get("content-length") ?? "NaN");
  if (declared > maxBytes) throw tooLarge();
  if (request.body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let totalBytes = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    totalBytes += value.length;
    if (totalBytes > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(totalBytes);
  let p = 0;
  for (const c of chunks) {
    out.set(c, p);
    p += c.length;
  }
  return out;
}

/**
 * Decodes a body as JSON or CBOR by its Content-Type into a list of values:
 * one value, or several for a JSON stream (concatenated objects) or a CBOR
 * sequence. An empty body is an empty list.
 */
export function decodeBodyValues(bytes: Uint8Array, contentType: string | undefined): unknown[] {
  const type = mediaType(contentType);
  if (bytes.length === 0) return [];
  if (type === CBOR_TYPE) {
    try {
      return decodeCborSequence(bytes);
    } catch (e) {
      throw new HttpError(
        400,
        HttpErrorCode.MALFORMED_BODY,
        `The body is not valid CBOR: ${(e as Error).message}.`,
      );
    }
  }
  if (type !== JSON_TYPE && type !== "" && !type.endsWith("+json")) {
    throw new HttpError(
      415,
      HttpErrorCode.UNSUPPORTED_MEDIA_TYPE,
      `Content type "${type}" is not supported; send ${JSON_TYPE} or ${CBOR_TYPE}.`,
    );
  }
  let text: string;
  try {
    text = textDecoder.decode(bytes);
  } catch {
    throw new HttpError(400, HttpErrorCode.MALFORMED_BODY, "The body is not valid UTF-8.");
  }
  try {
    return splitJsonStream(text).map((part) => JSON.parse(part));
  } catch (e) {
    throw new HttpError(
      400,
      HttpErrorCode.MALFORMED_BODY,
      `The body is not valid JSON: ${(e as Error).message}.`,
    );
  }
}

/** Splits concatenated top-level JSON values (`{..} {..}`, or one value) into their texts. */
export function splitJsonStream(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    if (start < 0 && !/\s/.test(ch)) start = i;
    if (ch === "{" || ch === "[") depth++;
    else if (ch === "}" || ch === "]") depth--;
    if (depth === 0 && start >= 0 && (ch === "}" || ch === "]")) {
      parts.push(text.slice(start, i + 1));
      start = -1;
    }
  }
  if (start >= 0) parts.push(text.slice(start));
  return parts.length === 0 ? [text] : parts;
}

/** Decodes a body that must hold exactly one object. */
export function decodeBodyObject(
  bytes: Uint8Array,
  contentType: string | undefined,
): Record<string, unknown> {
  const values = decodeBodyValues(bytes, contentType);
  if (values.length !== 1 || !isObject(values[0])) {
    throw new HttpError(400, HttpErrorCode.WRONG_TYPE, "The body must be one object.");
  }
  return values[0];
}

/** True for a plain object (not null, not an array, not bytes). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Uint8Array);
}
