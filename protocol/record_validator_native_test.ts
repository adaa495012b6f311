/**
 * The validator over the native streaming decoders (`ffi/codecs.ts`): records
 * read a window at a time, across window boundaries, a record larger than the
 * window, and every malformed batch with the same answer as the JS path.
 */
import { gzipSync, zstdCompressSync } from "node:zlib";
import { assert } from "../util/assert.ts";
import { loadNativeCompressors, loadNativeDecoders } from "../ffi/load.ts";
import { Codec, useNativeDecoders } from "./decompress.ts";
import { ErrorCode } from "./error_codes.ts";
import { RecordBatchView } from "./record_batch.ts";
import { STREAM_WINDOW_BYTES, validateBatchRecords } from "./record_validator.ts";
import { gzipBomb, malformedBatches, rawBatch, recordBytes } from "./_test_batches.ts";

const compressors = loadNativeCompressors();
const COMPRESS: [string, number, (b: Uint8Array) => Uint8Array][] = [
  ["gzip", Codec.GZIP, (b) => new Uint8Array(gzipSync(b))],
  ["zstd", Codec.ZSTD, (b) => new Uint8Array(zstdCompressSync(b))],
  ["lz4", Codec.LZ4, (b) => compressors.lz4!(b)],
  ["snappy", Codec.SNAPPY, (b) => compressors.snappy!(b)],
];

function withNatives(fn: () => void): void {
  useNativeDecoders(loadNativeDecoders());
  try {
    fn();
  } finally {
    useNativeDecoders({});
  }
}

function validate(bytes: Uint8Array, maxMessageBytes = 1048588) {
  return validateBatchRecords(new RecordBatchView(bytes), { nowMs: 0, maxMessageBytes });
}

/** Records of varied sizes (up to 1.5 windows), about `totalBytes` in all. */
function records(totalBytes: number, bigEvery = 0): { bytes: Uint8Array; count: number } {
  const parts: number[][] = [];
  let size = 0;
  for (let i = 0; size < totalBytes; i++) {
    const valueBytes = bigEvery > 0 && i % bigEvery === bigEvery - 1
      ? STREAM_WINDOW_BYTES * 1.5
      : 20 + (i * 37) % 3000;
    const r = recordBytes({ offsetDelta: i, key: `k${i}`, value: "v".repeat(valueBytes) });
    parts.push(r);
    size += r.length;
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return { bytes, count: parts.length };
}

Deno.test("validateBatchRecords() streams records across windows, larger records too", () => {
  withNatives(() => {
    const plain = records(3 * STREAM_WINDOW_BYTES + 12345, 40);
    for (const [name, codec, compress] of COMPRESS) {
      const batch = rawBatch(compress(plain.bytes), {
        recordCount: plain.count,
        attributes: codec,
      });
      const verdict = validate(batch);
      assert.ok(verdict.ok, `${name}: ${JSON.stringify(verdict)}`);
      const fewer = rawBatch(compress(plain.bytes), {
        recordCount: plain.count + 1,
        attributes: codec,
      });
      assert.equal(validate(fewer).ok, false, `${name}: a missing record`);
      const extra = rawBatch(compress(plain.bytes), {
        recordCount: plain.count - 1,
        attributes: codec,
      });
      const refused = validate(extra);
      assert.ok(!refused.ok && /remaining/.test(refused.message), `${name}: trailing record`);
    }
  });
});

Deno.test("validateBatchRecords() over native decoders answers each malformed batch as the JS path", () => {
  const expected = malformedBatches().map((b) => validate(b.bytes));
  withNatives(() => {
    malformedBatches().forEach((bad, i) => {
      const verdict = validate(bad.bytes);
      assert.ok(!verdict.ok, bad.name);
      const js = expected[i];
      assert.ok(!js.ok);
      if (bad.alsoAccepted === undefined) {
        assert.equal(verdict.errorCode, js.errorCode, `${bad.name}: ${verdict.message}`);
      } else {
        assert.equal(verdict.errorCode, bad.errorCode, `${bad.name} (native): ${verdict.message}`);
      }
    });
  });
});

Deno.test("validateBatchRecords() over native decoders stops a zip bomb at the bound", () => {
  withNatives(() => {
    const refused = validate(gzipBomb(1024 * 1024), 4096);
    assert.ok(!refused.ok && refused.errorCode === ErrorCode.MESSAGE_TOO_LARGE);
    assert.ok(validate(gzipBomb(1024 * 1024)).ok);
    // A zstd stream of a record length that promises more than the stream holds.
    const plain = recordBytes({ offsetDelta: 0, value: "x".repeat(5000) });
    const truncatedRecord = rawBatch(
      zstdCompressSync(new Uint8Array(plain.slice(0, 3000))),
      { recordCount: 1, attributes: Codec.ZSTD },
    );
    const verdict = validate(truncatedRecord);
    assert.ok(
      !verdict.ok && verdict.errorCode === ErrorCode.INVALID_RECORD,
      verdict.ok ? "" : verdict.message,
    );
  });
});

Deno.test("validateBatchRecords() over native decoders answers seeded mutations without throwing", () => {
  let seed = 4242;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const plain = records(20_000);
  withNatives(() => {
    for (const [name, codec, compress] of COMPRESS) {
      const packed = compress(plain.bytes);
      let refused = 0;
      for (let n = 0; n < 300; n++) {
        const bytes = packed.slice(0, random(3) === 0 ? random(packed.length) : packed.length);
        if (bytes.length > 0) bytes[random(bytes.length)] ^= 1 << random(8);
        const verdict = validate(rawBatch(bytes, { recordCount: plain.count, attributes: codec }));
        if (!verdict.ok) refused++;
      }
      assert.ok(refused > 150, `${name}: only ${refused} of 300 mutations refused`);
    }
  });
});
