/**
 * Records as the HTTP API takes them (Confluent REST v3's shape):
 *
 * ```json
 * {"partition_id": 0, "timestamp": "2025-01-01T00:00:00Z",
 *  "headers": [{"name": "h", "value": "<base64>"}],
 *  "key": {"type": "STRING", "data": "k"}, "value": {"type": "JSON", "data": {"a": 1}}}
 * ```
 *
 * `type` is BINARY (base64 in JSON, a byte string in CBOR), STRING or JSON;
 * in CBOR a key, value or header value may also be a bare byte string. A
 * record without `partition_id` goes where Kafka's default partitioner puts
 * it: murmur2 of the key, or round robin without a key.
 *
 * @module
 */
import type { RecordHeader, RecordInput } from "../../protocol/records.ts";
import { fromBase64, HttpError, HttpErrorCode, isObject } from "./codec.ts";

const textEncoder = new TextEncoder();

/** A record parsed from a request, before its partition is chosen. */
export interface ParsedRecord {
  /** Asked for explicitly, or undefined. */
  readonly partition: number | undefined;
  readonly record: RecordInput;
}

function wrongType(message: string): HttpError {
  return new HttpError(400, HttpErrorCode.WRONG_TYPE, message);
}

function dataBytes(value: unknown, field: string): Uint8Array | null {
  if (value === undefined || value === null) return null;
  if (value instanceof Uint8Array) return value;
  if (!isObject(value)) {
    throw wrongType(`Field "${field}" must be an object {type, data}, a byte string or null.`);
  }
  const type = String(value.type ?? "BINARY").toUpperCase();
  const data = value.data;
  if (data === null || data === undefined) return null;
  switch (type) {
    case "BINARY":
      if (data instanceof Uint8Array) return data;
      if (typeof data !== "string") throw wrongType(`Field "${field}.data" must be base64 text.`);
      return fromBase64(data, `${field}.data`);
    case "STRING":
      if (typeof data !== "string") throw wrongType(`Field "${field}.data" must be a string.`);
      return textEncoder.encode(data);
    case "JSON":
      return textEncoder.encode(JSON.stringify(data));
    default:
      throw wrongType(`Field "${field}.type" must be BINARY, STRING or JSON, got "${value.type}".`);
  }
}

function headerValue(value: unknown, field: string): Uint8Array | null {
  if (value === undefined || value === null) return null;
  if (value instanceof Uint8Array) return value;
  if (typeof value === "string") return fromBase64(value, field);
  throw wrongType(`Field "${field}" must be base64 text, a byte string or null.`);
}

function timestampOf(value: unknown, nowMs: number): number {
  if (value === undefined || value === null) return nowMs;
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === "string") {
    const ms = Date.parse(value);
    if (!Number.isNaN(ms) && ms >= 0) return ms;
  }
  throw wrongType(`Field "timestamp" must be an ISO 8601 time or milliseconds, got "${value}".`);
}

/** Parses one record object; throws WRONG_TYPE with the field named. */
export function parseRecord(value: unknown, nowMs: number): ParsedRecord {
  if (!isObject(value)) throw wrongType("A record must be an object.");
  const p = value.partition_id;
  if (p !== undefined && p !== null && (!Number.isInteger(p) || (p as number) < 0)) {
    throw wrongType(`Field "partition_id" must be a non-negative integer, got "${p}".`);
  }
  const rawHeaders = value.headers ?? [];
  if (!Array.isArray(rawHeaders)) throw wrongType(`Field "headers" must be an array.`);
  const headers: RecordHeader[] = rawHeaders.map((h, i) => {
    if (!isObject(h) || typeof h.name !== "string") {
      throw wrongType(`Field "headers[${i}]" must be an object with a string "name".`);
    }
    return { key: h.name, value: headerValue(h.value, `headers[${i}].value`) };
  });
  return {
    partition: p === undefined || p === null ? undefined : (p as number),
    record: {
      key: dataBytes(value.key, "key"),
      value: dataBytes(value.value, "value"),
      headers,
      timestampMs: timestampOf(value.timestamp, nowMs),
    },
  };
}

/** Kafka's murmur2 (the Java client's `Utils.murmur2`). */
export function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const length = data.length;
  let h = (0x9747b28c ^ length) | 0;
  const quads = length >>> 2;
  for (let i = 0; i < quads; i++) {
    const o = i * 4;
    let k = data[o] | (data[o + 1] << 8) | (data[o + 2] << 16) | (data[o + 3] << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const tail = quads * 4;
  switch (length & 3) {
    case 3:
      h ^= data[tail + 2] << 16;
    // falls through
    case 2:
      h ^= data[tail + 1] << 8;
    // falls through
    case 1:
      h ^= data[tail];
      h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** Chooses partitions for records without one: murmur2 of the key, else round robin. */
export class Partitioner {
  #next = 0;
  partitionFor(parsed: ParsedRecord, partitionCount: number): number {
    if (parsed.partition !== undefined) return parsed.partition;
    if (parsed.record.key !== null) {
      return (murmur2(parsed.record.key) & 0x7fffffff) % partitionCount;
    }
    return this.#next++ % partitionCount;
  }
}
