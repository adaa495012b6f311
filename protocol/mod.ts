/**
 * The protocol layer's public surface: Kafka's error codes, the generated
 * request and response codecs (`messages/`, with the `ApiKey` table), the
 * primitives they are written with, request and response framing, record
 * batches (header view, CRC-32C) and records, and the send plan a response is
 * assembled as.
 *
 * @module
 */
export * from "./error_codes.ts";
export * from "./messages/mod.ts";
export * from "./primitives.ts";
// The framing-aware header codecs (version picked from the API key) shadow the raw generated
// ones of `messages/`.
export {
  beginFrame,
  decodeRequestHeader,
  encodeRequestHeader,
  encodeResponseHeader,
  finishFrame,
  FRAME_PREFIX_SIZE_BYTES,
  frameSizeBytes,
  isFlexibleVersion,
  isSupportedVersion,
  readResponseHeader,
  type RequestFrameHeader,
  type RequestHeaderFields,
  requestHeaderVersion,
  responseHeaderVersion,
} from "./frame.ts";
export * from "./record_batch.ts";
export * from "./records.ts";
export * from "./send_plan.ts";
