/**
 * The one reader of untrusted record bytes in the broker: it walks the
 * records of a RecordBatch v2 (the bytes after the 61-byte header, inflated
 * when the batch is compressed) and reports bad bytes as a message in
 * {@linkcode RecordReader.error}, never by throwing. Produce validation
 * (`record_validator.ts`), the cleaner, the HTTP record reader and the
 * ListOffsets timestamp search all read records through it.
 *
 * Every length and count is checked against what is left: varint32 fields
 * (lengths, offsetDelta, counts) take at most 5 bytes and must fit an int32,
 * the varlong timestampDelta at most 10 bytes; a record is at least
 * {@linkcode RECORD_BYTES_MIN} bytes long and must end exactly where its
 * length says; a header count must fit in what is left of the record. The
 * rules and messages follow Kafka's `DefaultRecord.readFrom`.
 *
 * A reader is reusable ({@linkcode RecordReader.reset}) and keeps the fields of
 * the current record as numbers, so walking a batch allocates nothing.
 *
 * @module
 */

/**
 * The smallest record: length varint (1) + attributes (1) + timestampDelta,
 * offsetDelta, key length, value length and header count (1 each).
 */
export const RECORD_BYTES_MIN = 7;
/** Most bytes of a varint32 (Kafka's `ByteUtils.readVarint`). */
export const VARINT32_BYTES_MAX = 5;
/** Most bytes of a varlong (Kafka's `ByteUtils.readVarlong`). */
export const VARLONG_BYTES_MAX = 10;
/** The smallest header: key length and value length, one byte each. */
const HEADER_BYTES_MIN = 2;
const INT32_MIN = -2147483648;
/** Headers the fast path reads; a record with more takes the checked path. */
const HEADERS_FAST_MAX = 8;

/**
 * Where the last {@linkcode varint28} ended; -1 when it could not read one. (A cell: a
 * module-level `let` written per varint measured twice as slow.)
 */
const varintEndCell = new Int32Array(1);

/**
 * A zigzag varint of at most 4 bytes (28 bits) at `p`, before `end`, in integer arithmetic;
 * sets {@linkcode varintEndCell} (-1 when the varint is longer, or truncated).
 */
function varint28(bytes: Uint8Array, p: number, end: number): number {
  if (p >= end) {
    varintEndCell[0] = -1;
    return 0;
  }
  let b = bytes[p];
  let z = b & 0x7f;
  if (b < 0x80) {
    varintEndCell[0] = p + 1;
    return (z >>> 1) ^ -(z & 1);
  }
  for (let shift = 7; shift < 28; shift += 7) {
    if (++p >= end) break;
    b = bytes[p];
    z |= (b & 0x7f) << shift;
    if (b < 0x80) {
      varintEndCell[0] = p + 1;
      return (z >>> 1) ^ -(z & 1);
    }
  }
  varintEndCell[0] = -1;
  return 0;
}
const INT32_MAX = 2147483647;

/**
 * A cursor over the records in `bytes[startBytes, endBytes)`. After
 * {@linkcode next} returns true, the fields describe the record just read;
 * after it returns false, {@linkcode error} is `undefined` at a clean end and
 * a sentence-case message otherwise (the reader then stays stopped).
 */
export class RecordReader {
  bytes: Uint8Array = new Uint8Array(0);
  positionBytes = 0;
  endBytes = 0;
  /** Why reading stopped early; `undefined` while the bytes are good. */
  error: string | undefined = undefined;
  /** Records read since {@linkcode reset}. */
  recordsRead = 0;
  /**
   * The error is only that the bytes end inside the next record's length or body: with more
   * bytes (a streamed payload's next chunk) the record may be whole.
   */
  truncated = false;
  #varintTruncated = false;

  /** Where the current record starts (its length varint) and ends. */
  recordStartBytes = 0;
  recordEndBytes = 0;
  /** Where the current record's body starts (its attributes byte). */
  bodyStartBytes = 0;
  attributes = 0;
  timestampDelta = 0;
  offsetDelta = 0;
  /** Where the key length varint starts: the key, value and headers run from here to the end. */
  keyFieldStartBytes = 0;
  keyStartBytes = 0;
  /** -1: a null key. */
  keyLengthBytes = -1;
  valueStartBytes = 0;
  /** -1: a null value (a tombstone). */
  valueLengthBytes = -1;
  headerCount = 0;
  headersStartBytes = 0;

  /** Points the reader at `bytes[startBytes, endBytes)` and clears its error. */
  reset(bytes: Uint8Array, startBytes = 0, endBytes: number = bytes.length): this {
    this.bytes = bytes;
    this.positionBytes = startBytes;
    this.endBytes = Math.min(endBytes, bytes.length);
    this.error = undefined;
    this.recordsRead = 0;
    this.truncated = false;
    return this;
  }

  /** Bytes not read yet. */
  get remainingBytes(): number {
    return this.endBytes - this.positionBytes;
  }

  /** Reads the next record; false at the end of the bytes or on an error (see {@linkcode error}). */
  next(): boolean {
    if (this.error !== undefined || this.positionBytes >= this.endBytes) return false;
    if (this.#nextFast()) return true;
    return this.#nextChecked();
  }

  /**
   * The common case, in integer arithmetic on locals: every varint but the timestamp delta of at
   * most 4 bytes, at most 8 headers. Anything else, good or bad, returns false with nothing
   * changed, and {@linkcode next} reads the record again with {@linkcode #nextChecked}, which
   * applies the same rules in full and names what is wrong.
   */
  #nextFast(): boolean {
    const bytes = this.bytes;
    const limit = this.endBytes;
    let p = this.positionBytes;
    const bodyBytes = varint28(bytes, p, limit);
    p = varintEndCell[0];
    if (p < 0 || bodyBytes < RECORD_BYTES_MIN - 1 || bodyBytes > limit - p) return false;
    const bodyStart = p;
    const end = p + bodyBytes;
    const attributes = bytes[p++];
    const timestampDelta = varint28(bytes, p, end);
    p = varintEndCell[0];
    if (p < 0) return false;
    const offsetDelta = varint28(bytes, p, end);
    p = varintEndCell[0];
    if (p < 0) return false;
    const keyFieldStart = p;
    const keyLength = varint28(bytes, p, end);
    p = varintEndCell[0];
    if (p < 0 || keyLength < -1 || keyLength > end - p) return false;
    const keyStart = p;
    if (keyLength > 0) p += keyLength;
    const valueLength = varint28(bytes, p, end);
    p = varintEndCell[0];
    if (p < 0 || valueLength < -1 || valueLength > end - p) return false;
    const valueStart = p;
    if (valueLength > 0) p += valueLength;
    const headerCount = varint28(bytes, p, end);
    p = varintEndCell[0];
    if (p < 0 || headerCount < 0 || headerCount > HEADERS_FAST_MAX) return false;
    const headersStart = p;
    for (let h = 0; h < headerCount; h++) {
      const headerKeyLength = varint28(bytes, p, end);
      p = varintEndCell[0];
      if (p < 0 || headerKeyLength < 0 || headerKeyLength > end - p) return false;
      p += headerKeyLength;
      const headerValueLength = varint28(bytes, p, end);
      p = varintEndCell[0];
      if (p < 0 || headerValueLength < -1 || headerValueLength > end - p) return false;
      if (headerValueLength > 0) p += headerValueLength;
    }
    if (p !== end) return false;
    this.recordStartBytes = this.positionBytes;
    this.positionBytes = end;
    this.bodyStartBytes = bodyStart;
    this.recordEndBytes = end;
    this.attributes = attributes;
    this.timestampDelta = timestampDelta;
    this.offsetDelta = offsetDelta;
    this.keyFieldStartBytes = keyFieldStart;
    this.keyLengthBytes = keyLength;
    this.keyStartBytes = keyStart;
    this.valueLengthBytes = valueLength;
    this.valueStartBytes = valueStart;
    this.headerCount = headerCount;
    this.headersStartBytes = headersStart;
    this.recordsRead++;
    return true;
  }

  /** Reads the next record field by field, with every rule and a message for each. */
  #nextChecked(): boolean {
    this.recordStartBytes = this.positionBytes;
    this.#varintTruncated = false;
    const bodyBytes = this.#varint32(this.endBytes, "record length");
    if (this.error !== undefined) {
      this.truncated = this.#varintTruncated;
      return false;
    }
    if (bodyBytes < RECORD_BYTES_MIN - 1) {
      return this.#fail(`Invalid record size "${bodyBytes}" at record ${this.recordsRead}`);
    }
    const end = this.positionBytes + bodyBytes;
    if (end > this.endBytes) {
      this.truncated = true;
      return this.#fail(
        `Record ${this.recordsRead} of ${bodyBytes} bytes overruns the ${this.remainingBytes} bytes left`,
      );
    }
    this.bodyStartBytes = this.positionBytes;
    this.recordEndBytes = end;
    this.attributes = this.bytes[this.positionBytes++];
    this.timestampDelta = this.#varlong(end);
    this.offsetDelta = this.#varint32(end, "offset delta");
    this.keyFieldStartBytes = this.positionBytes;
    this.keyLengthBytes = this.#nullableLength(end, "key length");
    this.keyStartBytes = this.positionBytes;
    this.#skip(this.keyLengthBytes, end, "key");
    this.valueLengthBytes = this.#nullableLength(end, "value length");
    this.valueStartBytes = this.positionBytes;
    this.#skip(this.valueLengthBytes, end, "value");
    this.headerCount = this.#varint32(end, "header count");
    this.headersStartBytes = this.positionBytes;
    if (this.error !== undefined) return false;
    if (this.headerCount < 0 || this.headerCount * HEADER_BYTES_MIN > end - this.positionBytes) {
      return this.#fail(`Found invalid number of record headers "${this.headerCount}"`);
    }
    for (let h = 0; h < this.headerCount && this.error === undefined; h++) {
      const keyLength = this.#varint32(end, "header key length");
      if (keyLength < 0 && this.error === undefined) {
        return this.#fail(`Invalid negative header key size "${keyLength}"`);
      }
      this.#skip(keyLength, end, "header key");
      this.#skip(this.#nullableLength(end, "header value length"), end, "header value");
    }
    if (this.error !== undefined) return false;
    if (this.positionBytes !== end) {
      return this.#fail(
        `Invalid record size: expected to read ${bodyBytes} bytes in record payload, but instead read ${
          this.positionBytes - this.bodyStartBytes
        }`,
      );
    }
    this.recordsRead++;
    return true;
  }

  #fail(message: string): false {
    this.error ??= message;
    this.positionBytes = this.endBytes;
    return false;
  }

  #varint32(end: number, what: string): number {
    const value = this.#varint(end, VARINT32_BYTES_MAX, what);
    if (value < INT32_MIN || value > INT32_MAX) {
      this.#fail(`Varint ${what} "${value}" does not fit in 32 bits`);
      return 0;
    }
    return value;
  }

  #varlong(end: number): number {
    return this.#varint(end, VARLONG_BYTES_MAX, "timestamp delta");
  }

  /** A zigzag varint of at most `bytesMax` bytes (exact below 2^53, approximate above). */
  #varint(end: number, bytesMax: number, what: string): number {
    if (this.error !== undefined) return 0;
    let z = 0;
    let scale = 1;
    for (let i = 0; i < bytesMax; i++) {
      if (this.positionBytes >= end) {
        this.#varintTruncated = true;
        this.#fail(`Truncated varint ${what} at record ${this.recordsRead}`);
        return 0;
      }
      const b = this.bytes[this.positionBytes++];
      z += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      scale *= 128;
    }
    this.#fail(`Varint ${what} longer than ${bytesMax} bytes at record ${this.recordsRead}`);
    return 0;
  }

  #nullableLength(end: number, what: string): number {
    const lengthBytes = this.#varint32(end, what);
    if (lengthBytes < -1) {
      this.#fail(`Invalid ${what} "${lengthBytes}" at record ${this.recordsRead}`);
      return -1;
    }
    return lengthBytes;
  }

  #skip(lengthBytes: number, end: number, what: string): void {
    if (this.error !== undefined || lengthBytes <= 0) return;
    if (lengthBytes > end - this.positionBytes) {
      this.#fail(`The ${what} of ${lengthBytes} bytes overruns record ${this.recordsRead}`);
      return;
    }
    this.positionBytes += lengthBytes;
  }
}
