import { gzipSync, zstdCompressSync } from "node:zlib";
import { assert } from "../util/assert.ts";
import {
  Codec,
  decoderImplementations,
  inflate,
  type Inflated,
  inflateJs,
  useNativeDecoders,
} from "../protocol/decompress.ts";
import { loadNativeCompressors, loadNativeDecoders } from "./load.ts";
import { codecConformance } from "./_codec_conformance.ts";

const natives = loadNativeDecoders();
const compressors = loadNativeCompressors();

codecConformance({ name: "deno", decoders: natives, compressors }, Deno.test);
const text = new TextEncoder();

/** Inputs: empty, short, repetitive, pseudo-random (seeded), and larger than the first buffer. */
function samples(): Uint8Array[] {
  let seed = 12345;
  const random = new Uint8Array(300_000).map(() => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed >>> 16;
  });
  return [
    new Uint8Array(0),
    text.encode("k1v1"),
    text.encode("record value ".repeat(50_000)),
    random,
  ];
}

/** A snappy block: a 64-byte literal, then copies of it (offset 64), then literals (hand-made). */
function snappyBlock(data: Uint8Array): Uint8Array {
  const out: number[] = [];
  let n = data.length;
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  let p = 0;
  const literal = (len: number) => {
    if (len <= 60) out.push((len - 1) << 2);
    else out.push(61 << 2, (len - 1) & 0xff, (len - 1) >>> 8);
    for (let i = 0; i < len; i++) out.push(data[p + i]);
    p += len;
  };
  const head = Math.min(64, data.length);
  if (head > 0) literal(head);
  while (
    p + 64 <= data.length && data.subarray(p, p + 64).every((b, i) => b === data[p - 64 + i])
  ) {
    out.push((63 << 2) | 2, 64, 0); // copy 64 bytes from 64 back
    p += 64;
  }
  while (p < data.length) literal(Math.min(1000, data.length - p));
  return new Uint8Array(out);
}

function bytesOf(result: Inflated): Uint8Array {
  if (!result.ok) throw new Error(`Expected bytes, got "${result.message}"`);
  return result.bytes;
}

const CASES: [string, number, (d: Uint8Array) => Uint8Array | undefined][] = [
  ["gzip", Codec.GZIP, (d) => new Uint8Array(gzipSync(d))],
  ["zstd", Codec.ZSTD, (d) => new Uint8Array(zstdCompressSync(d))],
  ["lz4", Codec.LZ4, (d) => compressors.lz4!(d)],
  ["snappy", Codec.SNAPPY, (d) => compressors.snappy!(d)],
  ["snappy (hand-made)", Codec.SNAPPY, snappyBlock],
];

const nativeOf = (codec: number) =>
  codec === Codec.GZIP
    ? natives.gzip
    : codec === Codec.ZSTD
    ? natives.zstd
    : codec === Codec.LZ4
    ? natives.lz4
    : natives.snappyBlock;

Deno.test("native and JS decoders inflate the same bytes", () => {
  for (const [name, codec, compress] of CASES) {
    const native = nativeOf(codec)!;
    for (const data of samples()) {
      const compressed = compress(data);
      if (compressed === undefined) continue;
      const fromNative = bytesOf(native(compressed, 1 << 20));
      const fromJs = bytesOf(inflateJs(codec, compressed, 1 << 20));
      assert.deepEqual(fromNative, data, `${name} native, ${data.length} bytes`);
      assert.deepEqual(fromJs, data, `${name} js, ${data.length} bytes`);
    }
  }
});

Deno.test("native and JS decoders stop at the output bound", () => {
  const data = text.encode("x".repeat(200_000));
  for (const [name, codec, compress] of CASES) {
    const compressed = compress(data);
    if (compressed === undefined) continue;
    for (
      const [which, result] of [
        ["native", nativeOf(codec)!(compressed, 100_000)],
        ["js", inflateJs(codec, compressed, 100_000)],
      ] as const
    ) {
      assert.ok(!result.ok && result.tooLarge, `${name} ${which}: ${JSON.stringify(result)}`);
    }
    assert.equal(bytesOf(nativeOf(codec)!(compressed, data.length)).length, data.length);
  }
});

Deno.test("native decoders answer truncated and garbage input with an error result", () => {
  const data = text.encode("some records ".repeat(1000));
  for (const [name, codec, compress] of CASES) {
    const compressed = compress(data);
    if (compressed === undefined) continue;
    const native = nativeOf(codec)!;
    for (const bad of [compressed.subarray(0, compressed.length >> 1), new Uint8Array([9, 9, 9])]) {
      const result = native(bad, 1 << 20);
      assert.ok(!result.ok && !result.tooLarge, `${name}: ${JSON.stringify(result)}`);
      if (codec !== Codec.ZSTD) {
        // node:zlib's zstd returns what a truncated frame held; the others refuse.
        assert.ok(!inflateJs(codec, bad, 1 << 20).ok, `${name} js`);
      }
    }
  }
});

Deno.test("inflate() reads Xerial-framed snappy through the native block decoder", () => {
  const parts = [text.encode("first block ".repeat(3000)), text.encode("second ".repeat(10))];
  const header = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1];
  const framed: number[] = [...header];
  for (const part of parts) {
    const block = compressors.snappy!(part);
    framed.push(...[24, 16, 8, 0].map((shift) => (block.length >>> shift) & 0xff), ...block);
  }
  const whole = new Uint8Array([...parts[0], ...parts[1]]);
  useNativeDecoders(natives);
  try {
    assert.equal(decoderImplementations().snappy, "native");
    assert.deepEqual(bytesOf(inflate(Codec.SNAPPY, new Uint8Array(framed), 1 << 20)), whole);
    const capped = inflate(Codec.SNAPPY, new Uint8Array(framed), parts[0].length + 5);
    assert.ok(!capped.ok && capped.tooLarge);
  } finally {
    useNativeDecoders({});
  }
  assert.deepEqual(bytesOf(inflateJs(Codec.SNAPPY, new Uint8Array(framed), 1 << 20)), whole);
});
