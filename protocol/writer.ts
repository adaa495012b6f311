/**
 * The Kafka wire writer: a {@linkcode Writer} that builds a send plan, byte
 * runs interleaved with record chunks appended by reference instead of
 * copied (a fetch response's file slices included).
 *
 * Every length-prefixed method takes `compact`: `false` for the classic int16
 * or int32 length, `true` for the flexible-version uvarint length + 1.
 *
 * @module
 */

import { type SendChunk, sendPlanSizeBytes } from "./send_plan.ts";

/** What a `records` field accepts when encoding: bytes, or chunks appended by reference. */
export type EncodableRecords = Uint8Array | readonly SendChunk[] | null;

const TWO_POW_32 = 4294967296;
const utf8Encoder = new TextEncoder();

/** Returns `value`, throwing if it is null: a field that is not nullable in this version. */
export function nonNull<T>(value: T | null, fieldName: string): T {
  if (value === null) throw new TypeError(`Field "${fieldName}" is null but not nullable here`);
  return value;
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
