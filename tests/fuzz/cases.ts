/**
 * Fuzz cases: each one is a pure function of (seed, case index) and the
 * (apiKey, version) ranges the broker advertised, so any reported case can be
 * regenerated alone. A case is the exact bytes to write on a fresh
 * connection, what it exercises, and what must hold afterwards.
 *
 * @module
 */
import { beginFrame, encodeRequestHeader, finishFrame } from "../../protocol/frame.ts";
import { apiTable } from "../../protocol/messages/mod.ts";
import { Writer } from "../../protocol/primitives.ts";
import { BATCH_HEADER_BYTES, RecordBatchView } from "../../protocol/record_batch.ts";
import { gzipBombBatch, INVALID_BATCHES, validBatch } from "./batches.ts";
import { mutate } from "./mutate.ts";
import { Prng } from "./prng.ts";
import { COMPACTED_TOPIC, DELETE_TOPIC, sampleRequest } from "./requests.ts";

/** One advertised API range. */
export interface ApiRange {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
}

/** The case families; a run may leave some out (`--families`). */
export const FAMILIES = [
  "mutated",
  "wellformed",
  "frame",
  "batch-rule",
  "batch-valid",
  "batch-mutated",
  "bomb",
  "sequence",
] as const;
/** A case family. */
export type Family = typeof FAMILIES[number];

/** Relative weights of the families. */
const WEIGHTS: Record<Family, number> = {
  "mutated": 45,
  "wellformed": 14,
  "frame": 10,
  "batch-rule": 15,
  "batch-valid": 8,
  "batch-mutated": 8,
  "bomb": 0.2,
  "sequence": 8,
};

/** What the runner checks after writing a case, beyond the broker staying up. */
export type Expectation =
  /** Nothing more (the broker may answer or close). */
  | { kind: "any"; frames?: number }
  /** The case is written and the connection dropped at once (a partial frame). */
  | { kind: "hang-up" }
  /** A produce of batches that must all be refused (non-zero error code). */
  | { kind: "refused"; topic: string; rule: string }
  /** A produce whose accepted batches must pass the checker. */
  | { kind: "checked"; topic: string; batch: Uint8Array };

/** One case. */
export interface FuzzCase {
  readonly seed: number;
  readonly index: number;
  readonly family: Family;
  /** What it is, for the report. */
  readonly what: string;
  /** The exact bytes written. */
  readonly bytes: Uint8Array;
  readonly expect: Expectation;
  /** API key and version of the request the case came from (the runner decodes the answer). */
  readonly apiKey?: number;
  readonly apiVersion?: number;
}

/** The client id every case uses. */
const CLIENT_ID = "denka-fuzz";

/** A whole request frame and where its body starts (after the 4-byte prefix and the header). */
export function encodeFrame(
  apiKey: number,
  version: number,
  body: unknown,
  correlationId = 1,
): { bytes: Uint8Array; bodyAtBytes: number } {
  const w = new Writer();
  const mark = beginFrame(w);
  encodeRequestHeader(w, { apiKey, apiVersion: version, correlationId, clientId: CLIENT_ID });
  const bodyAtBytes = w.sizeBytes;
  apiTable[apiKey]!.encodeRequest(w, version, body as never);
  const chunks = finishFrame(w, mark) as Uint8Array[];
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) bytes.set(c, at), at += c.length;
  return { bytes, bodyAtBytes };
}

/** Re-prefixes a frame body whose length a mutation changed. */
function reframe(bytes: Uint8Array): Uint8Array {
  new DataView(bytes.buffer, bytes.byteOffset).setInt32(0, bytes.length - 4);
  return bytes;
}

function pickFamily(rng: Prng, families: readonly Family[]): Family {
  const total = families.reduce((n, f) => n + WEIGHTS[f], 0);
  let x = rng.u32() / 0x1_0000_0000 * total;
  for (const f of families) {
    x -= WEIGHTS[f];
    if (x < 0) return f;
  }
  return families[families.length - 1];
}

function pickApi(rng: Prng, apis: readonly ApiRange[]): { apiKey: number; version: number } {
  const a = rng.pick(apis);
  return { apiKey: a.apiKey, version: rng.range(a.minVersion, a.maxVersion) };
}

/** Produce of `batch` to partition 0 of `topic`, acks=-1, at a version with RecordBatch v2. */
function produceFrame(rng: Prng, apis: readonly ApiRange[], topic: string, batch: Uint8Array) {
  const range = apis.find((a) => a.apiKey === 0)!;
  const version = rng.range(Math.max(3, range.minVersion), range.maxVersion);
  const body = {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }],
  };
  return { ...encodeFrame(0, version, body), version };
}

/** Case `index` of the run seeded with `seed`. */
export function makeCase(
  seed: number,
  index: number,
  apis: readonly ApiRange[],
  families: readonly Family[] = FAMILIES,
): FuzzCase {
  const rng = Prng.forCase(seed, index);
  const family = pickFamily(rng, families);
  const base = { seed, index, family };
  switch (family) {
    case "mutated":
    case "wellformed": {
      const { apiKey, version } = pickApi(rng, apis);
      const frame = encodeFrame(apiKey, version, sampleRequest(apiKey, version, rng));
      const name = `${apiTable[apiKey]!.name} v${version}`;
      if (family === "wellformed") {
        return {
          ...base,
          what: name,
          bytes: frame.bytes,
          expect: { kind: "any" },
          apiKey,
          apiVersion: version,
        };
      }
      const from = rng.chance(0.85) ? frame.bodyAtBytes : 4;
      const m = mutate(frame.bytes, rng, from);
      return {
        ...base,
        what: `${name}: ${m.what}`,
        bytes: reframe(m.bytes.slice()),
        expect: { kind: "any" },
      };
    }
    case "frame":
      return { ...base, ...frameCase(rng, apis) };
    case "sequence":
      return { ...base, ...sequenceCase(rng, apis) };
    case "batch-rule": {
      const compacted = rng.chance(0.5);
      const rules = INVALID_BATCHES.filter((r) => compacted || !r.compactedOnly);
      const rule = rng.pick(rules);
      const topic = compacted ? COMPACTED_TOPIC : DELETE_TOPIC;
      const p = produceFrame(rng, apis, topic, rule.build(rng));
      return {
        ...base,
        what: `Produce v${p.version} to ${topic}: ${rule.rule}`,
        bytes: p.bytes,
        expect: { kind: "refused", topic, rule: rule.rule },
        apiKey: 0,
        apiVersion: p.version,
      };
    }
    case "batch-valid":
    case "batch-mutated": {
      const topic = rng.pick([COMPACTED_TOPIC, DELETE_TOPIC]);
      let batch = validBatch(rng, topic === COMPACTED_TOPIC);
      let what = "valid batch";
      if (family === "batch-mutated") {
        const m = mutate(batch, rng, BATCH_HEADER_BYTES - 4); // recordCount and the records
        batch = m.bytes;
        if (batch.length >= BATCH_HEADER_BYTES) {
          new DataView(batch.buffer, batch.byteOffset).setInt32(8, batch.length - 12);
          new RecordBatchView(batch).updateCrc();
        }
        what = `batch (CRC fixed): ${m.what}`;
      }
      const p = produceFrame(rng, apis, topic, batch);
      return {
        ...base,
        what: `Produce v${p.version} to ${topic}: ${what}`,
        bytes: p.bytes,
        expect: { kind: "checked", topic, batch },
        apiKey: 0,
        apiVersion: p.version,
      };
    }
    case "bomb": {
      const p = produceFrame(rng, apis, COMPACTED_TOPIC, gzipBombBatch());
      return {
        ...base,
        what:
          `Produce v${p.version} to ${COMPACTED_TOPIC}: gzip batch inflating to 100 MiB of zeros`,
        bytes: p.bytes,
        expect: {
          kind: "refused",
          topic: COMPACTED_TOPIC,
          rule: "gzip bomb of zero-length records",
        },
        apiKey: 0,
        apiVersion: p.version,
      };
    }
  }
}

/**
 * 2 to 8 requests written at once on one connection (the broker handles them in order), most
 * well-formed and some mutated, with correlation ids 1..n: stateful paths (group joins and
 * syncs, fetch sessions, commits) meet each other's answers and leftovers.
 */
function sequenceCase(
  rng: Prng,
  apis: readonly ApiRange[],
): Pick<FuzzCase, "what" | "bytes" | "expect"> {
  const n = rng.range(2, 8);
  const frames: Uint8Array[] = [];
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const { apiKey, version } = pickApi(rng, apis);
    const frame = encodeFrame(apiKey, version, sampleRequest(apiKey, version, rng), i + 1);
    let name = `${apiTable[apiKey]!.name} v${version}`;
    let bytes = frame.bytes;
    if (rng.chance(0.25)) {
      const m = mutate(frame.bytes, rng, frame.bodyAtBytes);
      bytes = reframe(m.bytes.slice());
      name += ` (${m.what})`;
    }
    frames.push(bytes);
    names.push(name);
  }
  const bytes = new Uint8Array(frames.reduce((t, f) => t + f.length, 0));
  let at = 0;
  for (const f of frames) bytes.set(f, at), at += f.length;
  return { what: names.join(", "), bytes, expect: { kind: "any", frames: n } };
}

/** Requests per the frame rules: absurd size prefixes, garbage, partial frames, bad headers. */
function frameCase(
  rng: Prng,
  apis: readonly ApiRange[],
): Pick<FuzzCase, "what" | "bytes" | "expect"> {
  const prefix = (size: number, rest: Uint8Array = new Uint8Array(0)) => {
    const out = new Uint8Array(4 + rest.length);
    new DataView(out.buffer).setInt32(0, size);
    out.set(rest, 4);
    return out;
  };
  const { apiKey, version } = pickApi(rng, apis);
  const frame = encodeFrame(apiKey, version, sampleRequest(apiKey, version, rng)).bytes;
  const kind = rng.int(10);
  switch (kind) {
    case 0: {
      const size = rng.pick([
        -1,
        -2147483648,
        0x7fffffff,
        REQUEST_MAX_BYTES + 1,
        REQUEST_MAX_BYTES * 4,
      ]);
      return {
        what: `size prefix ${size}`,
        bytes: prefix(size, frame.subarray(4)),
        expect: { kind: "any" },
      };
    }
    case 1:
      return { what: "size prefix 0", bytes: prefix(0), expect: { kind: "any" } };
    case 2: {
      const size = rng.pick([REQUEST_MAX_BYTES, REQUEST_MAX_BYTES - 1]);
      return {
        what: `size prefix ${size}, body never sent`,
        bytes: prefix(size, frame.subarray(4)),
        expect: { kind: "hang-up" },
      };
    }
    case 3: {
      const n = rng.range(1, 300);
      return { what: `${n} garbage bytes`, bytes: rng.bytes(n), expect: { kind: "hang-up" } };
    }
    case 4: {
      const cut = rng.range(1, frame.length - 1);
      return {
        what: `frame cut at ${cut} of ${frame.length}`,
        bytes: frame.slice(0, cut),
        expect: { kind: "hang-up" },
      };
    }
    case 5: {
      const n = rng.range(1, 300);
      return {
        what: `garbage frame of ${n}`,
        bytes: prefix(n, rng.bytes(n)),
        expect: { kind: "any" },
      };
    }
    case 6: {
      const key = rng.pick([-1, 99, 17000, 0x7fff, 38, 57, 67]);
      const f = frame.slice();
      new DataView(f.buffer).setInt16(4, key);
      return { what: `API key ${key}`, bytes: f, expect: { kind: "any" } };
    }
    case 7: {
      const v = rng.pick([-1, version + 1, 0x7fff, 1000]);
      const f = frame.slice();
      new DataView(f.buffer).setInt16(6, v);
      return { what: `API key ${apiKey} version ${v}`, bytes: f, expect: { kind: "any" } };
    }
    case 8: {
      const len = rng.pick([-2, -32768, 0x7fff, 200]);
      const f = frame.slice();
      if (f.length >= 14) new DataView(f.buffer).setInt16(12, len);
      return { what: `client id length ${len}`, bytes: f, expect: { kind: "any" } };
    }
    default: {
      const copies = rng.range(2, 20);
      const out = new Uint8Array(frame.length * copies);
      for (let i = 0; i < copies; i++) out.set(frame, i * frame.length);
      return {
        what: `${copies} pipelined ${apiTable[apiKey]!.name} v${version}`,
        bytes: out,
        expect: { kind: "any" },
      };
    }
  }
}

/** `socket.request.max.bytes` of the broker under fuzz (smaller than Kafka's 100 MiB default). */
export const REQUEST_MAX_BYTES = 8 * 1024 * 1024;
