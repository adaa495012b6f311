import { assert } from "../util/assert.ts";
import { EMPTY_BYTES, Reader, Writer, ZERO_UUID } from "./primitives.ts";
import type { FileSlice } from "./send_plan.ts";

function bytesOf(write: (w: Writer) => void): Uint8Array {
  const w = new Writer({ bufferSizeBytes: 16 });
  write(w);
  return w.toBytes();
}

Deno.test("Writer and Reader round-trip fixed-width integers at their limits", () => {
  const bytes = bytesOf((w) => {
    w.int8(-128);
    w.int16(-32768);
    w.uint16(65535);
    w.int32(-2147483648);
    w.uint32(4294967295);
    w.int64(-1);
    w.int64(Number.MAX_SAFE_INTEGER);
    w.int64(-Number.MAX_SAFE_INTEGER);
    w.float64(-0.125);
    w.bool(true);
  });
  assert.equal(bytes.length, 1 + 2 + 2 + 4 + 4 + 8 * 4 + 1);
  assert.deepEqual([...bytes.subarray(9, 13)], [0xff, 0xff, 0xff, 0xff]);
  const r = new Reader(bytes);
  assert.equal(r.int8(), -128);
  assert.equal(r.int16(), -32768);
  assert.equal(r.uint16(), 65535);
  assert.equal(r.int32(), -2147483648);
  assert.equal(r.uint32(), 4294967295);
  assert.equal(r.int64(), -1);
  assert.equal(r.int64(), Number.MAX_SAFE_INTEGER);
  assert.equal(r.int64(), -Number.MAX_SAFE_INTEGER);
  assert.equal(r.float64(), -0.125);
  assert.equal(r.bool(), true);
  assert.equal(r.remaining, 0);
  assert.equal(r.error, undefined);
});

Deno.test("Writer.int64() writes big-endian two's complement", () => {
  assert.deepEqual([...bytesOf((w) => w.int64(-2))], [255, 255, 255, 255, 255, 255, 255, 254]);
  assert.deepEqual([...bytesOf((w) => w.int64(2 ** 32 + 5))], [0, 0, 0, 1, 0, 0, 0, 5]);
});

Deno.test("varints use zigzag and match Kafka's encodings", () => {
  assert.deepEqual([...bytesOf((w) => w.varint(-1))], [1]);
  assert.deepEqual([...bytesOf((w) => w.varint(1))], [2]);
  assert.deepEqual([...bytesOf((w) => w.varint(-65))], [0x81, 0x01]);
  assert.deepEqual([...bytesOf((w) => w.uvarint(300))], [0xac, 0x02]);
  const values = [0, 1, -1, 63, -64, 2147483647, -2147483648];
  const r = new Reader(bytesOf((w) => values.forEach((v) => w.varint(v))));
  for (const v of values) assert.equal(r.varint(), v);
  const longs = [0, -1, 2 ** 40, -(2 ** 40) - 3, Number.MAX_SAFE_INTEGER];
  const r2 = new Reader(bytesOf((w) => longs.forEach((v) => w.varlong(v))));
  for (const v of longs) assert.equal(r2.varlong(), v);
  assert.equal(new Reader(bytesOf((w) => w.uvarint(4294967295))).uvarint(), 4294967295);
});

Deno.test("strings: classic, compact, nullable and multi-byte UTF-8", () => {
  const text = "héllo ✓ 😀";
  const bytes = bytesOf((w) => {
    w.string(text);
    w.string(text, true);
    w.nullableString(null);
    w.nullableString(null, true);
    w.string("", true);
  });
  const utf8 = new TextEncoder().encode(text);
  assert.deepEqual([...bytes.subarray(0, 2)], [0, utf8.length]);
  assert.equal(bytes[2 + utf8.length], utf8.length + 1);
  const r = new Reader(bytes);
  assert.equal(r.string(), text);
  assert.equal(r.string(true), text);
  assert.equal(r.nullableString(), null);
  assert.equal(r.nullableString(true), null);
  assert.equal(r.string(true), "");
  assert.equal(r.remaining, 0);
});

Deno.test("Reader.bytes() and records() return subarrays without copying", () => {
  const payload = Uint8Array.of(9, 8, 7);
  const data = bytesOf((w) => {
    w.bytes(payload);
    w.records(payload, true);
    w.records(null);
    w.records(null, true);
  });
  const r = new Reader(data);
  const a = r.bytes();
  assert.deepEqual(a, payload);
  assert.equal(a.buffer, data.buffer);
  assert.deepEqual(r.records(true), payload);
  assert.equal(r.records(), null);
  assert.equal(r.records(true), null);
  assert.equal(r.remaining, 0);
});

Deno.test("uuid round-trips as a lowercase string", () => {
  const id = "0123abcd-4567-89ef-fedc-ba9876543210";
  const r = new Reader(bytesOf((w) => {
    w.uuid(id);
    w.uuid(ZERO_UUID);
  }));
  assert.equal(r.uuid(), id);
  assert.equal(r.uuid(), ZERO_UUID);
  assert.throws(() => new Writer().uuid("not-a-uuid"));
});

Deno.test("arrays: counts, null and compact counts", () => {
  const r = new Reader(bytesOf((w) => {
    w.arrayLength(2);
    w.int32(1);
    w.int32(2);
    w.arrayLength(-1);
    w.arrayLength(-1, true);
    w.arrayLength(0, true);
  }));
  assert.deepEqual(r.array((x) => x.int32()), [1, 2]);
  assert.equal(r.array((x) => x.int32()), null);
  assert.equal(r.arrayLength(true), -1);
  assert.equal(r.arrayLength(true), 0);
});

Deno.test("Reader errors are sticky and name what was being read", () => {
  const r = new Reader(Uint8Array.of(0, 1, 2));
  assert.equal(r.int32(), 0);
  assert.match(r.error!, /int32/);
  const first = r.error;
  assert.equal(r.int8(), 0);
  assert.equal(r.string(), "");
  assert.equal(r.uuid(), ZERO_UUID);
  assert.equal(r.error, first);
  assert.equal(r.ok, false);
});

Deno.test("Reader rejects a length beyond the remaining bytes and absurd array counts", () => {
  const r = new Reader(Uint8Array.of(0, 9, 0x61));
  assert.equal(r.string(), "");
  assert.match(r.error!, /Length 9 exceeds/);
  const r2 = new Reader(Uint8Array.of(0x7f, 0xff, 0xff, 0xff));
  assert.equal(r2.arrayLength(), -1);
  assert.equal(r2.ok, false);
  const r3 = new Reader(Uint8Array.of(0xff, 0xff));
  assert.equal(r3.string(), "");
  assert.match(r3.error!, /Null where a non-nullable string/);
  const r4 = new Reader(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x01));
  r4.uvarint();
  assert.match(r4.error!, /uvarint/);
});

Deno.test("skipTaggedFields() skips unknown tags", () => {
  const r = new Reader(Uint8Array.of(2, 0, 2, 0xaa, 0xbb, 5, 0, 7));
  r.skipTaggedFields();
  assert.equal(r.int8(), 7);
  assert.equal(r.ok, true);
});

Deno.test("Writer.records() appends chunks by reference into the send plan", () => {
  const w = new Writer({ bufferSizeBytes: 8 });
  const batch = new Uint8Array(100).fill(1);
  const slice: FileSlice = { fd: 7, positionBytes: 4096, sizeBytes: 500 };
  w.int16(1);
  w.records([batch, slice]);
  w.int8(2);
  w.records(EMPTY_BYTES, true);
  w.int8(3);
  const plan = w.finish();
  assert.equal(plan.length, 4);
  assert.deepEqual([...(plan[0] as Uint8Array)], [0, 1, 0, 0, 2, 88]);
  assert.equal(plan[1], batch);
  assert.equal(plan[2], slice);
  assert.deepEqual([...(plan[3] as Uint8Array)], [2, 1, 3]);
});

Deno.test("Writer grows past its buffer without corrupting earlier plans", () => {
  const w = new Writer({ bufferSizeBytes: 4 });
  w.int32(11);
  const first = w.finish();
  const mark = w.reserveInt32();
  for (let i = 0; i < 100; i++) w.int32(i);
  w.patchInt32(mark, 400);
  const second = w.toBytes();
  assert.deepEqual([...(first[0] as Uint8Array)], [0, 0, 0, 11]);
  assert.equal(second.length, 404);
  assert.equal(new Reader(second).int32(), 400);
  assert.equal(new Reader(second, 400).int32(), 99);
});

Deno.test("patchInt32() reaches a byte run already flushed before a chunk", () => {
  const w = new Writer();
  const mark = w.reserveInt32();
  w.records(Uint8Array.of(1, 2, 3));
  w.patchInt32(mark, w.sizeBytes - 4);
  assert.deepEqual([...w.toBytes()], [0, 0, 0, 7, 0, 0, 0, 3, 1, 2, 3]);
});

Deno.test("beginSized()/endSized() insert a uvarint size, even across a buffer move", () => {
  const w = new Writer({ bufferSizeBytes: 4 });
  w.int8(9);
  const mark = w.beginSized();
  for (let i = 0; i < 200; i++) w.int8(i);
  w.endSized(mark);
  const r = new Reader(w.toBytes());
  assert.equal(r.int8(), 9);
  assert.equal(r.uvarint(), 200);
  r.skip(199);
  assert.equal(r.int8(), -57); // 199 as int8
  assert.equal(r.remaining, 0);
});

Deno.test("toBytes() refuses a plan holding a file slice", () => {
  const w = new Writer();
  w.records([{ fd: 3, positionBytes: 0, sizeBytes: 10 }]);
  assert.throws(() => w.toBytes(), /file slice/);
});

Deno.test("endSized() at the very end of a full buffer keeps the region's bytes", () => {
  for (let fill = 0; fill < 24; fill++) {
    const w = new Writer({ bufferSizeBytes: 16 });
    for (let i = 0; i < fill; i++) w.int8(i);
    const mark = w.beginSized();
    w.int16(-2);
    w.endSized(mark);
    const r = new Reader(w.toBytes());
    r.skip(fill);
    assert.equal(r.uvarint(), 2);
    assert.equal(r.int16(), -2);
    assert.equal(r.remaining, 0);
  }
});
