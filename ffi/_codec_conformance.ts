/**
 * The conformance suite of the native codec decoders (`codecs.ts`), run on
 * each binding: under Deno by `ffi/codecs_test.ts`, under Bun by
 * `tests/bun/codec_conformance.test.ts`. Every library opens; each decoder
 * inflates what the library's (or node:zlib's) compressor wrote, whole and as
 * a stream read in small pieces; the output bound holds; truncated, garbage
 * and empty input are error results, never throws.
 *
 * @module
 */
import { gzipSync, zstdCompressSync } from "node:zlib";
import { assert } from "../util/assert.ts";
import type { NativeCompressors, NativeDecoder, NativeDecoders, StreamOpener } from "./codecs.ts";
import type { Register } from "./_libc_conformance.ts";

/** The decoders and compressors of one binding. */
export interface CodecsUnderTest {
  readonly name: string;
  readonly decoders: NativeDecoders;
  readonly compressors: NativeCompressors;
}

interface CodecCase {
  readonly codec: string;
  readonly decoder: NativeDecoder;
  readonly stream?: StreamOpener;
  readonly compress: (data: Uint8Array) => Uint8Array;
}

function cases(c: CodecsUnderTest): CodecCase[] {
  const d = c.decoders;
  assert.ok(d.gzip && d.zstd && d.lz4 && d.snappyBlock, `${c.name}: a codec library is missing`);
  return [
    { codec: "gzip", decoder: d.gzip, stream: d.gzipStream, compress: (b) => gzipSync(b) },
    { codec: "zstd", decoder: d.zstd, stream: d.zstdStream, compress: (b) => zstdCompressSync(b) },
    { codec: "lz4", decoder: d.lz4, stream: d.lz4Stream, compress: c.compressors.lz4! },
    { codec: "snappy", decoder: d.snappyBlock, compress: c.compressors.snappy! },
  ];
}

/** Empty, short, repetitive, seeded pseudo-random, and larger than a first output buffer. */
function samples(): Uint8Array[] {
  let seed = 12345;
  const random = new Uint8Array(300_000).map(() => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed >>> 16;
  });
  const text = new TextEncoder();
  return [
    new Uint8Array(0),
    text.encode("k1v1"),
    text.encode("record value ".repeat(50_000)),
    random,
  ];
}

function bytesOf(result: ReturnType<NativeDecoder>): Uint8Array {
  if (!result.ok) throw new Error(`Expected bytes, got "${result.message}"`);
  return result.bytes;
}

/** Reads `open(input)` to its end into 1000-byte pieces. */
function readInPieces(open: StreamOpener, input: Uint8Array, expectedBytes: number): Uint8Array {
  const out = new Uint8Array(expectedBytes + 1000);
  const stream = open(input);
  let at = 0;
  for (;;) {
    const piece = out.subarray(0, Math.min(out.length, at + 1000));
    const n = stream.read(piece, at);
    if (n < 0) throw new Error(`Stream failed: ${stream.error}`);
    if (n === 0) return out.subarray(0, at);
    at += n;
  }
}

/** Registers every case of the suite with `register`, titled `[name] ...`. */
export function codecConformance(c: CodecsUnderTest, register: Register): void {
  register(`[${c.name}] codecs: each decoder inflates what its compressor wrote`, () => {
    for (const k of cases(c)) {
      for (const data of samples()) {
        const packed = k.compress(data);
        assert.deepEqual(
          bytesOf(k.decoder(packed, data.length)),
          data,
          `${k.codec} ${data.length}`,
        );
        if (k.stream !== undefined && data.length > 0) {
          assert.deepEqual(readInPieces(k.stream, packed, data.length), data, `${k.codec} stream`);
        }
      }
    }
  });
  register(`[${c.name}] codecs: the output bound holds`, () => {
    const data = new TextEncoder().encode("x".repeat(200_000));
    for (const k of cases(c)) {
      const packed = k.compress(data);
      const capped = k.decoder(packed, data.length - 1);
      assert.ok(!capped.ok && capped.tooLarge, `${k.codec}: ${JSON.stringify(capped)}`);
      assert.equal(bytesOf(k.decoder(packed, data.length)).length, data.length);
    }
  });
  register(`[${c.name}] codecs: truncated, garbage and empty input are error results`, () => {
    const data = new TextEncoder().encode("some records ".repeat(1000));
    for (const k of cases(c)) {
      const packed = k.compress(data);
      for (
        const bad of [
          packed.subarray(0, packed.length >> 1),
          Uint8Array.of(9, 9, 9),
          new Uint8Array(0),
        ]
      ) {
        const result = k.decoder(bad, 1 << 20);
        assert.ok(!result.ok && !result.tooLarge, `${k.codec}: ${JSON.stringify(result)}`);
        if (k.stream !== undefined) {
          const stream = k.stream(bad);
          let n = 0;
          for (let i = 0; i < 100 && (n = stream.read(new Uint8Array(4096), 0)) > 0; i++);
          assert.equal(n, -1, `${k.codec} stream`);
          assert.match(stream.error ?? "", new RegExp(`Corrupt ${k.codec} payload`));
        }
      }
    }
  });
}
