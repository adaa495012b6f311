import { gzipSync, zstdCompressSync } from "node:zlib";
import { assert } from "../util/assert.ts";
import { Codec, decompressJs, lz4FrameDecompress, snappyDecompress } from "./decompress_js.ts";

const text = new TextEncoder();

Deno.test("decompressJs() reads gzip and zstd through node:zlib", () => {
  const data = text.encode("records ".repeat(100));
  assert.deepEqual(decompressJs(Codec.GZIP, new Uint8Array(gzipSync(data)), 1 << 20), data);
  assert.deepEqual(decompressJs(Codec.ZSTD, new Uint8Array(zstdCompressSync(data)), 1 << 20), data);
  assert.throws(() => decompressJs(Codec.GZIP, new Uint8Array(gzipSync(data)), 100));
  assert.throws(() => decompressJs(9, data, 1 << 20), /Unknown compression codec 9/);
});

Deno.test("snappyDecompress() reads raw and Xerial-framed blocks", () => {
  // "abcabcabcabc": literal "abc" then a copy (offset 3, length 9).
  const raw = [12, 0x08, 0x61, 0x62, 0x63, (5 << 2) | 1, 3];
  assert.equal(
    new TextDecoder().decode(snappyDecompress(new Uint8Array(raw), 100)),
    "abcabcabcabc",
  );
  const xerial = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1];
  const framed = new Uint8Array([
    ...xerial,
    0,
    0,
    0,
    raw.length,
    ...raw,
    0,
    0,
    0,
    raw.length,
    ...raw,
  ]);
  assert.equal(new TextDecoder().decode(snappyDecompress(framed, 100)), "abcabcabcabc".repeat(2));
  assert.throws(() => snappyDecompress(new Uint8Array([12, 0x08, 0x61]), 100));
  assert.throws(() => snappyDecompress(new Uint8Array(raw), 5), /exceeds/);
});

Deno.test("lz4FrameDecompress() reads compressed and stored blocks", () => {
  // Block: token (3 literals, match 4+5=9), "abc", offset 3, then a last literal "!".
  const block = [0x35, 0x61, 0x62, 0x63, 3, 0, 0x10, 0x21];
  const frame = new Uint8Array([
    0x04,
    0x22,
    0x4d,
    0x18,
    0x60,
    0x40,
    0x82,
    block.length,
    0,
    0,
    0,
    ...block,
    2,
    0,
    0,
    0x80,
    0x3f,
    0x3f,
    0,
    0,
    0,
    0,
  ]);
  assert.equal(new TextDecoder().decode(lz4FrameDecompress(frame, 100)), "abcabcabcabc!??");
  assert.throws(() => lz4FrameDecompress(new Uint8Array([1, 2, 3, 4, 5, 6, 7]), 100), /Not an LZ4/);
});
