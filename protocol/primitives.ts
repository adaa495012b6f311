/**
 * Kafka wire primitives: a {@link Reader} with a sticky error (checked once at
 * the end, like franz-go's `kbin.Reader`) and a {@link Writer} that builds a
 * send plan, appending record chunks by reference instead of copying them.
 *
 * Every length-prefixed method takes `compact`: `false` for the classic int16
 * or int32 length, `true` for the flexible-version uvarint length + 1.
 *
 * @module
 */

import { type SendChunk, sendPlanSizeBytes } from "./send_plan.ts";

/** The all-zero UUID, Kafka's "no topic id". */
export const ZERO_UUID = "00000000-0000-0000-0000-000000000000";
/** A shared empty byte array (the default of `bytes` fields). */
export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);
/** How a `records` field looks after decoding: a subarray of the request. */
export type DecodedRecords = Uint8Array | null;
/** What a `records` field accepts when encoding: bytes, or chunks appended by reference. */
export type EncodableRecords = Uint8Array | readonly SendChunk[] | null;

const TWO_POW_32 = 4294967296;
const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
const utf8Decoder = new TextDecoder();
const utf8Encoder = new TextEncoder();

/** Returns `value`, throwing if it is null: a field that is not nullable in this version. */
export function nonNull<T>(value: T | null, fieldName: string): T {
  if (value === null) throw new TypeError(`Field "${fieldName}" is null but not nullable here`);
  return value;
}

/** Reads Kafka primitives from `bytes`; the first failure is kept in `error`. */
export class Reader {
  /** The bytes being read. */
  readonly data: Uint8Array;
  /** Position of the next read, relative to `bytes`. */
  offset: number;
  /** The first error met (what was being read), or undefined. */
  error: string | undefined = undefined;
  #view: DataView;

  /** Reads `bytes` starting at `offset`. */
  constructor(data: Uint8Array, offset = 0) {
    this.data = data;
    this.offset = offset;
    this.#view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  /** Bytes left to read. */
  get remaining(): number {
    return this.data.length - this.offset;
  }

  /** True while no error has been recorded. */
  get ok(): boolean {
    return this.error === undefined;
  }

  /** Records `message` as the error (if it is the first) and stops all further reads. */
  fail(message: string): void {
    if (this.error === undefined) this.error = `${message} at offset ${this.offset}`;
    this.offset = this.data.length;
  }

  #need(sizeBytes: number, what: string): boolean {
    if (this.offset + sizeBytes <= this.data.length) return true;
    this.fail(this.error === undefined ? `Truncated input reading ${what}` : what);
    return false;
  }

  /** Reads a signed 8-bit integer. */
  int8(): number {
    return this.#need(1, "int8") ? this.#view.getInt8(this.offset++) : 0;
  }
  /** Reads a signed big-endian 16-bit integer. */
  int16(): number {
    if (!this.#need(2, "int16")) return 0;
    const value = this.#view.getInt16(this.offset);
    this.offset += 2;
    return value;
  }
  /** Reads an unsigned big-endian 16-bit integer. */
  uint16(): number {
    if (!this.#need(2, "uint16")) return 0;
    const value = this.#view.getUint16(this.offset);
    this.offset += 2;
    return value;
  }
  /** Reads a signed big-endian 32-bit integer. */
  int32(): number {
    if (!this.#need(4, "int32")) return 0;
    const value = this.#view.getInt32(this.offset);
    this.offset += 4;
    return value;
  }
  /** Reads an unsigned big-endian 32-bit integer. */
  uint32(): number {
    if (!this.#need(4, "uint32")) return 0;
    const value = this.#view.getUint32(this.offset);
    this.offset += 4;
    return value;
  }
  /** Reads a signed 64-bit integer as a number (exact within ±2^53). */
  int64(): number {
    if (!this.#need(8, "int64")) return 0;
    const hi = this.#view.getInt32(this.offset);
    const lo = this.#view.getUint32(this.offset + 4);
    this.offset += 8;
    return hi * TWO_POW_32 + lo;
  }
  /** Reads an IEEE 754 double. */
  float64(): number {
    if (!this.#need(8, "float64")) return 0;
    const value = this.#view.getFloat64(this.offset);
    this.offset += 8;
    return value;
  }
  /** Reads a boolean (any non-zero byte is true). */
  bool(): boolean {
    return this.#need(1, "bool") ? this.data[this.offset++] !== 0 : false;
  }
  /** Reads an unsigned varint of at most 5 bytes (a uint32). */
  uvarint(): number {
    let value = 0;
    let multiplier = 1;
    for (let i = 0; i < 5; i++) {
      if (!this.#need(1, "uvarint")) return 0;
      const byte = this.data[this.offset++];
      value += (byte & 0x7f) * multiplier;
      if (byte < 0x80) return value;
      multiplier *= 128;
    }
    this.fail("Malformed uvarint longer than 5 bytes");
    return 0;
  }
  /** Reads a zigzag varint (an int32). */
  varint(): number {
    const u = this.uvarint();
    return (u >>> 1) ^ -(u & 1);
  }
  /** Reads a zigzag varlong (an int64, exact within ±2^53). */
  varlong(): number {
    let value = 0;
    let multiplier = 1;
    for (let i = 0; i < 10; i++) {
      if (!this.#need(1, "varlong")) return 0;
      const byte = this.data[this.offset++];
      value += (byte & 0x7f) * multiplier;
      if (byte < 0x80) return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
      multiplier *= 128;
    }
    this.fail("Malformed varlong longer than 10 bytes");
    return 0;
  }
  /** Skips `sizeBytes` bytes. */
  skip(sizeBytes: number): void {
    if (this.#need(sizeBytes, "skipped bytes")) this.offset += sizeBytes;
  }

  /** Reads a length prefix: int16/int32 classic, uvarint-1 compact; -1 means null. */
  #length(compact: boolean, wide: boolean, what: string): number {
    const length = compact ? this.uvarint() - 1 : wide ? this.int32() : this.int16();
    if (length > this.remaining) {
      this.fail(`Length ${length} exceeds the ${this.remaining} bytes left reading ${what}`);
      return -1;
    }
    return length < 0 ? -1 : length;
  }
  #utf8(length: number): string {
    const start = this.offset;
    this.offset += length;
    if (length < 16) {
      let ascii = "";
      for (let i = start; i < start + length; i++) {
        const c = this.data[i];
        if (c >= 0x80) return utf8Decoder.decode(this.data.subarray(start, start + length));
        ascii += String.fromCharCode(c);
      }
      return ascii;
    }
    return utf8Decoder.decode(this.data.subarray(start, start + length));
  }
  /** Reads a non-nullable string; a null on the wire is an error. */
  string(compact = false): string {
    const length = this.#length(compact, false, "string");
    if (length >= 0) return this.#utf8(length);
    if (this.ok) this.fail("Null where a non-nullable string was expected");
    return "";
  }
  /** Reads a nullable string. */
  nullableString(compact = false): string | null {
    const length = this.#length(compact, false, "nullable string");
    return length < 0 ? null : this.#utf8(length);
  }
  /** Reads non-nullable bytes as a subarray (no copy). */
  bytes(compact = false): Uint8Array {
    const value = this.nullableBytes(compact);
    if (value !== null) return value;
    if (this.ok) this.fail("Null where non-nullable bytes were expected");
    return EMPTY_BYTES;
  }
  /** Reads nullable bytes as a subarray (no copy). */
  nullableBytes(compact = false): Uint8Array | null {
    const length = this.#length(compact, true, "bytes");
    if (length < 0) return null;
    const start = this.offset;
    this.offset += length;
    return this.data.subarray(start, start + length);
  }
  /** Reads a `records` field (always nullable) as a subarray (no copy). */
  records(compact = false): DecodedRecords {
    return this.nullableBytes(compact);
  }
  /** Reads a UUID as a lowercase 8-4-4-4-12 string. */
  uuid(): string {
    if (!this.#need(16, "uuid")) return ZERO_UUID;
    const b = this.data;
    const o = this.offset;
    this.offset += 16;
    return HEX[b[o]] + HEX[b[o + 1]] + HEX[b[o + 2]] + HEX[b[o + 3]] + "-" + HEX[b[o + 4]] +
      HEX[b[o + 5]] + "-" + HEX[b[o + 6]] + HEX[b[o + 7]] + "-" + HEX[b[o + 8]] + HEX[b[o + 9]] +
      "-" + HEX[b[o + 10]] + HEX[b[o + 11]] + HEX[b[o + 12]] + HEX[b[o + 13]] + HEX[b[o + 14]] +
      HEX[b[o + 15]];
  }
  /** Reads an array count (int32, or compact uvarint-1); -1 means null. */
  arrayLength(compact = false): number {
    return this.#length(compact, true, "array");
  }
  /** Reads a whole array with `readElement`; null when the count is -1. */
  array<T>(readElement: (r: Reader) => T, compact = false): T[] | null {
    const length = this.arrayLength(compact);
    if (length < 0) return null;
    const items: T[] = [];
    for (let i = 0; i < length && this.ok; i++) items.push(readElement(this));
    return items;
  }
  /** Skips a whole tagged-field section (flexible versions). */
  skipTaggedFields(): void {
    const count = this.uvarint();
    for (let i = 0; i < count && this.ok; i++) {
      this.uvarint();
      this.skip(this.uvarint());
    }
  }
  /** Checks that a known tagged field ended exactly at `endOffset`. */
  endTaggedField(endOffset: number, tag: number): void {
    if (this.ok && this.offset !== endOffset) {
      this.fail(`Tagged field ${tag} ended at ${this.offset}, its size says ${endOffset}`);
    }
  }
}

function utf8Length(s: string): number {
  let length = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) length += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        length += 2; // 4 bytes for 2 UTF-16 units
        i++;
      } else length += 2;
    } else length += 2;
  }
  return length;
}

function uvarintSizeBytes(value: number): number {
  let size = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

/** Options for {@link Writer}. */
export interface WriterOptions {
  /** Size of each buffer the writer allocates when it runs out of room (default 8 KiB). */
  bufferSizeBytes?: number;
}

/**
 * Appends Kafka primitives to a growing buffer and produces a send plan
 * (byte runs interleaved with record chunks appended by reference).
 *
 * The writer bump-allocates: `finish()` hands out views of its buffer and keeps
 * writing after them, taking a fresh buffer when full. Call `reset()` to reuse
 * the buffer from the start only once every plan it produced has been sent.
 */
export class Writer {
  #bufferSizeBytes: number;
  #buf: Uint8Array;
  #view: DataView;
  #pos = 0;
  #runStart = 0;
  #plan: SendChunk[] = [];
  #flushedBytes = 0;

  /** Creates a writer; see {@link WriterOptions}. */
  constructor(options: WriterOptions = {}) {
    this.#bufferSizeBytes = options.bufferSizeBytes ?? 8192;
    this.#buf = new Uint8Array(this.#bufferSizeBytes);
    this.#view = new DataView(this.#buf.buffer);
  }

  /** Bytes in the plan being built so far (byte runs plus chunks). */
  get sizeBytes(): number {
    return this.#flushedBytes + this.#pos - this.#runStart;
  }

  #ensure(sizeBytes: number): void {
    if (this.#pos + sizeBytes <= this.#buf.length) return;
    const run = this.#pos - this.#runStart;
    let capacity = this.#bufferSizeBytes;
    while (capacity < run + sizeBytes) capacity *= 2;
    const next = new Uint8Array(capacity);
    next.set(this.#buf.subarray(this.#runStart, this.#pos));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
    this.#runStart = 0;
    this.#pos = run;
  }

  /** Writes a signed 8-bit integer. */
  int8(value: number): void {
    this.#ensure(1);
    this.#view.setInt8(this.#pos++, value);
  }
  /** Writes a signed big-endian 16-bit integer. */
  int16(value: number): void {
    this.#ensure(2);
    this.#view.setInt16(this.#pos, value);
    this.#pos += 2;
  }
  /** Writes an unsigned big-endian 16-bit integer. */
  uint16(value: number): void {
    this.#ensure(2);
    this.#view.setUint16(this.#pos, value);
    this.#pos += 2;
  }
  /** Writes a signed big-endian 32-bit integer. */
  int32(value: number): void {
    this.#ensure(4);
    this.#view.setInt32(this.#pos, value);
    this.#pos += 4;
  }
  /** Writes an unsigned big-endian 32-bit integer. */
  uint32(value: number): void {
    this.#ensure(4);
    this.#view.setUint32(this.#pos, value);
    this.#pos += 4;
  }
  /** Writes a signed 64-bit integer from a number (exact within ±2^53). */
  int64(value: number): void {
    this.#ensure(8);
    const hi = Math.floor(value / TWO_POW_32);
    this.#view.setInt32(this.#pos, hi);
    this.#view.setUint32(this.#pos + 4, value - hi * TWO_POW_32);
    this.#pos += 8;
  }
  /** Writes an IEEE 754 double. */
  float64(value: number): void {
    this.#ensure(8);
    this.#view.setFloat64(this.#pos, value);
    this.#pos += 8;
  }
  /** Writes a boolean as one byte. */
  bool(value: boolean): void {
    this.#ensure(1);
    this.#buf[this.#pos++] = value ? 1 : 0;
  }
  /** Writes an unsigned varint (0 ≤ value < 2^53). */
  uvarint(value: number): void {
    this.#ensure(10);
    while (value >= 128) {
      this.#buf[this.#pos++] = (value & 0x7f) | 0x80;
      value = Math.floor(value / 128);
    }
    this.#buf[this.#pos++] = value;
  }
  /** Writes a zigzag varint (an int32). */
  varint(value: number): void {
    this.uvarint(((value << 1) ^ (value >> 31)) >>> 0);
  }
  /** Writes a zigzag varlong (an int64 within ±2^53). */
  varlong(value: number): void {
    this.uvarint(value >= 0 ? value * 2 : -value * 2 - 1);
  }
  /** Appends raw bytes (copied). */
  raw(bytes: Uint8Array): void {
    this.#ensure(bytes.length);
    this.#buf.set(bytes, this.#pos);
    this.#pos += bytes.length;
  }

  #length(length: number, compact: boolean, wide: boolean): void {
    if (compact) this.uvarint(length + 1);
    else if (wide) this.int32(length);
    else this.int16(length);
  }
  /** Writes a non-nullable string. */
  string(value: string, compact = false): void {
    const length = utf8Length(value);
    if (!compact && length > 32767) throw new RangeError(`String of ${length} bytes is too long`);
    this.#length(length, compact, false);
    this.#ensure(length);
    if (length === value.length) {
      for (let i = 0; i < length; i++) this.#buf[this.#pos + i] = value.charCodeAt(i);
    } else utf8Encoder.encodeInto(value, this.#buf.subarray(this.#pos, this.#pos + length));
    this.#pos += length;
  }
  /** Writes a nullable string. */
  nullableString(value: string | null, compact = false): void {
    if (value === null) this.#length(-1, compact, false);
    else this.string(value, compact);
  }
  /** Writes non-nullable bytes (copied). */
  bytes(value: Uint8Array, compact = false): void {
    this.#length(value.length, compact, true);
    this.raw(value);
  }
  /** Writes nullable bytes (copied). */
  nullableBytes(value: Uint8Array | null, compact = false): void {
    if (value === null) this.#length(-1, compact, true);
    else this.bytes(value, compact);
  }
  /** Writes a size prefix for `chunks`, then appends them by reference (no copy). */
  records(chunks: EncodableRecords, compact = false): void {
    if (chunks === null) return this.#length(-1, compact, true);
    if (chunks instanceof Uint8Array) {
      this.#length(chunks.length, compact, true);
      this.#append(chunks);
      return;
    }
    this.#length(sendPlanSizeBytes(chunks), compact, true);
    for (const chunk of chunks) this.#append(chunk);
  }
  #append(chunk: SendChunk): void {
    const sizeBytes = chunk instanceof Uint8Array ? chunk.length : chunk.sizeBytes;
    if (sizeBytes === 0) return;
    this.#flushRun();
    this.#plan.push(chunk);
    this.#flushedBytes += sizeBytes;
  }
  #flushRun(): void {
    if (this.#pos === this.#runStart) return;
    this.#plan.push(this.#buf.subarray(this.#runStart, this.#pos));
    this.#flushedBytes += this.#pos - this.#runStart;
    this.#runStart = this.#pos;
  }
  /** Writes a UUID given as an 8-4-4-4-12 hex string. */
  uuid(value: string): void {
    if (value.length !== 36) throw new TypeError(`Malformed UUID "${value}"`);
    this.#ensure(16);
    for (let i = 0, j = 0; i < 16; i++, j += 2) {
      if (j === 8 || j === 13 || j === 18 || j === 23) j++;
      const byte = parseInt(value.slice(j, j + 2), 16);
      if (Number.isNaN(byte)) throw new TypeError(`Malformed UUID "${value}"`);
      this.#buf[this.#pos + i] = byte;
    }
    this.#pos += 16;
  }
  /** Writes an array count (int32, or compact uvarint+1); -1 means null. */
  arrayLength(length: number, compact = false): void {
    this.#length(length, compact, true);
  }
  /** Writes an empty tagged-field section. */
  emptyTaggedFields(): void {
    this.uvarint(0);
  }

  /** Marks the start of a uvarint-size-prefixed region (a tagged field value). */
  beginSized(): number {
    return this.sizeBytes;
  }
  /** Inserts the uvarint size of the region begun at `mark` in front of it. */
  endSized(mark: number): void {
    if (mark < this.#flushedBytes) throw new RangeError("A sized region cannot contain records");
    const start = this.#runStart + mark - this.#flushedBytes;
    const sizeBytes = this.#pos - start;
    const prefixBytes = uvarintSizeBytes(sizeBytes);
    this.#ensure(prefixBytes);
    const moved = this.#runStart + mark - this.#flushedBytes; // #ensure may move the run
    this.#buf.copyWithin(moved + prefixBytes, moved, this.#pos);
    let value = sizeBytes; // room is ensured: write in place, no #ensure (it could move the run)
    for (let i = 0; i < prefixBytes - 1; i++) {
      this.#buf[moved + i] = (value & 0x7f) | 0x80;
      value = Math.floor(value / 128);
    }
    this.#buf[moved + prefixBytes - 1] = value;
    this.#pos += prefixBytes;
  }

  /** Reserves an int32 to patch later (e.g. a frame size); returns its plan offset. */
  reserveInt32(): number {
    const mark = this.sizeBytes;
    this.int32(0);
    return mark;
  }
  /** Patches the int32 reserved at `mark` (before `finish()`). */
  patchInt32(mark: number, value: number): void {
    if (mark >= this.#flushedBytes) {
      this.#view.setInt32(this.#runStart + mark - this.#flushedBytes, value);
      return;
    }
    let offset = 0;
    for (const chunk of this.#plan) {
      const sizeBytes = chunk instanceof Uint8Array ? chunk.length : chunk.sizeBytes;
      if (mark < offset + sizeBytes) {
        if (!(chunk instanceof Uint8Array)) throw new RangeError("Cannot patch a file slice");
        new DataView(chunk.buffer, chunk.byteOffset).setInt32(mark - offset, value);
        return;
      }
      offset += sizeBytes;
    }
  }

  /** Returns the plan built since the last `finish()` and starts a new one. */
  finish(): SendChunk[] {
    this.#flushRun();
    const plan = this.#plan;
    this.#plan = [];
    this.#flushedBytes = 0;
    return plan;
  }
  /** Finishes and concatenates the plan (tests; file slices are not allowed). */
  toBytes(): Uint8Array {
    const plan = this.finish();
    const out = new Uint8Array(sendPlanSizeBytes(plan));
    let offset = 0;
    for (const chunk of plan) {
      if (!(chunk instanceof Uint8Array)) throw new TypeError("toBytes() cannot read a file slice");
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }
  /** Discards everything and rewinds to the buffer start; earlier plans must be sent by now. */
  reset(): void {
    this.#pos = 0;
    this.#runStart = 0;
    this.#plan = [];
    this.#flushedBytes = 0;
  }
}
