import { gzipSync, zstdCompressSync } from "node:zlib";
import { Encoder } from "../../util/cbor.ts";
import { assert } from "../../util/assert.ts";
import { decodeCborSequence } from "./cbor_decode.ts";
import { splitJsonStream } from "./codec.ts";
import { Codec, decompress, lz4FrameDecompress, snappyDecompress } from "./decompress.ts";
import { MetricsRegistry } from "./metrics.ts";
import { murmur2 } from "./record_input.ts";

const cbor = new Encoder({ useRecords: false, tagUint8Array: false });
const text = new TextEncoder();

Deno.test("decodeCborSequence() reads what cbor-x writes, incl. long non-ASCII strings", () => {
  const value = {
    a: "é".repeat(200),
    b: new Uint8Array([1, 2, 3]),
    n: [0, -1, 23, 24, 255, 65536, 2 ** 32, -(2 ** 40), 1.5, true, false, null],
    nested: { k: { deeper: ["x"] } },
  };
  const [decoded, second] = decodeCborSequence(
    new Uint8Array([...cbor.encode(value), ...cbor.encode("two")]),
  );
  assert.deepEqual(decoded, value);
  assert.equal(second, "two");
});

Deno.test("decodeCborSequence() handles indefinite lengths and half floats, refuses garbage", () => {
  // {_ "a": [_ 1, 2], "b": (_ h'01', h'02')}, then the half float 1.5
  const bytes = new Uint8Array([
    0xbf,
    0x61,
    0x61,
    0x9f,
    0x01,
    0x02,
    0xff,
    0x61,
    0x62,
    0x5f,
    0x41,
    0x01,
    0x41,
    0x02,
    0xff,
    0xff,
    0xf9,
    0x3e,
    0x00,
  ]);
  assert.deepEqual(decodeCborSequence(bytes), [{ a: [1, 2], b: new Uint8Array([1, 2]) }, 1.5]);
  for (
    const bad of [[0xbf, 0x61], [0x5f, 0x41], [0x1c], [
      0x7b,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
    ]]
  ) {
    assert.throws(() => decodeCborSequence(new Uint8Array(bad)));
  }
  const deep = new Uint8Array(200).fill(0x81);
  assert.throws(() => decodeCborSequence(deep), /deeper/);
});

Deno.test("splitJsonStream() splits concatenated values, respecting strings", () => {
  assert.deepEqual(splitJsonStream('{"a":"}{"} \n{"b":[1,{"c":2}]}'), [
    '{"a":"}{"}',
    '{"b":[1,{"c":2}]}',
  ]);
  assert.deepEqual(splitJsonStream(" 42 "), ["42 "]);
});

Deno.test("decompress() reads gzip and zstd through node:zlib", () => {
  const data = text.encode("records ".repeat(100));
  assert.deepEqual(decompress(Codec.GZIP, new Uint8Array(gzipSync(data)), 1 << 20), data);
  assert.deepEqual(decompress(Codec.ZSTD, new Uint8Array(zstdCompressSync(data)), 1 << 20), data);
  assert.throws(() => decompress(Codec.GZIP, new Uint8Array(gzipSync(data)), 100));
  assert.throws(() => decompress(9, data, 1 << 20), /Unknown compression codec 9/);
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

Deno.test("murmur2() matches Kafka's Utils.murmur2 test vectors", () => {
  assert.equal(murmur2(text.encode("21")), -973932308);
  assert.equal(murmur2(text.encode("foobar")), -790332482);
  assert.equal(murmur2(text.encode("a-little-bit-long-string")), -985981536);
  assert.equal(murmur2(text.encode("a-little-bit-longer-string")), -1486304829);
  assert.equal(murmur2(text.encode("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8")), -58897971);
  assert.equal(murmur2(new Uint8Array([0x61, 0x62, 0x63])), 479470107);
});

Deno.test("MetricsRegistry renders counters, histograms and gauges in text format", () => {
  const r = new MetricsRegistry();
  const c = r.counter("x_total", "Things.");
  c.inc({ topic: 'a"b' }, 2);
  c.inc({ topic: 'a"b' });
  const h = r.histogram("d_seconds", "Time.", [0.1, 1]);
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5);
  r.gauge("g", "Now.", () => [{ labels: { p: "0" }, value: 7 }]);
  assert.throws(() => r.counter("g", "again"), /registered twice/);
  assert.equal(
    r.render(),
    [
      "# HELP x_total Things.",
      "# TYPE x_total counter",
      'x_total{topic="a\\"b"} 3',
      "# HELP d_seconds Time.",
      "# TYPE d_seconds histogram",
      'd_seconds_bucket{le="0.1"} 1',
      'd_seconds_bucket{le="1"} 2',
      'd_seconds_bucket{le="+Inf"} 3',
      "d_seconds_sum 5.55",
      "d_seconds_count 3",
      "# HELP g Now.",
      "# TYPE g gauge",
      'g{p="0"} 7',
      "",
    ].join("\n"),
  );
});
