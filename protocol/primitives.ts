/**
 * Kafka wire primitives: a {@linkcode Reader} with a sticky error (checked
 * once at the end, like franz-go's `kbin.Reader`; in `reader.ts`) and a
 * {@linkcode Writer} that builds a send plan, appending record chunks by
 * reference instead of copying them (in `writer.ts`). This module re-exports
 * both, the import site of the generated codecs in `messages/`.
 *
 * Every length-prefixed method takes `compact`: `false` for the classic int16
 * or int32 length, `true` for the flexible-version uvarint length + 1.
 *
 * @module
 */

export { type DecodedRecords, EMPTY_BYTES, Reader, ZERO_UUID } from "./reader.ts";
export { type EncodableRecords, nonNull, Writer, type WriterOptions } from "./writer.ts";
