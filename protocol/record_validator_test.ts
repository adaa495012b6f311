import { gzipSync } from "node:zlib";
import { assert } from "../util/assert.ts";
import { ErrorCode } from "./error_codes.ts";
import { RecordBatchView } from "./record_batch.ts";
import {
  inflatedBytesMax,
  RECORD_ERRORS_MAX,
  type RecordValidationOptions,
  validateBatchRecords,
} from "./record_validator.ts";
import { encodeRecordBatch } from "./records.ts";
import { RecordReader, scanCommonRecords } from "./record_reader.ts";
import { goodRecords, gzipBomb, malformedBatches, rawBatch, recordBytes } from "./_test_batches.ts";

const OPTIONS: RecordValidationOptions = { nowMs: 1_000_000, maxMessageBytes: 1048588 };

function validate(bytes: Uint8Array, options: Partial<RecordValidationOptions> = {}) {
  return validateBatchRecords(new RecordBatchView(bytes), { ...OPTIONS, ...options });
}

function refusal(bytes: Uint8Array, options: Partial<RecordValidationOptions> = {}) {
  const verdict = validate(bytes, options);
  if (verdict.ok) throw new Error("The batch was accepted");
  return verdict;
}

Deno.test("validateBatchRecords() accepts well-formed batches, plain and gzip", () => {
  assert.ok(validate(rawBatch(goodRecords(5), { recordCount: 5 })).ok);
  assert.ok(
    validate(rawBatch(gzipSync(new Uint8Array(goodRecords(50))), {
      recordCount: 50,
      attributes: 1,
    })).ok,
  );
  const headers = recordBytes({ offsetDelta: 0, headers: [["h", "x"], ["n", null]] });
  assert.ok(validate(rawBatch(headers, { recordCount: 1 })).ok);
  const encoded = encodeRecordBatch([{ key: null, value: null, timestampMs: 5 }]);
  assert.ok(validate(encoded).ok);
});

Deno.test("validateBatchRecords() refuses each malformed batch of issue 10 with Kafka's code", () => {
  for (const bad of malformedBatches()) {
    const verdict = refusal(bad.bytes);
    const expected = verdict.errorCode === bad.alsoAccepted ? bad.alsoAccepted : bad.errorCode;
    assert.equal(verdict.errorCode, expected, `${bad.name}: ${verdict.message}`);
    assert.ok(verdict.message.length > 0, bad.name);
  }
});

Deno.test("validateBatchRecords() names the first bad record in recordErrors", () => {
  const verdict = refusal(malformedBatches().find((b) => b.name === "a truncated record")!.bytes);
  assert.deepEqual(verdict.recordErrors.map((e) => e.batchIndex), [0]);
  const second = rawBatch(
    [...recordBytes({ offsetDelta: 0 }), ...recordBytes({ offsetDelta: 1 }).slice(0, -1)],
    { recordCount: 2 },
  );
  assert.deepEqual(refusal(second).recordErrors.map((e) => e.batchIndex), [1]);
});

Deno.test("validateBatchRecords() refuses out-of-order offset deltas per record", () => {
  const bytes = rawBatch(
    [0, 2, 1].flatMap((d) => recordBytes({ offsetDelta: d })),
    { recordCount: 3 },
  );
  const verdict = refusal(bytes);
  assert.equal(verdict.errorCode, ErrorCode.INVALID_RECORD);
  assert.deepEqual(verdict.recordErrors.map((e) => e.batchIndex), [1, 2]);
  assert.match(verdict.recordErrors[0].batchIndexErrorMessage!, /incremental offsets/);
});

Deno.test("validateBatchRecords() on a compacted topic refuses records without a key", () => {
  const bytes = rawBatch(
    [
      ...recordBytes({ offsetDelta: 0, key: "a" }),
      ...recordBytes({ offsetDelta: 1, key: null }),
    ],
    { recordCount: 2 },
  );
  assert.ok(validate(bytes).ok);
  const verdict = refusal(bytes, { compactedTopic: true });
  assert.equal(verdict.errorCode, ErrorCode.INVALID_RECORD);
  assert.deepEqual(verdict.recordErrors, [{
    batchIndex: 1,
    batchIndexErrorMessage: "Compacted topic cannot accept message without key",
  }]);
  assert.match(verdict.message, /1 record errors in total/);
});

Deno.test("validateBatchRecords() checks CreateTime bounds and refuses LogAppendTime from clients", () => {
  const now = OPTIONS.nowMs;
  const bytes = rawBatch(
    [
      ...recordBytes({ offsetDelta: 0, timestampDelta: 0 }),
      ...recordBytes({ offsetDelta: 1, timestampDelta: 5000 }),
    ],
    { recordCount: 2, baseTimestampMs: now - 100 },
  );
  assert.ok(validate(bytes).ok, "no bound by default (Kafka's Long.MAX_VALUE)");
  assert.ok(validate(bytes, { timestampBeforeMaxMs: 100, timestampAfterMaxMs: 4900 }).ok);
  const late = refusal(bytes, { timestampAfterMaxMs: 4899 });
  assert.equal(late.errorCode, ErrorCode.INVALID_TIMESTAMP);
  assert.deepEqual(late.recordErrors.map((e) => e.batchIndex), [1]);
  const early = refusal(bytes, { timestampBeforeMaxMs: 99 });
  assert.deepEqual(early.recordErrors.map((e) => e.batchIndex), [0]);
  const logAppend = rawBatch(recordBytes({ offsetDelta: 0 }), {
    recordCount: 1,
    attributes: 0x08,
  });
  assert.equal(
    refusal(logAppend, { timestampType: "LogAppendTime" }).errorCode,
    ErrorCode.INVALID_TIMESTAMP,
  );
  const noTimestamp = rawBatch(recordBytes({ offsetDelta: 0 }), {
    recordCount: 1,
    baseTimestampMs: -1,
  });
  assert.ok(validate(noTimestamp, { timestampBeforeMaxMs: 0, timestampAfterMaxMs: 0 }).ok);
});

Deno.test("validateBatchRecords() takes transactional batches only with a producer id", () => {
  const bytes = rawBatch(recordBytes({ offsetDelta: 0 }), {
    recordCount: 1,
    attributes: 0x10,
    producerId: 3,
    baseSequence: 0,
  });
  assert.ok(validate(bytes).ok);
  const anonymous = rawBatch(recordBytes({ offsetDelta: 0 }), {
    recordCount: 1,
    attributes: 0x10,
    producerId: -1,
    baseSequence: -1,
  });
  assert.equal(refusal(anonymous).errorCode, ErrorCode.INVALID_RECORD);
});

Deno.test("validateBatchRecords() stops inflating at inflatedBytesMax(max.message.bytes)", () => {
  const maxMessageBytes = 4096;
  assert.equal(inflatedBytesMax(maxMessageBytes), 64 * 4096);
  const bomb = gzipBomb(1024 * 1024);
  assert.ok(bomb.length < maxMessageBytes, `a ${bomb.length}-byte batch`);
  const verdict = refusal(bomb, { maxMessageBytes });
  assert.equal(verdict.errorCode, ErrorCode.MESSAGE_TOO_LARGE);
  assert.ok(validate(bomb, { maxMessageBytes: 1048588 }).ok);
});

Deno.test("inflatedBytesMax() is 64 times max.message.bytes within [max.message.bytes, 256 MiB]", () => {
  assert.equal(inflatedBytesMax(1048588), 64 * 1048588);
  assert.equal(inflatedBytesMax(100 * 1024 * 1024), 256 * 1024 * 1024);
  assert.equal(inflatedBytesMax(512 * 1024 * 1024), 512 * 1024 * 1024);
});

Deno.test("validateBatchRecords() lists at most RECORD_ERRORS_MAX record errors", () => {
  const count = RECORD_ERRORS_MAX + 20;
  const records = Array.from(
    { length: count },
    (_, i) => recordBytes({ offsetDelta: i, key: null }),
  ).flat();
  const verdict = refusal(rawBatch(records, { recordCount: count }), { compactedTopic: true });
  assert.equal(verdict.recordErrors.length, RECORD_ERRORS_MAX);
  assert.match(verdict.message, new RegExp(`${count} record errors in total`));
});

Deno.test("validateBatchRecords() answers seeded mutations of good batches without throwing", () => {
  let seed = 20261204;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const plain = goodRecords(30, "value-");
  const sources = [
    { records: plain, attributes: 0 },
    { records: [...gzipSync(new Uint8Array(plain))], attributes: 1 },
  ];
  let refused = 0;
  for (let n = 0; n < 3000; n++) {
    const source = sources[n % sources.length];
    const records = [...source.records];
    const kind = random(3);
    if (kind === 0) records[random(records.length)] ^= 1 << random(8); // a bit flip
    else if (kind === 1) records.length = random(records.length); // a truncation
    else records.splice(random(records.length), 0, ...[0x80, 0x80, 0x80, 0x80, 0x80, 0x80]);
    const verdict = validate(rawBatch(records, { recordCount: 30, attributes: source.attributes }));
    if (!verdict.ok) {
      refused++;
      assert.ok(verdict.message.length > 0);
    }
  }
  assert.ok(refused > 1500, `only ${refused} of 3000 mutations refused`);
});

Deno.test("scanCommonRecords() accepts nothing the reader refuses, over seeded mutations", () => {
  let seed = 20261205;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const good = goodRecords(30, "value-");
  let accepted = 0;
  for (let n = 0; n < 5000; n++) {
    const records = [...good];
    const kind = random(4);
    if (kind === 0) records[random(records.length)] ^= 1 << random(8);
    else if (kind === 1) records.length = random(records.length);
    else if (kind === 2) records.splice(random(records.length), 0, 0x80, 0x80, 0x80, 0x80, 0x80);
    const bytes = new Uint8Array(records);
    for (const keyRequired of [false, true]) {
      if (!scanCommonRecords(bytes, 0, bytes.length, 30, keyRequired)) continue;
      accepted++;
      const reader = new RecordReader().reset(bytes);
      for (let i = 0; i < 30; i++) {
        assert.ok(reader.next(), `mutation ${n}: the reader refuses record ${i}: ${reader.error}`);
        assert.equal(reader.offsetDelta, i, `mutation ${n}`);
        if (keyRequired) assert.ok(reader.keyLengthBytes >= 0, `mutation ${n}: a null key`);
      }
      assert.equal(reader.remainingBytes, 0, `mutation ${n}: trailing bytes`);
    }
  }
  assert.ok(accepted > 1000, `only ${accepted} scans accepted`); // the good ones and harmless flips
});
