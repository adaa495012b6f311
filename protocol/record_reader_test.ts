import { assert } from "../util/assert.ts";
import { RecordReader } from "./record_reader.ts";
import { framed, recordBody, recordBytes } from "./_test_batches.ts";

function readAll(bytes: number[]): { reader: RecordReader; count: number } {
  const reader = new RecordReader().reset(new Uint8Array(bytes));
  let count = 0;
  while (reader.next()) count++;
  return { reader, count };
}

function errorOf(bytes: number[]): string {
  const { reader } = readAll(bytes);
  assert.ok(reader.error !== undefined, "an error was expected");
  return reader.error;
}

Deno.test("RecordReader.next() reads every field of good records and ends clean", () => {
  const bytes = [
    ...recordBytes({ offsetDelta: 0, key: "ab", value: "xyz", timestampDelta: -3 }),
    ...recordBytes({ offsetDelta: 1, key: null, value: null, headers: [["h", "1"]] }),
  ];
  const reader = new RecordReader().reset(new Uint8Array(bytes));
  assert.ok(reader.next());
  assert.equal(reader.offsetDelta, 0);
  assert.equal(reader.timestampDelta, -3);
  assert.equal(reader.keyLengthBytes, 2);
  assert.equal(
    new TextDecoder().decode(reader.bytes.subarray(reader.keyStartBytes, reader.keyStartBytes + 2)),
    "ab",
  );
  assert.equal(reader.valueLengthBytes, 3);
  assert.ok(reader.next());
  assert.equal(reader.keyLengthBytes, -1);
  assert.equal(reader.valueLengthBytes, -1);
  assert.equal(reader.headerCount, 1);
  assert.equal(reader.recordEndBytes, bytes.length);
  assert.ok(!reader.next());
  assert.equal(reader.error, undefined);
  assert.equal(reader.recordsRead, 2);
});

Deno.test("RecordReader.next() refuses over-long varints (5 bytes for varint32, 10 for varlong)", () => {
  const body = recordBody({ offsetDelta: 0 });
  assert.match(errorOf([0x80, 0x80, 0x80, 0x80, 0x80, 0x00, ...body]), /longer than 5 bytes/);
  const longTimestamp = [0, ...Array(10).fill(0x80), 0, ...body.slice(2)];
  assert.match(errorOf(framed(longTimestamp)), /longer than 10 bytes/);
  // A 5-byte varint32 whose value passes 32 bits.
  assert.match(errorOf([0xfe, 0xff, 0xff, 0xff, 0x7f, ...body]), /does not fit in 32 bits/);
});

Deno.test("RecordReader.next() refuses zero-length, overrunning and truncated records", () => {
  assert.match(errorOf([0]), /Invalid record size "0"/);
  assert.match(errorOf([1, 0, 0]), /Invalid record size "-1"/);
  const one = recordBytes({ offsetDelta: 0 });
  assert.match(errorOf(one.slice(0, -1)), /overruns/);
  assert.match(errorOf([0x80]), /Truncated varint/);
});

Deno.test("RecordReader.next() refuses bad key, value and header lengths", () => {
  const body = recordBody({ offsetDelta: 0, key: null, value: null });
  // body: attributes, timestampDelta, offsetDelta, key length, value length, header count
  const withKeyLength = (n: number) => {
    const b = [...body];
    b[3] = n;
    return framed(b);
  };
  assert.match(errorOf(withKeyLength(3)), /invalid key length "-2"/i);
  assert.match(errorOf(withKeyLength(40)), /key of 20 bytes overruns/);
  // 1000 headers announced in a record with two bytes left.
  assert.match(errorOf(framed([...body.slice(0, -1), 0xd0, 0x0f])), /headers "1000"/);
  assert.match(errorOf(framed([...body.slice(0, -1), 3])), /number of record headers "-2"/);
  assert.match(errorOf(framed([...body.slice(0, -1), 2, 1, 0])), /negative header key size/);
});

Deno.test("RecordReader.next() refuses a record whose fields end before its length", () => {
  const body = [...recordBody({ offsetDelta: 0 }), 0, 0];
  assert.match(errorOf(framed(body)), /expected to read 10 bytes.*but instead read 8/);
});

Deno.test("RecordReader stays stopped after an error and reset() clears it", () => {
  const reader = new RecordReader().reset(new Uint8Array([0]));
  assert.ok(!reader.next());
  assert.ok(reader.error !== undefined);
  assert.ok(!reader.next());
  reader.reset(new Uint8Array(recordBytes({ offsetDelta: 0 })));
  assert.equal(reader.error, undefined);
  assert.ok(reader.next());
});
