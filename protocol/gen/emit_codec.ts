/**
 * Emits the TypeScript types and straight-line `if (version >= N)` codecs for
 * one message file (a request and its response, or a header).
 *
 * @module
 */

import {
  type Field,
  intersect,
  isEmpty,
  type Message,
  NO_VERSIONS,
  type Struct,
  type VersionRange,
} from "./spec.ts";

/** A condition over `version`: known at generation time, or a JS expression. */
type Cond = boolean | string;

/** Condition for "version ∈ range" among the versions of `context`. */
export function presence(range: VersionRange, context: VersionRange): Cond {
  const r = intersect(range, context);
  if (isEmpty(r)) return false;
  const parts: string[] = [];
  if (r.min > context.min) parts.push(`version >= ${r.min}`);
  if (r.max < context.max) parts.push(`version <= ${r.max}`);
  return parts.length === 0 ? true : parts.join(" && ");
}

/** Versions in which `f` is a regular (not tagged) field. */
function regularVersions(f: Field): VersionRange {
  if (isEmpty(f.tagged)) return f.versions;
  return intersect(f.versions, { min: 0, max: f.tagged.min - 1 });
}

function taggedVersions(f: Field): VersionRange {
  return isEmpty(f.tagged) ? NO_VERSIONS : intersect(f.versions, f.tagged);
}

/** True when the field's TS type admits null. */
function tsNullable(f: Field): boolean {
  return f.kind !== "records" && (!isEmpty(intersect(f.nullable, f.versions)) ||
    f.defaultValue === "null");
}

function structRef(s: Struct, records: string): string {
  return s.hasRecords ? `${s.tsName}<${records}>` : s.tsName;
}

/** TS type of a field; `records` names the records type parameter to use. */
export function tsType(f: Field, records: string): string {
  let base: string;
  switch (f.kind) {
    case "bool":
      base = "boolean";
      break;
    case "string":
    case "uuid":
      base = "string";
      break;
    case "bytes":
      base = "Uint8Array";
      break;
    case "records":
      base = records;
      break;
    case "struct":
      base = structRef(f.struct!, records);
      break;
    default:
      base = "number";
  }
  if (f.array) base = `${base}[]`;
  return tsNullable(f) ? `${base} | null` : base;
}

/** Default value expression of a field (Kafka's rules plus the spec's `default`). */
export function defaultExpr(f: Field): string {
  if (f.defaultValue === "null") return "null";
  if (f.array) return "[]";
  switch (f.kind) {
    case "struct":
      return `default${f.struct!.tsName}()`;
    case "bool":
      return f.defaultValue === "true" ? "true" : "false";
    case "string":
      return JSON.stringify(f.defaultValue ?? "");
    case "uuid":
      return "ZERO_UUID";
    case "bytes":
      return "EMPTY_BYTES";
    case "records":
      return "null";
    default:
      return f.defaultValue === undefined ? "0" : String(Number(f.defaultValue));
  }
}

function isDefaultExpr(f: Field, e: string): string {
  if (f.defaultValue === "null" || f.kind === "records") return `${e} === null`;
  const guard = tsNullable(f) ? `${e} !== null && ` : "";
  if (f.array || f.kind === "bytes") return `${guard}${e}.length === 0`;
  if (f.kind === "struct") return `${guard}isDefault${f.struct!.tsName}(${e})`;
  return `${e} === ${defaultExpr(f)}`;
}

function compactArg(c: Cond): string {
  return c === false ? "" : String(c);
}

/** Expression reading one scalar (or one array element) value. */
function readScalar(f: Field, compact: Cond, nullable: Cond): string {
  const c = compactArg(compact);
  switch (f.kind) {
    case "string":
    case "bytes": {
      const name = f.kind === "string" ? "String" : "Bytes";
      if (nullable === true) return `r.nullable${name}(${c})`;
      if (nullable === false) return `r.${f.kind}(${c})`;
      return `(${nullable}) ? r.nullable${name}(${c}) : r.${f.kind}(${c})`;
    }
    case "records":
      return `r.records(${c})`;
    case "struct": {
      const call = `decode${f.struct!.tsName}(r, version)`;
      if (nullable === false) return call;
      const check = nullable === true ? "" : `(${nullable}) && `;
      return `${check}r.int8() < 0 ? null : ${call}`;
    }
    default:
      return `r.${f.kind}()`;
  }
}

/** Statements assigning the decoded field value to `target`. */
function readInto(f: Field, target: string, compact: Cond, nullable: Cond): string {
  if (!f.array) return `${target} = ${readScalar(f, compact, nullable)};`;
  const elemType = tsType(
    { ...f, array: false, defaultValue: undefined, nullable: NO_VERSIONS },
    "DecodedRecords",
  );
  const onNull = nullable === true
    ? `${target} = null;`
    : nullable === false
    ? `r.fail('Null where the non-nullable array "${f.specName}" was expected'); ${target} = [];`
    : `if (${nullable}) ${target} = null; else { r.fail('Null where the non-nullable array "${f.specName}" was expected'); ${target} = []; }`;
  return `{
    const n = r.arrayLength(${compactArg(compact)});
    if (n < 0) { ${onNull} } else {
      const a: ${elemType}[] = [];
      for (let i = 0; i < n && r.ok; i++) a.push(${readScalar(f, compact, false)});
      ${target} = a;
    }
  }`;
}

/** Statements writing one scalar value `e`. */
function writeScalar(f: Field, e: string, compact: Cond, nullable: Cond): string {
  const c = compact === false ? "" : `, ${compact}`;
  const nn = tsNullable(f) ? `nonNull(${e}, "${f.specName}")` : e;
  switch (f.kind) {
    case "string":
    case "bytes": {
      const name = f.kind === "string" ? "String" : "Bytes";
      if (nullable === true) return `w.nullable${name}(${e}${c});`;
      if (nullable === false) return `w.${f.kind}(${nn}${c});`;
      return `if (${nullable}) w.nullable${name}(${e}${c}); else w.${f.kind}(${nn}${c});`;
    }
    case "records":
      return `w.records(${e}${c});`;
    case "struct": {
      const call = (x: string) => `encode${f.struct!.tsName}(w, version, ${x});`;
      if (nullable === false) return call(nn);
      const check = nullable === true ? "" : `(${nullable}) && `;
      return `if (${check}${e} === null) w.int8(-1); else { w.int8(1); ${call(nn)} }`;
    }
    default:
      return `w.${f.kind}(${e});`;
  }
}

function writeField(f: Field, e: string, compact: Cond, nullable: Cond): string {
  if (!f.array) return writeScalar(f, e, compact, nullable);
  const c = compact === false ? "" : `, ${compact}`;
  const elem = writeScalar(
    { ...f, array: false, nullable: NO_VERSIONS, defaultValue: undefined },
    "a[i]",
    compact,
    false,
  );
  const loop = `for (let i = 0; i < a.length; i++) ${elem}`;
  if (!tsNullable(f)) return `{ const a = ${e}; w.arrayLength(a.length${c}); ${loop} }`;
  if (nullable === false) {
    return `{ const a = nonNull(${e}, "${f.specName}"); w.arrayLength(a.length${c}); ${loop} }`;
  }
  const check = nullable === true
    ? ""
    : `if (a === null && !(${nullable})) nonNull(a, "${f.specName}"); `;
  return `{ const a = ${e}; ${check}w.arrayLength(a === null ? -1 : a.length${c}); if (a !== null) ${loop} }`;
}

function when(c: Cond, body: string): string {
  if (c === false) return "";
  return c === true ? body : `if (${c}) { ${body} }`;
}

/** Emits type, decode, encode, default (and isDefault when needed) for a struct. */
export function emitStruct(message: Message, s: Struct): string {
  const ctx = isEmpty(s.context) ? message.valid : s.context;
  const flex = presence(message.flexible, ctx);
  const flexDecl = typeof flex === "string" ? `const flexible = ${flex};\n` : "";
  const flexVar: Cond = typeof flex === "string" ? "flexible" : flex;
  // Requests default to decoded records (the broker reads them), responses to encodable ones.
  const recordsDefault = message.type === "request" ? "DecodedRecords" : "EncodableRecords";
  const typeParams = s.hasRecords ? `<R extends EncodableRecords = ${recordsDefault}>` : "";
  const encodable = structRef(s, "EncodableRecords");
  const decoded = structRef(s, "DecodedRecords");
  const out: string[] = [];

  out.push(
    `/** ${
      s.tsName === message.name
        ? `${message.name}, versions ${message.valid.min}-${message.valid.max}`
        : `Struct "${s.specName}" of ${message.name}`
    }. */`,
  );
  out.push(`export interface ${s.tsName}${typeParams} {`);
  for (const f of s.fields) {
    const extra = [`versions ${rangeText(f.versions)}`];
    if (!isEmpty(f.nullable)) extra.push(`nullable ${rangeText(f.nullable)}`);
    if (!isEmpty(f.tagged)) extra.push(`tag ${f.tag} in ${rangeText(f.tagged)}`);
    out.push(`  /** ${escapeDoc(f.about)} (${extra.join(", ")}) */`);
    out.push(`  ${f.name}: ${tsType(f, "R")};`);
  }
  out.push("}\n");

  const tagged = s.fields.filter((f) =>
    !isEmpty(taggedVersions(f)) &&
    presence(taggedVersions(f), intersect(ctx, message.flexible)) !== false
  )
    .sort((a, b) => a.tag! - b.tag!);

  // decode
  const dec: string[] = [];
  for (const f of s.fields) {
    const regular = presence(regularVersions(f), ctx);
    const type = tsType(f, "DecodedRecords");
    const local = `v${f.specName}`;
    const fieldCtx = intersect(regularVersions(f), ctx);
    const compact = f.flexible ? presence(f.flexible, fieldCtx) : flexVar;
    const nullable = presence(f.nullable, fieldCtx);
    if (regular === true && !f.array) {
      dec.push(`const ${local}: ${type} = ${readScalar(f, compact, nullable)};`);
    } else if (regular === true) {
      dec.push(`let ${local}: ${type};`, readInto(f, local, compact, nullable));
    } else {
      dec.push(`let ${local}: ${type} = ${defaultExpr(f)};`);
      dec.push(when(regular, readInto(f, local, compact, nullable)));
    }
  }
  if (flexVar !== false) {
    if (tagged.length === 0) dec.push(when(flexVar, "r.skipTaggedFields();"));
    else {
      const cases = tagged.map((f) => {
        const fieldCtx = intersect(taggedVersions(f), ctx);
        const cond = presence(taggedVersions(f), intersect(ctx, message.flexible));
        const body = `${
          readInto(f, `v${f.specName}`, true, presence(f.nullable, fieldCtx))
        } r.endTaggedField(end, ${f.tag});`;
        return `case ${f.tag}: ${
          cond === true ? body : `if (${cond}) { ${body} } else r.skip(size);`
        } break;`;
      });
      dec.push(when(
        flexVar,
        `const tagCount = r.uvarint();
        for (let t = 0; t < tagCount && r.ok; t++) {
          const tag = r.uvarint(); const size = r.uvarint(); const end = r.offset + size;
          switch (tag) { ${cases.join("\n")} default: r.skip(size); }
        }`,
      ));
    }
  }
  out.push(`/** Decodes {@link ${s.tsName}} at \`version\`; check \`r.error\` afterwards. */`);
  const decBody = flexDecl + dec.filter((x) => x !== "").join("\n");
  const decParams = `${param("r", decBody)}: Reader, ${param("version", decBody)}: number`;
  out.push(`export function decode${s.tsName}(${decParams}): ${decoded} {`);
  out.push(decBody);
  out.push(`return { ${s.fields.map((f) => `${f.name}: v${f.specName}`).join(", ")} };\n}\n`);

  // encode
  const enc: string[] = [];
  for (const f of s.fields) {
    const regular = presence(regularVersions(f), ctx);
    const fieldCtx = intersect(regularVersions(f), ctx);
    const compact = f.flexible ? presence(f.flexible, fieldCtx) : flexVar;
    enc.push(when(regular, writeField(f, `m.${f.name}`, compact, presence(f.nullable, fieldCtx))));
  }
  if (flexVar !== false) {
    if (tagged.length === 0) enc.push(when(flexVar, "w.uvarint(0);"));
    else {
      const decls = tagged.map((f, i) => {
        const cond = presence(taggedVersions(f), intersect(ctx, message.flexible));
        return `const t${i} = ${cond === true ? "" : `(${cond}) && `}!(${
          isDefaultExpr(f, `m.${f.name}`)
        });`;
      });
      const count = tagged.map((_, i) => `(t${i} ? 1 : 0)`).join(" + ");
      const writes = tagged.map((f, i) => {
        const fieldCtx = intersect(taggedVersions(f), ctx);
        const body = writeField(f, `m.${f.name}`, true, presence(f.nullable, fieldCtx));
        return `if (t${i}) { w.uvarint(${f.tag}); const mark = w.beginSized(); ${body} w.endSized(mark); }`;
      });
      enc.push(when(flexVar, [...decls, `w.uvarint(${count});`, ...writes].join("\n")));
    }
  }
  out.push(`/** Encodes {@link ${s.tsName}} at \`version\`. */`);
  const encBody = flexDecl + enc.filter((x) => x !== "").join("\n");
  const encParams = `${param("w", encBody)}: Writer, ${param("version", encBody)}: number, ${
    param("m", encBody)
  }: ${encodable}`;
  out.push(`export function encode${s.tsName}(${encParams}): void {`);
  out.push(encBody + "\n}\n");

  // defaults
  out.push(`/** A {@link ${s.tsName}} with every field at its default. */`);
  out.push(`export function default${s.tsName}(): ${encodable} {`);
  out.push(`return { ${s.fields.map((f) => `${f.name}: ${defaultExpr(f)}`).join(", ")} };\n}\n`);
  if (s.usedAsTagged) {
    const checks = s.fields.map((f) => isDefaultExpr(f, `m.${f.name}`)).join(" && ");
    out.push(`function isDefault${s.tsName}(m: ${encodable}): boolean {`);
    out.push(`return ${checks || "true"};\n}\n`);
  }
  return out.join("\n");
}

/** A parameter name, prefixed with `_` when `body` never uses it (lint). */
function param(name: string, body: string): string {
  return new RegExp(`\\b${name}\\b`).test(body) ? name : `_${name}`;
}

function rangeText(r: VersionRange): string {
  if (isEmpty(r)) return "none";
  if (r.max >= 32767) return `${r.min}+`;
  return r.min === r.max ? `${r.min}` : `${r.min}-${r.max}`;
}

function escapeDoc(text: string): string {
  return text.replaceAll("*/", "* /");
}

/** Emits a whole generated file for `messages` (usually a request and its response). */
export function emitFile(title: string, messages: Message[]): string {
  const body = messages.flatMap((m) => m.structs.map((s) => emitStruct(m, s))).join("\n");
  const values = ["nonNull", "ZERO_UUID", "EMPTY_BYTES"].filter((n) => body.includes(n));
  const types = ["DecodedRecords", "EncodableRecords"].filter((n) => body.includes(n));
  const typeNames = [...types, "Reader", "Writer"];
  const importLine = values.length === 0
    ? `import type { ${typeNames.join(", ")} } from "../primitives.ts";`
    : `import { ${
      [...values, ...typeNames.map((t) => `type ${t}`)].join(", ")
    } } from "../primitives.ts";`;
  return [
    "// Code generated by protocol/gen. DO NOT EDIT.",
    "",
    `/**\n * ${title}\n *\n * @module\n */`,
    "",
    importLine,
    "",
    body,
  ].join("\n");
}
