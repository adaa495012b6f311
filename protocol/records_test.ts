import { assert } from "../util/assert.ts";
import { ErrorCode } from "./error_codes.ts";
import { BatchField, RecordBatchError, RecordBatchView } from "./record_batch.ts";
import {
  decodeRecordBatch,
  decodeRecordBatches,
  encodeRecordBatch,
  findRecordByTimestamp,
  varintSizeBytes,
  writeVarint,
} from "./records.ts";

const text = (s: string) => new TextEncoder().encode(s);
const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

// Captured from kafkajs 2.2.4 (`protocol/recordBatch/v0` + `record/v0`) for the same record.
const KAFKAJS_BATCH_HEX =
  "0000000000000000000000420000000002a7ed9b490000000000000000018bcfe568000000018bcfe56800" +
  "ffffffffffffffff0000000000000000000120000000026b0a68656c6c6f0202680278";

Deno.test("encodeRecordBatch() matches the bytes kafkajs produces", () => {
  const bytes = encodeRecordBatch(
    [{
      key: text("k"),
      value: text("hello"),
      headers: [{ key: "h", value: text("x") }],
      timestampMs: 1700000000000,
    }],
    { partitionLeaderEpoch: 0, producerEpoch: 0, baseSequence: 0 },
  );
  assert.equal(hex(bytes), KAFKAJS_BATCH_HEX);
});

Deno.test("writeVarint() writes zigzag varints", () => {
  const cases: [number, string][] = [[0, "00"], [-1, "01"], [1, "02"], [63, "7e"], [-64, "7f"], [
    64,
    "8001",
  ], [
    2 ** 31,
    "8080808010",
  ]];
  for (const [value, expected] of cases) {
    const bytes = new Uint8Array(10);
    const end = writeVarint(bytes, 0, value);
    assert.equal(hex(bytes.subarray(0, end)), expected, `varint ${value}`);
    assert.equal(varintSizeBytes(value), end);
  }
});

Deno.test("decodeRecordBatch() round-trips keys, values, nulls, headers and timestamps", () => {
  const records = [
    { key: null, value: text("a"), headers: [], timestampMs: 1_700_000_000_000 },
    {
      key: text("key"),
      value: null,
      headers: [{ key: "h1", value: null }, { key: "ü", value: text("v") }],
      timestampMs: 1_600_000_000_000,
    },
    {
      key: new Uint8Array(0),
      value: new Uint8Array(300).fill(7),
      headers: [],
      timestampMs: 1_800_000_000_000,
    },
  ];
  const bytes = encodeRecordBatch(records, {
    baseOffset: 2 ** 35,
    producerId: 9,
    producerEpoch: 1,
    baseSequence: 4,
  });
  const batch = decodeRecordBatch(bytes);
  assert.equal(batch.baseOffset, 2 ** 35);
  assert.equal(batch.lastOffset, 2 ** 35 + 2);
  assert.equal(batch.maxTimestampMs, 1_800_000_000_000);
  assert.equal(batch.producerId, 9);
  assert.equal(batch.baseSequence, 4);
  assert.deepEqual(batch.records, records.map((r, i) => ({ ...r, offset: 2 ** 35 + i })));
});

Deno.test("decodeRecordBatches() decodes each whole batch and skips a trailing partial one", () => {
  const a = encodeRecordBatch([{ key: null, value: text("1"), timestampMs: 1 }], { baseOffset: 0 });
  const b = encodeRecordBatch([{ key: null, value: text("2"), timestampMs: 2 }], { baseOffset: 1 });
  const blob = new Uint8Array(a.length + b.length);
  blob.set(a);
  blob.set(b, a.length);
  assert.deepEqual(decodeRecordBatches(blob).map((x) => x.baseOffset), [0, 1]);
  assert.deepEqual(
    decodeRecordBatches(blob.subarray(0, blob.length - 1)).map((x) => x.baseOffset),
    [0],
  );
});

Deno.test("decodeRecordBatch() rejects compressed batches and corrupt records", () => {
  const bytes = encodeRecordBatch([{ key: null, value: text("abc"), timestampMs: 1 }]);
  const compressed = bytes.slice();
  compressed[BatchField.attributes + 1] = 1; // gzip
  assert.throws(
    () => decodeRecordBatch(compressed),
    (e) => e instanceof RecordBatchError && e.errorCode === ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
  );
  const corrupt = bytes.slice();
  corrupt[61] = 0x7e; // record length 63: overruns the batch
  assert.throws(
    () => decodeRecordBatch(corrupt),
    (e) => e instanceof RecordBatchError && e.errorCode === ErrorCode.CORRUPT_MESSAGE,
  );
  assert.throws(() => decodeRecordBatch(bytes.subarray(0, bytes.length - 2)), RecordBatchError);
});

Deno.test("encodeRecordBatch() sets a valid CRC and refuses an empty batch", () => {
  assert.ok(
    new RecordBatchView(encodeRecordBatch([{ key: null, value: null, timestampMs: 0 }]))
      .isCrcValid(),
  );
  assert.throws(() => encodeRecordBatch([]), RangeError);
});

Deno.test("findRecordByTimestamp() finds the first record at or after both bounds", () => {
  const bytes = encodeRecordBatch(
    [10, 30, 20, 40].map((t) => ({ key: null, value: null, timestampMs: t })),
    { baseOffset: 100 },
  );
  assert.deepEqual(findRecordByTimestamp(bytes, 0, { timestampMs: 15, offsetMin: 0 }), {
    offset: 101,
    timestampMs: 30,
  });
  assert.deepEqual(findRecordByTimestamp(bytes, 0, { timestampMs: 15, offsetMin: 102 }), {
    offset: 102,
    timestampMs: 20,
  });
  assert.equal(findRecordByTimestamp(bytes, 0, { timestampMs: 41, offsetMin: 0 }), undefined);
});
