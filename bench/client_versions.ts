/**
 * Which version of each API the load generator speaks to a broker, chosen
 * from the broker's ApiVersions answer: for every API the bench uses, the
 * highest version that the broker serves, that the generated codecs encode
 * (`protocol/messages`, every version of the spec) and that the bench can
 * work with. So the same load generator drives Denka (flexible Produce 11,
 * Fetch 17) and an Apache Kafka 2.x broker (non-flexible Produce 8, Fetch 11).
 *
 * Lower bounds, by what the bench needs from a version:
 * - Produce >= 3: the first version carrying RecordBatch v2 (magic 2).
 * - Fetch >= 4: the first version answering with RecordBatch v2 without
 *   down-conversion; fetch sessions (KIP-227) need Fetch >= 7, below that the
 *   consumers send full fetches.
 * - Metadata >= 1: topics named explicitly (v0's empty list means all).
 * - CreateTopics is optional: without it, topics come from Metadata's
 *   auto-creation or must exist beforehand.
 *
 * Fetch 13+ names topics by id, which only Metadata 10+ reports: with an
 * older Metadata, Fetch is held at 12.
 *
 * @module
 */
import {
  type ApiMessage,
  apiVersionsApi,
  type ApiVersionsResponse,
  createTopicsApi,
  fetchApi,
  metadataApi,
  produceApi,
} from "../protocol/messages/mod.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import type { BenchConnection } from "./kafka_client.ts";

/** The APIs the load generator speaks, by Kafka's names. */
export type BenchApiName = "Produce" | "Fetch" | "Metadata" | "CreateTopics" | "ApiVersions";

/** The version of each API to use; `CreateTopics` is undefined when the broker has none usable. */
export interface ClientVersions {
  readonly Produce: number;
  readonly Fetch: number;
  readonly Metadata: number;
  readonly CreateTopics: number | undefined;
  readonly ApiVersions: number;
}

/** Upper bounds per API (`--max-versions`); a bound below an API's range drops that API. */
export type MaxVersions = Partial<Record<BenchApiName, number>>;

/** One (key, min, max) range as ApiVersions lists it. */
export interface BrokerApiRange {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
}

interface BenchApi {
  readonly api: ApiMessage<unknown, unknown>;
  /** The lowest version the bench can work with. */
  readonly minVersion: number;
  readonly required: boolean;
}

const BENCH_APIS: Record<BenchApiName, BenchApi> = {
  Produce: { api: produceApi as ApiMessage<unknown, unknown>, minVersion: 3, required: true },
  Fetch: { api: fetchApi as ApiMessage<unknown, unknown>, minVersion: 4, required: true },
  Metadata: { api: metadataApi as ApiMessage<unknown, unknown>, minVersion: 1, required: true },
  CreateTopics: {
    api: createTopicsApi as ApiMessage<unknown, unknown>,
    minVersion: 0,
    required: false,
  },
  ApiVersions: {
    api: apiVersionsApi as ApiMessage<unknown, unknown>,
    minVersion: 0,
    required: true,
  },
};

/** The first Fetch version that names topics by id (and so needs Metadata 10+). */
export const FETCH_TOPIC_IDS_MIN_VERSION = 13;
/** The first Metadata version that reports topic ids. */
export const METADATA_TOPIC_IDS_MIN_VERSION = 10;
/** The first Fetch version with fetch sessions (KIP-227). */
export const FETCH_SESSIONS_MIN_VERSION = 7;
/** The first ApiVersions version that carries the client's name (KIP-511). */
const API_VERSIONS_CLIENT_NAME_MIN_VERSION = 3;

/** The newest version of each API the bench knows, as if the broker served everything. */
export function newestVersions(maxVersions: MaxVersions = {}): ClientVersions {
  return chooseVersions(
    Object.values(BENCH_APIS).map(({ api }) => ({
      apiKey: api.apiKey,
      minVersion: api.minVersion,
      maxVersion: api.maxVersion,
    })),
    maxVersions,
  );
}

/** The highest common version of `name`, or undefined when the ranges do not meet. */
function highestCommon(
  name: BenchApiName,
  ranges: readonly BrokerApiRange[],
  maxVersions: MaxVersions,
): number | undefined {
  const { api, minVersion } = BENCH_APIS[name];
  const broker = ranges.find((r) => r.apiKey === api.apiKey);
  if (broker === undefined) return undefined;
  const low = Math.max(minVersion, api.minVersion, broker.minVersion);
  const high = Math.min(api.maxVersion, broker.maxVersion, maxVersions[name] ?? Infinity);
  return high >= low ? high : undefined;
}

/**
 * Chooses each API's version from the broker's `ranges`, at most
 * `maxVersions`. Throws when a required API has no version in common.
 */
export function chooseVersions(
  ranges: readonly BrokerApiRange[],
  maxVersions: MaxVersions = {},
): ClientVersions {
  const pick = (name: BenchApiName): number | undefined => {
    const version = highestCommon(name, ranges, maxVersions);
    if (version === undefined && BENCH_APIS[name].required) {
      const { api, minVersion } = BENCH_APIS[name];
      const broker = ranges.find((r) => r.apiKey === api.apiKey);
      const served = broker === undefined
        ? "does not serve it"
        : `serves ${broker.minVersion}-${broker.maxVersion}`;
      throw new Error(
        `The broker has no usable "${name}" version: the bench needs ` +
          `${Math.max(minVersion, api.minVersion)}-${
            Math.min(api.maxVersion, maxVersions[name] ?? Infinity)
          }, the broker ${served}`,
      );
    }
    return version;
  };
  const metadata = pick("Metadata")!;
  let fetch = pick("Fetch")!;
  if (metadata < METADATA_TOPIC_IDS_MIN_VERSION && fetch >= FETCH_TOPIC_IDS_MIN_VERSION) {
    fetch = FETCH_TOPIC_IDS_MIN_VERSION - 1;
    if (fetch < BENCH_APIS.Fetch.minVersion) throw new Error("No Fetch version names topics");
  }
  return {
    Produce: pick("Produce")!,
    Fetch: fetch,
    Metadata: metadata,
    CreateTopics: pick("CreateTopics"),
    ApiVersions: pick("ApiVersions")!,
  };
}

/** True when `version` of `name` uses flexible encodings (compact strings, tagged fields). */
export function isFlexible(name: BenchApiName, version: number): boolean {
  return version >= BENCH_APIS[name].api.flexibleMinVersion;
}

/** `Produce 8, Fetch 11, ...`, with "(flexible)" where it applies. */
export function describeVersions(versions: ClientVersions): string {
  return (Object.keys(BENCH_APIS) as BenchApiName[]).map((name) => {
    const v = versions[name];
    if (v === undefined) return `${name} none`;
    return `${name} ${v}${isFlexible(name, v) ? "" : " (non-flexible)"}`;
  }).join(", ");
}

/** Parses `Produce=8,Fetch=11` (names as Kafka spells them, any case). */
export function parseMaxVersions(text: string): MaxVersions {
  const out: MaxVersions = {};
  const names = Object.keys(BENCH_APIS) as BenchApiName[];
  for (const part of text.split(",").filter((p) => p.trim() !== "")) {
    const [key, value] = part.split("=").map((s) => s.trim());
    const name = names.find((n) => n.toLowerCase() === key?.toLowerCase());
    const version = Number(value);
    if (name === undefined || value === undefined || !Number.isInteger(version)) {
      throw new Error(`Bad max version "${part}": expected NAME=VERSION, NAME one of ${names}`);
    }
    out[name] = version;
  }
  return out;
}

async function apiVersionsAt(c: BenchConnection, version: number): Promise<ApiVersionsResponse> {
  const response = await c.request(apiVersionsApi, version, {
    clientSoftwareName: "denka-bench",
    clientSoftwareVersion: "1.0",
  });
  if (response.errorCode !== ErrorCode.NONE) {
    throw new Error(`ApiVersions v${version} failed with error code ${response.errorCode}`);
  }
  return response;
}

/**
 * Asks the broker on `c` for its API ranges and chooses the versions: an
 * ApiVersions v0 request first (every broker since 0.10 answers it), then,
 * when the broker serves v3+, the request again at the highest common
 * version with the bench's name (KIP-511), whose answer is the one used.
 */
export async function negotiateVersions(
  c: BenchConnection,
  maxVersions: MaxVersions = {},
): Promise<ClientVersions> {
  let ranges: readonly BrokerApiRange[] = (await apiVersionsAt(c, 0)).apiKeys;
  const apiVersions = highestCommon("ApiVersions", ranges, maxVersions) ?? 0;
  if (apiVersions < API_VERSIONS_CLIENT_NAME_MIN_VERSION) {
    return { ...chooseVersions(ranges, maxVersions), ApiVersions: 0 };
  }
  ranges = (await apiVersionsAt(c, apiVersions)).apiKeys;
  return { ...chooseVersions(ranges, maxVersions), ApiVersions: apiVersions };
}
