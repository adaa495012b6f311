/**
 * What the transactional handlers share: PRODUCER_FENCED (KIP-588) goes only
 * to clients of the versions that know it; older ones get
 * INVALID_PRODUCER_EPOCH, as Kafka's KafkaApis answers them. Also the spot
 * where authorization of transactional ids belongs.
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";

/** `errorCode`, with PRODUCER_FENCED as INVALID_PRODUCER_EPOCH for a client that predates it. */
export function fencedForVersion(
  errorCode: number,
  version: { readonly apiVersion: number; readonly fencedMinVersion: number },
): number {
  return errorCode === ErrorCode.PRODUCER_FENCED && version.apiVersion < version.fencedMinVersion
    ? ErrorCode.INVALID_PRODUCER_EPOCH
    : errorCode;
}
