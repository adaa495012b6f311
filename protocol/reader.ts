/**
 * The Kafka wire reader: a {@linkcode Reader} with a sticky error (checked
 * once at the end, like franz-go's `kbin.Reader`): the first failure is kept
 * and every later read returns a zero value, so generated decoders read
 * straight through and check `ok` once. Bytes, strings and records come back
 * as subarrays of the input (no copy).
 *
 * Every length-prefixed method takes `compact`: `false` for the classic int16
 * or int32 length, `true` for the flexible-version uvarint length + 1.
 *
 * @module
 */

/** The all-zero UUID, Kafka's "no topic id". */
export const ZERO_UUID = "00000000-0000-0000-0000-000000000000";
/** A shared empty byte array (the default of `bytes` fields). */
export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);
/** How a `records` field looks after decoding: a subarray of the request. */
export type DecodedRecords = Uint8Array | null;

const TWO_POW_32 = 4294967296;
const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
const utf8Decoder = new TextDecoder();

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
