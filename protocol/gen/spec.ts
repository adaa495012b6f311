/**
 * Reads Kafka's message JSON (with `//` comments) into a resolved model:
 * structs with typed fields and version ranges, common structs inlined.
 *
 * @module
 */

/** An inclusive version range; empty when `min > max`. */
export interface VersionRange {
  readonly min: number;
  readonly max: number;
}

/** The highest version number a range can reach ("N+"). */
export const VERSION_MAX = 32767;
/** The empty range ("none"). */
export const NO_VERSIONS: VersionRange = { min: 1, max: 0 };

/** Primitive field types of the spec format. */
export type PrimitiveKind =
  | "bool"
  | "int8"
  | "int16"
  | "uint16"
  | "int32"
  | "uint32"
  | "int64"
  | "float64"
  | "string"
  | "uuid"
  | "bytes"
  | "records";

const PRIMITIVES = new Set<string>([
  "bool",
  "int8",
  "int16",
  "uint16",
  "int32",
  "uint32",
  "int64",
  "float64",
  "string",
  "uuid",
  "bytes",
  "records",
]);

/** One field, resolved. `struct` is set for struct and struct-array fields. */
export interface Field {
  readonly specName: string;
  readonly name: string;
  readonly about: string;
  /** Element kind for arrays, value kind otherwise. */
  readonly kind: PrimitiveKind | "struct";
  readonly array: boolean;
  readonly struct: Struct | undefined;
  readonly versions: VersionRange;
  readonly nullable: VersionRange;
  readonly tagged: VersionRange;
  readonly tag: number | undefined;
  readonly defaultValue: string | undefined;
  /** Field-level override of the message's flexible versions (ClientId in RequestHeader). */
  readonly flexible: VersionRange | undefined;
}

/** A struct: the message itself or a nested/common struct. */
export interface Struct {
  readonly tsName: string;
  readonly specName: string;
  readonly fields: Field[];
  /** Hull of versions in which this struct can be encoded (for eliding checks). */
  context: VersionRange;
  /** True when the struct (transitively) holds a `records` field. */
  hasRecords: boolean;
  /** True when a tagged field has this struct as its value (needs an isDefault check). */
  usedAsTagged: boolean;
}

/** One message (request, response or header) resolved from a spec file. */
export interface Message {
  readonly name: string;
  readonly apiKey: number | undefined;
  readonly type: "request" | "response" | "header";
  readonly valid: VersionRange;
  readonly flexible: VersionRange;
  readonly root: Struct;
  /** Every struct in dependency order (children before parents), root last. */
  readonly structs: Struct[];
}

interface RawField {
  name: string;
  type: string;
  versions?: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  default?: string | number | boolean;
  flexibleVersions?: string;
  about?: string;
  fields?: RawField[];
}

interface RawMessage {
  apiKey?: number;
  type: "request" | "response" | "header";
  name: string;
  validVersions: string;
  flexibleVersions: string;
  fields: RawField[];
  commonStructs?: { name: string; versions?: string; fields: RawField[] }[];
}

/** Removes `//` comments outside strings. */
export function stripComments(text: string): string {
  let out = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === "\\") out += text[++i];
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else out += c;
  }
  return out;
}

/** Parses "none", "N", "N+" or "N-M". */
export function parseVersions(text: string | undefined): VersionRange {
  if (text === undefined || text === "none" || text === "") return NO_VERSIONS;
  if (text.endsWith("+")) return { min: Number(text.slice(0, -1)), max: VERSION_MAX };
  const dash = text.indexOf("-");
  if (dash < 0) return { min: Number(text), max: Number(text) };
  return { min: Number(text.slice(0, dash)), max: Number(text.slice(dash + 1)) };
}

/** Intersection of two ranges. */
export function intersect(a: VersionRange, b: VersionRange): VersionRange {
  return { min: Math.max(a.min, b.min), max: Math.min(a.max, b.max) };
}

/** True when `r` holds no version. */
export function isEmpty(r: VersionRange): boolean {
  return r.min > r.max;
}

/** True when `outer` holds every version of `inner`. */
export function covers(outer: VersionRange, inner: VersionRange): boolean {
  return isEmpty(inner) || (outer.min <= inner.min && outer.max >= inner.max);
}

function lowerCamel(name: string): string {
  return name[0].toLowerCase() + name.slice(1);
}

/** Name of a nested struct type: the message name, then the spec struct name. */
function structTsName(messageName: string, specName: string): string {
  const apiName = messageName.replace(/(Request|Response)$/, "");
  let rest = specName;
  if (rest.startsWith(messageName)) rest = rest.slice(messageName.length);
  else if (rest.startsWith(apiName) && /^[A-Z]/.test(rest.slice(apiName.length))) {
    rest = rest.slice(apiName.length);
    const role = messageName.slice(apiName.length);
    if (rest.startsWith(role)) rest = rest.slice(role.length);
  }
  return messageName + rest;
}

/** Parses one spec file's text into a resolved {@link Message}. */
export function parseMessage(text: string): Message {
  const raw = JSON.parse(stripComments(text)) as RawMessage;
  const valid = parseVersions(raw.validVersions);
  const flexible = parseVersions(raw.flexibleVersions);
  const structs: Struct[] = [];
  const byName = new Map<string, Struct>();
  const common = new Map((raw.commonStructs ?? []).map((s) => [s.name, s]));

  function resolveStruct(specName: string, rawFields: RawField[], tsName: string): Struct {
    const existing = byName.get(specName);
    if (existing !== undefined) return existing;
    const struct: Struct = {
      tsName,
      specName,
      fields: [],
      context: NO_VERSIONS,
      hasRecords: false,
      usedAsTagged: false,
    };
    byName.set(specName, struct);
    for (const f of rawFields) struct.fields.push(resolveField(f));
    struct.hasRecords = struct.fields.some((f) => f.kind === "records" || f.struct?.hasRecords);
    structs.push(struct);
    return struct;
  }

  function resolveField(f: RawField): Field {
    const array = f.type.startsWith("[]");
    const typeName = array ? f.type.slice(2) : f.type;
    let struct: Struct | undefined;
    if (!PRIMITIVES.has(typeName)) {
      const fields = f.fields ?? common.get(typeName)?.fields;
      if (fields === undefined) throw new Error(`Unknown type "${f.type}" in ${raw.name}`);
      if (f.fields !== undefined && byName.has(typeName)) {
        throw new Error(`Struct "${typeName}" is defined twice in ${raw.name}`);
      }
      struct = resolveStruct(typeName, fields, structTsName(raw.name, typeName));
    }
    const tagged = f.tag === undefined ? NO_VERSIONS : parseVersions(f.taggedVersions);
    if (struct !== undefined && !array && !isEmpty(tagged)) markTagged(struct);
    return {
      specName: f.name,
      name: lowerCamel(f.name),
      about: f.about ?? "",
      kind: struct === undefined ? typeName as PrimitiveKind : "struct",
      array,
      struct,
      versions: parseVersions(f.versions),
      nullable: parseVersions(f.nullableVersions),
      tagged,
      tag: f.tag,
      defaultValue: f.default === undefined ? undefined : String(f.default),
      flexible: f.flexibleVersions === undefined ? undefined : parseVersions(f.flexibleVersions),
    };
  }

  const root = resolveStruct(raw.name, raw.fields, raw.name);
  root.context = valid;
  assignContexts(root);
  return { name: raw.name, apiKey: raw.apiKey, type: raw.type, valid, flexible, root, structs };
}

/** Marks `struct` and its nested (non-array) structs as needing an isDefault check. */
function markTagged(struct: Struct): void {
  struct.usedAsTagged = true;
  for (const f of struct.fields) if (f.struct !== undefined && !f.array) markTagged(f.struct);
}

/** Widens each nested struct's context to the hull of the versions it can appear in. */
function assignContexts(struct: Struct): void {
  for (const f of struct.fields) {
    if (f.struct === undefined) continue;
    const inner = intersect(struct.context, f.versions);
    if (isEmpty(inner)) continue;
    const child = f.struct;
    const before = child.context;
    child.context = isEmpty(before) ? inner : {
      min: Math.min(before.min, inner.min),
      max: Math.max(before.max, inner.max),
    };
    if (child.context.min !== before.min || child.context.max !== before.max) {
      assignContexts(child);
    }
  }
}

/** snake_case file stem for a spec name: "ApiVersions" → "api_versions". */
export function fileStem(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
}
