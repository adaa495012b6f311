/**
 * Round-trips every generated (apiKey, version), request and response: a
 * sample with a non-default value in every field present in that version
 * (2-element arrays, nested and tagged structs, Unicode strings, negative
 * int64s, UUIDs) encodes, decodes to an equal object, and re-encodes to the
 * same bytes; every truncation of it fails with a sticky error, never a throw.
 */
import { assert } from "../util/assert.ts";
import { MESSAGES, type SchemaField, STRUCTS } from "./messages/_schema.ts";
import { API_MESSAGES, type ApiMessage, apiTable } from "./messages/mod.ts";
import { EMPTY_BYTES, Reader, Writer, ZERO_UUID } from "./primitives.ts";

type Sample = Record<string, unknown>;

function inRange(range: [number, number], version: number): boolean {
  return version >= range[0] && version <= range[1];
}

function defaultOf(f: SchemaField): unknown {
  if (f.defaultValue === "null") return null;
  if (f.array) return [];
  switch (f.kind) {
    case "struct":
      return sample(f.struct!, -1, false);
    case "bool":
      return f.defaultValue === "true";
    case "string":
      return f.defaultValue ?? "";
    case "uuid":
      return ZERO_UUID;
    case "bytes":
      return EMPTY_BYTES;
    case "records":
      return null;
    default:
      return f.defaultValue === null ? 0 : Number(f.defaultValue);
  }
}

const UUIDS = ["0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "ffffffff-0000-4000-8000-123456789abc"];

function element(f: SchemaField, version: number, nulls: boolean, i: number): unknown {
  switch (f.kind) {
    case "struct":
      return sample(f.struct!, version, nulls);
    case "bool":
      return f.defaultValue !== "true";
    case "int8":
      return [-7, 100][i];
    case "int16":
      return [-1234, 32767][i];
    case "uint16":
      return [54321, 1][i];
    case "int32":
      return [-123456789, 2147483647][i];
    case "uint32":
      return [4000000000, 7][i];
    case "int64":
      return [-1234567890123, Number.MAX_SAFE_INTEGER][i];
    case "float64":
      return [3.25, -1e300][i];
    case "string":
      return `héllo ✓ 😀 ${f.name}${i}`;
    case "uuid":
      return UUIDS[i];
    case "bytes":
      return Uint8Array.of(1, 2, 3, 255, i);
    case "records":
      return Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 42, i);
    default:
      throw new Error(`Unknown kind ${f.kind}`);
  }
}

/** A sample of `structName` at `version`; version -1 gives the all-default struct. */
function sample(structName: string, version: number, nulls: boolean): Sample {
  const out: Sample = {};
  for (const f of STRUCTS[structName]) {
    if (version < 0 || !inRange(f.versions, version)) out[f.name] = defaultOf(f);
    else if (nulls && inRange(f.nullable, version)) out[f.name] = null;
    else if (f.array) out[f.name] = [0, 1].map((i) => element(f, version, nulls, i));
    else out[f.name] = element(f, version, nulls, 0);
  }
  return out;
}

function roundTrip(
  name: string,
  version: number,
  message: Sample,
  decode: (r: Reader, version: number) => unknown,
  encode: (w: Writer, version: number, m: unknown) => void,
): void {
  const w = new Writer({ bufferSizeBytes: 64 });
  encode(w, version, message);
  const bytes = w.toBytes();
  const r = new Reader(bytes);
  const decoded = decode(r, version);
  assert.equal(r.error, undefined, `${name} v${version}: ${r.error}`);
  assert.equal(r.remaining, 0, `${name} v${version} left bytes unread`);
  assert.deepStrictEqual(decoded, message, `${name} v${version} decodes to the sample`);
  encode(w, version, decoded);
  assert.deepStrictEqual(w.toBytes(), bytes, `${name} v${version} re-encodes identically`);
  for (const cut of [bytes.length - 1, Math.floor(bytes.length / 2), 1]) {
    if (cut <= 0 || cut >= bytes.length) continue;
    const truncated = new Reader(bytes.subarray(0, cut));
    decode(truncated, version);
    assert.notEqual(truncated.error, undefined, `${name} v${version} cut at ${cut} must fail`);
  }
}

for (const api of API_MESSAGES as readonly ApiMessage[]) {
  const meta = MESSAGES.find((m) => m.apiKey === api.apiKey)!;
  for (const side of ["request", "response"] as const) {
    const structName = side === "request" ? meta.request : meta.response;
    Deno.test(`${structName} round-trips every version ${api.minVersion}-${api.maxVersion}`, () => {
      const decode = side === "request" ? api.decodeRequest : api.decodeResponse;
      const encode = side === "request" ? api.encodeRequest : api.encodeResponse;
      for (let version = api.minVersion; version <= api.maxVersion; version++) {
        for (const nulls of [false, true]) {
          roundTrip(structName, version, sample(structName, version, nulls), decode, encode);
        }
        roundTrip(structName, version, sample(structName, -1, false), decode, encode);
      }
    });
  }
}

Deno.test("apiTable covers the 48 client-facing API keys with spec versions", () => {
  const keys = API_MESSAGES.map((a) => a.apiKey);
  assert.deepEqual(keys, [
    0,
    1,
    2,
    3,
    8,
    9,
    10,
    11,
    12,
    13,
    14,
    15,
    16,
    17,
    18,
    19,
    20,
    21,
    22,
    23,
    24,
    25,
    26,
    27,
    28,
    29,
    30,
    31,
    32,
    33,
    35,
    36,
    37,
    42,
    43,
    44,
    45,
    46,
    47,
    48,
    49,
    50,
    51,
    60,
    61,
    65,
    66,
    75,
  ]);
  assert.equal(apiTable[0]!.maxVersion, 11);
  assert.equal(apiTable[1]!.flexibleMinVersion, 12);
  assert.equal(apiTable[17]!.flexibleMinVersion, Infinity);
  assert.equal(apiTable[18]!.maxVersion, 4);
  assert.equal(apiTable[4], undefined);
});

Deno.test("a tagged field at its default is not written, a set one is", () => {
  const fetch = apiTable[1]!;
  const partition = sample("FetchResponsePartitionData", -1, false);
  partition.records = null;
  const body = { ...sample("FetchResponse", -1, false), responses: [] as unknown[] };
  body.responses = [{ topic: "t", topicId: ZERO_UUID, partitions: [partition] }];
  const w = new Writer();
  fetch.encodeResponse(w, 12, body);
  const plain = w.toBytes();
  (partition.currentLeader as Sample).leaderId = 3;
  fetch.encodeResponse(w, 12, body);
  const tagged = w.toBytes();
  // tag 1, size 3, then leaderId 3, leaderEpoch -1 and an empty tag section: 1 + 1 + 8 + 1 bytes.
  assert.equal(tagged.length - plain.length, 11);
  const decoded = fetch.decodeResponse(new Reader(tagged), 12) as Sample;
  assert.deepStrictEqual(decoded, body);
});

Deno.test("unknown tagged fields are skipped on decode", () => {
  const api = apiTable[18]!;
  // ApiVersions v3 request: two compact strings, then a tag section with unknown tag 9.
  const bytes = Uint8Array.of(2, 0x61, 2, 0x62, 1, 9, 2, 0xde, 0xad);
  const r = new Reader(bytes);
  assert.deepStrictEqual(api.decodeRequest(r, 3), {
    clientSoftwareName: "a",
    clientSoftwareVersion: "b",
  });
  assert.equal(r.error, undefined);
  assert.equal(r.remaining, 0);
});

Deno.test("encoding null into a version where the field is not nullable throws", () => {
  const metadata = apiTable[3]!;
  assert.throws(
    () =>
      metadata.encodeRequest(new Writer(), 0, {
        ...sample("MetadataRequest", -1, false),
        topics: null,
      }),
    /Topics/,
  );
});
