import { Encoder } from "../../util/cbor.ts";
import { assert } from "../../util/assert.ts";
import { decodeCborSequence } from "./cbor_decode.ts";
import { splitJsonStream } from "./codec.ts";
import { MetricsRegistry } from "../metrics/registry.ts";
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
