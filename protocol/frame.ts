/**
 * Request and response framing: the int32 size prefix and the request and
 * response headers, whose version depends on the API key and version.
 *
 * - Request header v1 (non-flexible APIs): apiKey, apiVersion, correlationId,
 *   clientId. v2 (flexible versions) adds a tagged-field section. ClientId is
 *   always an int16-length nullable string, even in v2.
 * - Response header v0: correlationId. v1 (flexible versions) adds an empty
 *   tagged-field section — except ApiVersions, whose response header is
 *   always v0 so that any client can read it.
 *
 * @module
 */

import { ApiKey, apiTable } from "./messages/mod.ts";
import { Reader, type Writer } from "./primitives.ts";
import type { SendChunk } from "./send_plan.ts";

/** Size of the int32 frame size prefix. */
export const FRAME_PREFIX_SIZE_BYTES = 4;

/** A decoded request header. */
export interface RequestFrameHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
  /** True when `apiKey` is one of the generated APIs. */
  apiKnown: boolean;
  /** Header version used: 1, or 2 for flexible request versions. */
  headerVersion: 1 | 2;
  /** Where the request body starts in the frame. */
  headerSizeBytes: number;
  /** The first decoding error (truncated header), or undefined. */
  error: string | undefined;
}

/** True when requests and responses of `apiKey` at `apiVersion` use flexible encodings. */
export function isFlexibleVersion(apiKey: number, apiVersion: number): boolean {
  const api = apiTable[apiKey];
  return api !== undefined && apiVersion >= api.flexibleMinVersion;
}

/** True when `apiKey` is generated and `apiVersion` is within its spec's range. */
export function isSupportedVersion(apiKey: number, apiVersion: number): boolean {
  const api = apiTable[apiKey];
  return api !== undefined && apiVersion >= api.minVersion && apiVersion <= api.maxVersion;
}

/**
 * Request header version for `apiKey`/`apiVersion`: 2 when flexible, else 1
 * (unknown keys use 1). Like Kafka, a too-new version of a known API is still
 * read as flexible, so an unsupported ApiVersions v5 header parses.
 */
export function requestHeaderVersion(apiKey: number, apiVersion: number): 1 | 2 {
  return isFlexibleVersion(apiKey, apiVersion) ? 2 : 1;
}

/** Response header version: 1 when flexible, else 0; ApiVersions always 0. */
export function responseHeaderVersion(apiKey: number, apiVersion: number): 0 | 1 {
  if (apiKey === ApiKey.ApiVersions) return 0;
  return isFlexibleVersion(apiKey, apiVersion) ? 1 : 0;
}

/**
 * Reads the int32 size prefix at `offset`: the size of the frame that follows,
 * or -1 when fewer than 4 bytes are available.
 */
export function frameSizeBytes(bytes: Uint8Array, offset = 0): number {
  if (bytes.length - offset < FRAME_PREFIX_SIZE_BYTES) return -1;
  return new DataView(bytes.buffer, bytes.byteOffset + offset, 4).getInt32(0);
}

/** Decodes the request header at the start of `frame` (the bytes after the size prefix). */
export function decodeRequestHeader(frame: Uint8Array): RequestFrameHeader {
  const r = new Reader(frame);
  const apiKey = r.int16();
  const apiVersion = r.int16();
  const correlationId = r.int32();
  const clientId = r.nullableString(false);
  const headerVersion = requestHeaderVersion(apiKey, apiVersion);
  if (headerVersion === 2) r.skipTaggedFields();
  return {
    apiKey,
    apiVersion,
    correlationId,
    clientId,
    apiKnown: apiTable[apiKey] !== undefined,
    headerVersion,
    headerSizeBytes: r.offset,
    error: r.error,
  };
}

/** Fields of a request header to encode (clients and tests). */
export interface RequestHeaderFields {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}

/** Encodes a request header (v1, or v2 with an empty tagged-field section). */
export function encodeRequestHeader(w: Writer, header: RequestHeaderFields): void {
  w.int16(header.apiKey);
  w.int16(header.apiVersion);
  w.int32(header.correlationId);
  w.nullableString(header.clientId, false);
  if (requestHeaderVersion(header.apiKey, header.apiVersion) === 2) w.emptyTaggedFields();
}

/** Encodes a response header: v0, or v1 with an empty tagged-field section. */
export function encodeResponseHeader(
  w: Writer,
  apiKey: number,
  apiVersion: number,
  correlationId: number,
): void {
  w.int32(correlationId);
  if (responseHeaderVersion(apiKey, apiVersion) === 1) w.emptyTaggedFields();
}

/** Reads a response header (v0 or v1 per `apiKey`/`apiVersion`) from `r`; returns the correlationId. */
export function readResponseHeader(r: Reader, apiKey: number, apiVersion: number): number {
  const correlationId = r.int32();
  if (responseHeaderVersion(apiKey, apiVersion) === 1) r.skipTaggedFields();
  return correlationId;
}

/**
 * Starts a size-prefixed frame in `w`; returns the mark for {@link finishFrame}.
 * Write the header and body after it.
 */
export function beginFrame(w: Writer): number {
  return w.reserveInt32();
}

/** Patches the size prefix begun at `mark` and returns the whole frame's send plan. */
export function finishFrame(w: Writer, mark: number): SendChunk[] {
  w.patchInt32(mark, w.sizeBytes - mark - FRAME_PREFIX_SIZE_BYTES);
  return w.finish();
}
