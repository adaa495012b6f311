import { assert } from "../util/assert.ts";
import { concatBytes } from "../util/bytes.ts";
import { ErrorCode } from "./error_codes.ts";
import {
  BATCH_HEADER_BYTES,
  BatchField,
  crc32c,
  readInt64,
  RecordBatchView,
  setBaseOffset,
  validateBatches,
  writeInt64,
} from "./record_batch.ts";
import { encodeRecordBatch } from "./records.ts";

const text = (s: string) => new TextEncoder().encode(s);

function crc32cBitwise(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

function batchOf(count: number, timestampMs = 1000): Uint8Array {
  return encodeRecordBatch(
    Array.from(
      { length: count },
      (_, i) => ({ key: null, value: text(`value-${i}`), timestampMs: timestampMs + i }),
    ),
  );
}

Deno.test("crc32c() matches the RFC 3720 check values", () => {
  assert.equal(crc32c(text("123456789")), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
});

Deno.test("crc32c() agrees with a bitwise CRC on every length and alignment, and continues", () => {
  const bytes = Uint8Array.from({ length: 300 }, (_, i) => (i * 131 + 7) & 0xff);
  for (let start = 0; start < 9; start++) {
    for (let end = start; end <= bytes.length; end += 7) {
      assert.equal(crc32c(bytes, start, end), crc32cBitwise(bytes.subarray(start, end)));
    }
  }
  assert.equal(crc32c(bytes, 100, 300, crc32c(bytes, 0, 100)), crc32c(bytes));
  for (let offset = 1; offset < 20; offset++) {
    const view = bytes.subarray(offset, 250 + offset); // non-zero byteOffset, cached DataView
    assert.equal(crc32c(view), crc32cBitwise(view));
    assert.equal(crc32c(view.slice()), crc32cBitwise(view)); // a new buffer each time
  }
});

Deno.test("readInt64()/writeInt64() round-trip safe integers, negatives included", () => {
  const view = new DataView(new ArrayBuffer(8));
  for (
    const v of [
      0,
      1,
      -1,
      2 ** 31,
      2 ** 32 + 5,
      -(2 ** 40) - 3,
      Number.MAX_SAFE_INTEGER,
      Number.MIN_SAFE_INTEGER,
    ]
  ) {
    writeInt64(view, 0, v);
    assert.equal(readInt64(view, 0), v);
    assert.equal(view.getBigInt64(0), BigInt(v));
  }
});

Deno.test("RecordBatchView reads every header field", () => {
  const bytes = encodeRecordBatch(
    [{ key: null, value: null, timestampMs: 5000 }, { key: null, value: null, timestampMs: 7000 }],
    {
      baseOffset: 2 ** 33,
      producerId: 42,
      producerEpoch: 3,
      baseSequence: 9,
      partitionLeaderEpoch: 4,
      isTransactional: true,
    },
  );
  const view = new RecordBatchView(bytes);
  assert.equal(view.baseOffset, 2 ** 33);
  assert.equal(view.sizeBytes, bytes.length);
  assert.equal(view.batchLengthBytes, bytes.length - 12);
  assert.equal(view.magic, 2);
  assert.equal(view.partitionLeaderEpoch, 4);
  assert.equal(view.lastOffsetDelta, 1);
  assert.equal(view.lastOffset, 2 ** 33 + 1);
  assert.equal(view.baseTimestampMs, 5000);
  assert.equal(view.maxTimestampMs, 7000);
  assert.equal(view.producerId, 42);
  assert.equal(view.producerEpoch, 3);
  assert.equal(view.baseSequence, 9);
  assert.equal(view.recordCount, 2);
  assert.equal(view.compression, 0);
  assert.ok(view.isTransactional && !view.isControl && !view.isLogAppendTime);
  assert.ok(view.isCrcValid());
});

Deno.test("setBaseOffset() patches in place and the CRC stays valid", () => {
  const bytes = concatBytes([batchOf(2), batchOf(3)]);
  const first = new RecordBatchView(bytes).sizeBytes;
  setBaseOffset(bytes, first, 2 ** 40 + 17);
  const view = new RecordBatchView(bytes, first);
  assert.equal(view.baseOffset, 2 ** 40 + 17);
  assert.ok(view.isCrcValid());
  assert.ok(validateBatches(bytes, { maxMessageBytes: 1 << 20 }).ok);
});

Deno.test("validateBatches() returns every batch boundary and the record count", () => {
  const a = batchOf(2);
  const b = batchOf(5, 9000);
  const result = validateBatches(concatBytes([a, b]), { maxMessageBytes: 1 << 20 });
  assert.ok(result.ok);
  assert.equal(result.recordCount, 7);
  assert.equal(result.sizeBytes, a.length + b.length);
  assert.deepEqual(
    result.batches.map((x) => [x.positionBytes, x.sizeBytes, x.recordCount, x.lastOffsetDelta]),
    [
      [0, a.length, 2, 1],
      [a.length, b.length, 5, 4],
    ],
  );
  assert.equal(result.batches[1].maxTimestampMs, 9004);
});

function expectError(bytes: Uint8Array, errorCode: number, maxMessageBytes = 1 << 20): void {
  const result = validateBatches(bytes, { maxMessageBytes });
  assert.ok(!result.ok, "expected a validation error");
  assert.equal(result.error.errorCode, errorCode, result.error.message);
}

Deno.test("validateBatches() rejects an empty blob with INVALID_RECORD (as a produce v3+ without a batch)", () => {
  expectError(new Uint8Array(0), ErrorCode.INVALID_RECORD);
});

Deno.test("validateBatches() rejects a bad CRC with CORRUPT_MESSAGE", () => {
  const bytes = batchOf(3);
  bytes[bytes.length - 1] ^= 1;
  expectError(bytes, ErrorCode.CORRUPT_MESSAGE);
  const again = batchOf(3);
  again[BatchField.attributes + 1] ^= 0x10; // the CRC covers attributes
  expectError(again, ErrorCode.CORRUPT_MESSAGE);
});

Deno.test("validateBatches() rejects truncated blobs with CORRUPT_MESSAGE, at every length", () => {
  const whole = concatBytes([batchOf(1), batchOf(2)]);
  const first = new RecordBatchView(whole).sizeBytes;
  for (let cut = 1; cut < whole.length; cut++) {
    if (cut === first) continue;
    expectError(whole.subarray(0, cut), ErrorCode.CORRUPT_MESSAGE);
  }
});

Deno.test("validateBatches() rejects a batchLength below the header with CORRUPT_MESSAGE", () => {
  const bytes = batchOf(1);
  new DataView(bytes.buffer).setInt32(BatchField.batchLength, BATCH_HEADER_BYTES - 13);
  expectError(bytes, ErrorCode.CORRUPT_MESSAGE);
});

Deno.test("validateBatches() rejects magic other than 2 with INVALID_RECORD", () => {
  for (const magic of [0, 1, 3]) {
    const bytes = batchOf(1);
    bytes[BatchField.magic] = magic;
    expectError(bytes, ErrorCode.INVALID_RECORD);
  }
});

Deno.test("validateBatches() rejects a batch above max.message.bytes with MESSAGE_TOO_LARGE", () => {
  const bytes = batchOf(4);
  expectError(bytes, ErrorCode.MESSAGE_TOO_LARGE, bytes.length - 1);
  assert.ok(validateBatches(bytes, { maxMessageBytes: bytes.length }).ok);
});

Deno.test("validateBatches() rejects recordCount != lastOffsetDelta + 1 with INVALID_RECORD unless offsets may have gaps", () => {
  const bytes = batchOf(3);
  const view = new DataView(bytes.buffer);
  view.setInt32(BatchField.lastOffsetDelta, 5);
  new RecordBatchView(bytes).updateCrc();
  expectError(bytes, ErrorCode.INVALID_RECORD);
  assert.ok(validateBatches(bytes, { maxMessageBytes: 1 << 20, requireDenseOffsets: false }).ok);
  view.setInt32(BatchField.lastOffsetDelta, -1);
  new RecordBatchView(bytes).updateCrc();
  expectError(bytes, ErrorCode.INVALID_RECORD);
});
