/**
 * A small, strict CBOR decoder (RFC 8949) for request bodies: maps (text
 * keys), arrays, byte and text strings (definite and indefinite), integers,
 * floats, simple values; tags are read through (their content is returned).
 *
 * Why not cbor-x's `decode` for request bodies: they are untrusted, and this
 * decoder bounds nesting depth, refuses invalid UTF-8 and reads only the
 * shapes the API accepts, failing with a sentence for a 400. (cbor-x's default
 * Node entry also loads a native string extractor that kills a Deno process on
 * long non-ASCII strings; `util/cbor.ts` imports its pure-JS build instead.)
 * Responses and metadata files are encoded with cbor-x through `util/cbor.ts`.
 *
 * @module
 */

import { concatBytes } from "../../util/bytes.ts";

/** Nesting deeper than this is refused. */
export const CBOR_DEPTH_MAX = 64;

const textDecoder = new TextDecoder("utf-8", { fatal: true });

class CborReader {
  position = 0;
  readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  }

  need(n: number): void {
    if (this.position + n > this.bytes.length) throw new Error("Unexpected end of CBOR data");
  }

  /** The argument of an initial byte with additional info `info`; -1 for indefinite. */
  argument(info: number): number {
    if (info < 24) return info;
    const p = this.position;
    switch (info) {
      case 24:
        this.need(1);
        this.position += 1;
        return this.bytes[p];
      case 25:
        this.need(2);
        this.position += 2;
        return this.view.getUint16(p);
      case 26:
        this.need(4);
        this.position += 4;
        return this.view.getUint32(p);
      case 27: {
        this.need(8);
        this.position += 8;
        const big = this.view.getBigUint64(p);
        if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error("CBOR integer beyond 2^53");
        return Number(big);
      }
      case 31:
        return -1;
      default:
        throw new Error(`Reserved CBOR additional info ${info}`);
    }
  }

  take(n: number): Uint8Array {
    this.need(n);
    const out = this.bytes.subarray(this.position, this.position + n);
    this.position += n;
    return out;
  }

  /** Chunks of an indefinite-length string of `major`. */
  chunks(major: number, depth: number): Uint8Array[] {
    const parts: Uint8Array[] = [];
    for (;;) {
      this.need(1);
      if (this.bytes[this.position] === 0xff) {
        this.position++;
        return parts;
      }
      const initial = this.bytes[this.position++];
      if (initial >> 5 !== major) throw new Error("Bad chunk in an indefinite-length string");
      const n = this.argument(initial & 31);
      if (n < 0 || depth > CBOR_DEPTH_MAX) throw new Error("Nested indefinite-length string");
      parts.push(this.take(n));
    }
  }

  value(depth: number): unknown {
    if (depth > CBOR_DEPTH_MAX) throw new Error(`CBOR nested deeper than ${CBOR_DEPTH_MAX}`);
    this.need(1);
    const initial = this.bytes[this.position++];
    const major = initial >> 5;
    const info = initial & 31;
    if (major === 7) return this.simple(info);
    const n = this.argument(info);
    switch (major) {
      case 0:
        return n;
      case 1:
        return -1 - n;
      case 2:
        return n >= 0 ? this.take(n).slice() : concatBytes(this.chunks(2, depth + 1));
      case 3:
        return textDecoder.decode(n >= 0 ? this.take(n) : concatBytes(this.chunks(3, depth + 1)));
      case 4: {
        const out: unknown[] = [];
        if (n >= 0) { for (let i = 0; i < n; i++) out.push(this.value(depth + 1)); }
        else while (!this.breakNext()) out.push(this.value(depth + 1));
        return out;
      }
      case 5: {
        const out: Record<string, unknown> = {};
        const entry = () => {
          const key = this.value(depth + 1);
          if (typeof key !== "string" && typeof key !== "number") {
            throw new Error("CBOR map keys must be text or integers");
          }
          Object.defineProperty(out, String(key), {
            value: this.value(depth + 1),
            enumerable: true,
            writable: true,
            configurable: true,
          });
        };
        if (n >= 0) { for (let i = 0; i < n; i++) entry(); }
        else while (!this.breakNext()) entry();
        return out;
      }
      default: // 6: a tag; its content stands for it
        if (n < 0) throw new Error("Indefinite-length tag");
        return this.value(depth + 1);
    }
  }

  breakNext(): boolean {
    this.need(1);
    if (this.bytes[this.position] !== 0xff) return false;
    this.position++;
    return true;
  }

  simple(info: number): unknown {
    const p = this.position;
    switch (info) {
      case 20:
        return false;
      case 21:
        return true;
      case 22:
        return null;
      case 23:
        return undefined;
      case 25:
        this.need(2);
        this.position += 2;
        return halfToNumber(this.view.getUint16(p));
      case 26:
        this.need(4);
        this.position += 4;
        return this.view.getFloat32(p);
      case 27:
        this.need(8);
        this.position += 8;
        return this.view.getFloat64(p);
      default:
        throw new Error(`Unsupported CBOR simple value ${info}`);
    }
  }
}

function halfToNumber(half: number): number {
  const exponent = (half >> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  const sign = half & 0x8000 ? -1 : 1;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** Decodes a CBOR sequence (one or more items back to back); throws on malformed data. */
export function decodeCborSequence(bytes: Uint8Array): unknown[] {
  const reader = new CborReader(bytes);
  const values: unknown[] = [];
  while (reader.position < bytes.length) values.push(reader.value(0));
  return values;
}
