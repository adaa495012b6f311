/**
 * Seeded mutators of request bytes: bit flips, truncations, extensions,
 * negative and huge int16/int32 counts, overflowing and huge (u)varints, bad
 * tagged-field sections, duplicated and deleted runs. Each returns new bytes
 * and a short description for the failure report.
 *
 * @module
 */
import type { Prng } from "./prng.ts";

/** One mutation applied: the new bytes and what was done. */
export interface Mutated {
  readonly bytes: Uint8Array;
  readonly what: string;
}

type Mutator = (b: Uint8Array, rng: Prng, fromBytes: number) => Mutated;

const INT32_SPECIALS = [-1, -2, -2147483648, 2147483647, 2147483646, 0x10000, 0x7fffff00, 0];
const INT16_SPECIALS = [-1, -2, -32768, 32767, 0x100, 0];
/** An 11-byte varint: longer than the 10 bytes Kafka allows. */
const VARINT_TOO_LONG = Uint8Array.of(
  0xff,
  0xff,
  0xff,
  0xff,
  0xff,
  0xff,
  0xff,
  0xff,
  0xff,
  0xff,
  1,
);
/** Unsigned varints of 2^32-1, 2^31 and 2^28: compact lengths and counts far past the frame. */
const UVARINT_HUGE = [
  Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f),
  Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x08),
  Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x01),
  Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff), // unterminated 5-byte uvarint
];

function at(b: Uint8Array, rng: Prng, fromBytes: number): number {
  return b.length <= fromBytes ? b.length : rng.range(fromBytes, b.length - 1);
}

function splice(b: Uint8Array, at: number, removeBytes: number, insert: Uint8Array): Uint8Array {
  const position = Math.min(at, b.length);
  const remove = Math.min(removeBytes, b.length - position);
  const out = new Uint8Array(b.length - remove + insert.length);
  out.set(b.subarray(0, position));
  out.set(insert, position);
  out.set(b.subarray(position + remove), position + insert.length);
  return out;
}

function overwrite(b: Uint8Array, position: number, value: Uint8Array): Uint8Array {
  const out = b.slice();
  out.set(value.subarray(0, Math.max(0, out.length - position)), position);
  return out;
}

function int32Bytes(v: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setInt32(0, v);
  return out;
}

function int16Bytes(v: number): Uint8Array {
  const out = new Uint8Array(2);
  new DataView(out.buffer).setInt16(0, v);
  return out;
}

const MUTATORS: readonly Mutator[] = [
  (b, rng, from) => {
    const p = at(b, rng, from);
    const out = b.slice();
    if (p < out.length) out[p] ^= 1 << rng.int(8);
    return { bytes: out, what: `flip a bit at ${p}` };
  },
  (b, rng, from) => {
    const p = at(b, rng, from);
    return {
      bytes: overwrite(b, p, Uint8Array.of(rng.pick([0, 0xff, 0x80, 0x7f]))),
      what: `set byte ${p}`,
    };
  },
  (b, rng, from) => {
    const cut = at(b, rng, from);
    return { bytes: b.slice(0, cut), what: `truncate to ${cut}` };
  },
  (b, rng) => {
    const n = rng.pick([1, 2, 4, 16, 300]);
    return { bytes: splice(b, b.length, 0, rng.bytes(n)), what: `extend by ${n}` };
  },
  (b, rng, from) => {
    const p = at(b, rng, from);
    const v = rng.pick(INT32_SPECIALS);
    return { bytes: overwrite(b, p, int32Bytes(v)), what: `int32 ${v} at ${p}` };
  },
  (b, rng, from) => {
    const p = at(b, rng, from);
    const v = rng.pick(INT16_SPECIALS);
    return { bytes: overwrite(b, p, int16Bytes(v)), what: `int16 ${v} at ${p}` };
  },
  (b, rng, from) => {
    const p = at(b, rng, from);
    return { bytes: splice(b, p, 1, VARINT_TOO_LONG), what: `11-byte varint at ${p}` };
  },
  (b, rng, from) => {
    const p = at(b, rng, from);
    const v = rng.pick(UVARINT_HUGE);
    return { bytes: splice(b, p, 1, v), what: `huge uvarint ${[...v]} at ${p}` };
  },
  (b, rng, from) => {
    // A tagged-field section: count, then (tag, size, data) with a size past the end,
    // a duplicate tag, or tags out of order; replaces one byte (often an empty section's 0).
    const p = at(b, rng, from);
    const sections = [
      Uint8Array.of(1, 0, 0x7f, 1, 2),
      Uint8Array.of(2, 5, 1, 9, 5, 1, 9),
      Uint8Array.of(2, 7, 0, 3, 0),
      Uint8Array.of(0x7f, 0, 0),
      Uint8Array.of(1, 0xff, 0xff, 0xff, 0xff, 0x0f, 0),
    ];
    const s = rng.pick(sections);
    return { bytes: splice(b, p, 1, s), what: `tagged fields ${[...s]} at ${p}` };
  },
  (b, rng, from) => {
    const p = at(b, rng, from);
    const n = Math.min(rng.pick([1, 4, 16, 64]), b.length - p);
    return { bytes: splice(b, p, n, new Uint8Array(0)), what: `delete ${n} at ${p}` };
  },
  (b, rng, from) => {
    const p = at(b, rng, from);
    const n = Math.min(rng.pick([2, 8, 32]), b.length - p);
    const copies = rng.pick([2, 50]);
    const run = b.slice(p, p + n);
    const rep = new Uint8Array(n * copies);
    for (let i = 0; i < copies; i++) rep.set(run, i * n);
    return { bytes: splice(b, p, n, rep), what: `repeat ${n} bytes at ${p} x${copies}` };
  },
];

/** Applies 1 to 3 random mutations to `bytes` at or after `fromBytes`. */
export function mutate(bytes: Uint8Array, rng: Prng, fromBytes: number): Mutated {
  let out = bytes;
  const what: string[] = [];
  const n = rng.pick([1, 1, 1, 2, 3]);
  for (let i = 0; i < n; i++) {
    const m = rng.pick(MUTATORS)(out, rng, fromBytes);
    out = m.bytes;
    what.push(m.what);
  }
  return { bytes: out, what: what.join("; ") };
}
