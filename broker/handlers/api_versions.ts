/**
 * ApiVersions (key 18): advertises exactly the (key, min, max) ranges the
 * router serves. A request at a version above ours gets a v0 body with
 * UNSUPPORTED_VERSION and the key list, so the client can retry (KIP-511).
 *
 * @module
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import type {
  ApiVersionsRequest,
  ApiVersionsResponse,
} from "../../protocol/messages/api_versions.ts";
import { type ApiHandler, defineHandler, type RequestContext } from "../context.ts";
import { apiVersionsApi } from "../../protocol/messages/mod.ts";

/** The advertised ranges, set by the router once every handler is known. */
export type ApiRanges = readonly { apiKey: number; minVersion: number; maxVersion: number }[];

/** Builds the ApiVersions response body for `ranges`. */
export function apiVersionsBody(ranges: ApiRanges, errorCode: number): ApiVersionsResponse {
  return {
    errorCode,
    apiKeys: ranges.map((r) => ({
      apiKey: r.apiKey,
      minVersion: r.minVersion,
      maxVersion: r.maxVersion,
    })),
    throttleTimeMs: 0,
    supportedFeatures: [],
    finalizedFeaturesEpoch: -1,
    finalizedFeatures: [],
    zkMigrationReady: false,
  };
}

/** The ApiVersions handler over the router's ranges. */
export function apiVersionsHandler(ranges: () => ApiRanges): ApiHandler {
  return defineHandler(apiVersionsApi, {
    minVersion: 0,
    maxVersion: 4,
    handle(_ctx: RequestContext, _request: ApiVersionsRequest): ApiVersionsResponse {
      return apiVersionsBody(ranges(), ErrorCode.NONE);
    },
  });
}
