/**
 * Well-formed requests for any generated (apiKey, version), built from the
 * generated schema (`protocol/messages/_schema.ts`) with seeded values that
 * make handlers work: topic names from a small pool (the fuzzed topics), one
 * or two array elements, partitions 0 and 1, valid record batches, short
 * timeouts so no case waits long, and now and then the generated defaults.
 *
 * @module
 */
import { MESSAGES, type SchemaField, STRUCTS } from "../../protocol/messages/_schema.ts";
import { validBatch } from "./batches.ts";
import type { Prng } from "./prng.ts";

/** The topic on which every LogValidator rule and the cleaner are exercised. */
export const COMPACTED_TOPIC = "fuzz-compact";
/** A topic with the delete policy, two partitions. */
export const DELETE_TOPIC = "fuzz-delete";
/** Topics any API may create, alter or delete. */
const VICTIM_TOPICS = [
  "fuzz-victim",
  "fuzz-new",
  "",
  "x".repeat(260),
  "bad/name",
  "__consumer_offsets",
];
/** APIs that only read or append, which may name the fuzzed topics. */
const APPEND_OR_READ_KEYS = new Set([0, 1, 2, 3, 8, 9, 23]);
const CONFIG_NAMES = [
  "cleanup.policy",
  "segment.ms",
  "segment.bytes",
  "retention.ms",
  "retention.bytes",
  "max.message.bytes",
  "message.timestamp.type",
  "delete.retention.ms",
  "index.interval.bytes",
  "flush.messages",
  "no.such.config",
  "producer_byte_rate",
  "consumer_byte_rate",
];
const CONFIG_VALUES = [
  "compact",
  "delete",
  "1",
  "0",
  "-1",
  "100",
  "9223372036854775807",
  "abc",
  "",
  "LogAppendTime",
  "1048576",
  "1e3",
];
const STRINGS = ["", "a", "fuzz-group", "range", "consumer", "client", "é✓", "x".repeat(300)];

function inRange(range: [number, number], version: number): boolean {
  return version >= range[0] && version <= range[1];
}

interface SampleContext {
  readonly rng: Prng;
  readonly apiKey: number;
  readonly version: number;
  /** Depth of nested structs (arrays shrink with depth). */
  depth: number;
}

function stringValue(f: SchemaField, ctx: SampleContext): string {
  const rng = ctx.rng;
  const n = f.name.toLowerCase();
  if (n === "name" || n.startsWith("topic") || n === "resourcename") {
    const mayUseFuzzed = APPEND_OR_READ_KEYS.has(ctx.apiKey);
    return mayUseFuzzed && rng.chance(0.7)
      ? rng.pick([COMPACTED_TOPIC, DELETE_TOPIC])
      : rng.pick(VICTIM_TOPICS);
  }
  if (n.includes("group")) return rng.pick(["fuzz-group", "fuzz-group-2", ""]);
  if (n === "key" || n.includes("config")) return rng.pick(CONFIG_NAMES);
  if (n === "value") return rng.pick(CONFIG_VALUES);
  if (n.includes("memberid")) return rng.pick(["", "member-1", "fuzz-member"]);
  return rng.pick(STRINGS);
}

function intValue(f: SchemaField, ctx: SampleContext, bits: number): number {
  const rng = ctx.rng;
  const n = f.name.toLowerCase();
  if (n.includes("timeout") || n.includes("waitms") || n.includes("delay")) {
    return rng.pick([0, 1, 10, 50]);
  }
  if (n === "acks") return rng.pick([-1, 0, 1]);
  if (n.includes("partition") || n === "index") return rng.pick([0, 0, 0, 1, 1, -1, 7]);
  if (n.includes("maxbytes")) return rng.pick([0, 1, 100, 1 << 20, 0x7fffffff]);
  if (rng.chance(0.2)) {
    const max = bits === 64 ? Number.MAX_SAFE_INTEGER : 2 ** (bits - 1) - 1;
    return rng.pick([max, -max - (bits === 64 ? 0 : 1), -1]);
  }
  return rng.pick([0, 1, 2, 3, -1, rng.int(1000)]);
}

function element(f: SchemaField, ctx: SampleContext): unknown {
  const rng = ctx.rng;
  switch (f.kind) {
    case "struct":
      return sampleStruct(f.struct!, ctx);
    case "bool":
      return rng.chance(0.5);
    case "int8":
      return intValue(f, ctx, 8);
    case "int16":
      return intValue(f, ctx, 16);
    case "uint16":
      return rng.int(0x10000);
    case "int32":
      return intValue(f, ctx, 32);
    case "uint32":
      return rng.u32();
    case "int64":
      return intValue(f, ctx, 64);
    case "float64":
      return rng.pick([0, 1.5, -1, 1e300]);
    case "string":
      return stringValue(f, ctx);
    case "uuid":
      return rng.chance(0.5)
        ? "00000000-0000-0000-0000-000000000000"
        : "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
    case "bytes":
      return rng.bytes(rng.pick([0, 3, 40]));
    case "records":
      return validBatch(rng, true);
    default:
      throw new Error(`Unknown field kind "${f.kind}"`);
  }
}

function defaultOf(f: SchemaField): unknown {
  if (f.defaultValue === "null") return null;
  if (f.array) return [];
  switch (f.kind) {
    case "struct":
      return sampleStruct(f.struct!, undefined);
    case "bool":
      return f.defaultValue === "true";
    case "string":
      return f.defaultValue ?? "";
    case "uuid":
      return "00000000-0000-0000-0000-000000000000";
    case "bytes":
      return new Uint8Array(0);
    case "records":
      return null;
    default:
      return f.defaultValue === null ? 0 : Number(f.defaultValue);
  }
}

/** A struct: every field present at the version gets a value (or null when nullable, sometimes). */
function sampleStruct(name: string, ctx: SampleContext | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of STRUCTS[name]) {
    if (ctx === undefined || !inRange(f.versions, ctx.version)) {
      out[f.name] = defaultOf(f);
    } else if (
      f.name === "transactionalId" && inRange(f.nullable, ctx.version) && ctx.rng.chance(0.85)
    ) {
      out[f.name] = null; // a transactional produce is refused before its records are looked at
    } else if (inRange(f.nullable, ctx.version) && ctx.rng.chance(0.1)) {
      out[f.name] = null;
    } else if (f.array) {
      const n = ctx.rng.pick(ctx.depth > 2 ? [0, 1] : [0, 1, 1, 2]);
      ctx.depth++;
      out[f.name] = Array.from({ length: n }, () => element(f, ctx));
      ctx.depth--;
    } else {
      out[f.name] = element(f, ctx);
    }
  }
  return out;
}

/** A well-formed request body for `apiKey` at `version` (the generated defaults one time in ten). */
export function sampleRequest(apiKey: number, version: number, rng: Prng): Record<string, unknown> {
  const meta = MESSAGES.find((m) => m.apiKey === apiKey);
  if (meta === undefined) throw new Error(`No generated message for API key ${apiKey}`);
  if (rng.chance(0.1)) return sampleStruct(meta.request, undefined);
  return sampleStruct(meta.request, { rng, apiKey, version, depth: 0 });
}
