/**
 * Micro-benchmark of produce validation (issue 10): each decoder, native (FFI
 * to zlib, libzstd, liblz4, libsnappy) against the JS fallback, in MB/s of
 * inflated output; and the record validator's cost on uncompressed 1 MiB
 * batches of 100-byte and 1 KiB records (the header + CRC check alone, as
 * produce did before, against header + CRC + records), and on compressed
 * ones (MB/s of uncompressed records throughout). Prints markdown tables.
 * Each figure is the best of 5 windows, so that other processes on the
 * machine disturb it less.
 *
 * `deno run -A bench/validation.ts [--seconds 1]` or `bun run bench/validation.ts`.
 *
 * @module
 */
import process from "node:process";
import { gzipSync, zstdCompressSync } from "node:zlib";
import { loadNativeCompressors, loadNativeCrc32c, loadNativeDecoders } from "../ffi/load.ts";
import { Codec, inflateJs, type NativeDecoder, useNativeDecoders } from "../protocol/decompress.ts";
import {
  BATCH_HEADER_BYTES,
  BATCH_LOG_OVERHEAD_BYTES,
  BatchField,
  crc32cImplementation,
  RecordBatchView,
  useNativeCrc32c,
  validateBatches,
} from "../protocol/record_batch.ts";
import { validateBatchRecords } from "../protocol/record_validator.ts";
import { encodeRecordBatch } from "../protocol/records.ts";

const secondsIndex = process.argv.indexOf("--seconds");
const SECONDS = secondsIndex > 0 ? Number(process.argv[secondsIndex + 1]) : 1;
const BATCH_BYTES = 1024 * 1024;
const MB = 1e6;

useNativeCrc32c(loadNativeCrc32c()); // the hardware CRC-32C when libisal is there
const natives = loadNativeDecoders();
const compressors = loadNativeCompressors();
const runtime = "Bun" in globalThis ? "bun" : "deno";

/** Windows per figure: the best one is kept, as the least disturbed by other processes. */
const WINDOWS = 5;

/** Runs `fn` for about SECONDS in WINDOWS windows (after a warm-up); returns the best calls/s. */
function rate(fn: () => void): number {
  const warmUntil = performance.now() + 200;
  while (performance.now() < warmUntil) fn();
  let best = 0;
  for (let w = 0; w < WINDOWS; w++) {
    let calls = 0;
    const start = performance.now();
    const end = start + (SECONDS * 1000) / WINDOWS;
    let now = start;
    while (now < end) {
      fn();
      calls++;
      now = performance.now();
    }
    best = Math.max(best, calls / ((now - start) / 1000));
  }
  return best;
}

/** Records like a JSON event stream: a key, a value of `valueBytes` text with some variety. */
function recordBatch(valueBytes: number): Uint8Array {
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  const records = [];
  let total = 0;
  for (let i = 0; total < BATCH_BYTES - valueBytes - 100; i++) {
    const head = `{"id":${i},"user":"u${next() % 5000}","event":"click","ts":${
      1733300000000 + i
    },"pad":"`;
    const pad = "abcdefghijklmnopqrstuvwxyz0123456789".repeat(Math.ceil(valueBytes / 36));
    const value = (head + pad).slice(0, valueBytes - 2) + '"}';
    records.push({
      key: new TextEncoder().encode(`key-${next() % 1000}`),
      value: new TextEncoder().encode(value),
      timestampMs: 1733300000000 + i,
    });
    total += valueBytes + 20;
  }
  return encodeRecordBatch(records);
}

/** The same batch with its records compressed by `compress` and the codec bits set. */
function compressedBatch(
  plain: Uint8Array,
  codec: number,
  compress: (b: Uint8Array) => Uint8Array,
) {
  const payload = compress(plain.subarray(BATCH_HEADER_BYTES));
  const out = new Uint8Array(BATCH_HEADER_BYTES + payload.length);
  out.set(plain.subarray(0, BATCH_HEADER_BYTES));
  out.set(payload, BATCH_HEADER_BYTES);
  const dv = new DataView(out.buffer);
  dv.setInt32(BatchField.batchLength, out.length - BATCH_LOG_OVERHEAD_BYTES);
  dv.setInt16(BatchField.attributes, codec);
  new RecordBatchView(out).updateCrc();
  return out;
}

const COMPRESSORS: [string, number, (b: Uint8Array) => Uint8Array][] = [
  ["gzip", Codec.GZIP, (b) => new Uint8Array(gzipSync(b, { level: 6 }))],
  ["snappy", Codec.SNAPPY, (b) => compressors.snappy!(b)],
  ["lz4", Codec.LZ4, (b) => compressors.lz4!(b)],
  ["zstd", Codec.ZSTD, (b) => new Uint8Array(zstdCompressSync(b))],
];

function nativeOf(codec: number): NativeDecoder {
  const n = codec === Codec.GZIP
    ? natives.gzip
    : codec === Codec.ZSTD
    ? natives.zstd
    : codec === Codec.LZ4
    ? natives.lz4
    : natives.snappyBlock;
  if (n === undefined) throw new Error(`No native decoder for codec ${codec}`);
  return n;
}

const mbs = (bytesPerCall: number, callsPerSecond: number) =>
  (bytesPerCall * callsPerSecond / MB).toFixed(0);

function decoderRows(): string[] {
  const plain = recordBatch(1024).subarray(BATCH_HEADER_BYTES);
  const rows = ["| codec | ratio | native MB/s | JS MB/s | native / JS |", "|---|---|---|---|---|"];
  for (const [name, codec, compress] of COMPRESSORS) {
    const compressed = compress(plain);
    const native = nativeOf(codec);
    const nativeRate = rate(() => native(compressed, 64 * BATCH_BYTES));
    const jsRate = rate(() => inflateJs(codec, compressed, 64 * BATCH_BYTES));
    rows.push(
      `| ${name} | ${(plain.length / compressed.length).toFixed(1)} | ${
        mbs(plain.length, nativeRate)
      } | ${mbs(plain.length, jsRate)} | ${(nativeRate / jsRate).toFixed(2)} |`,
    );
  }
  return rows;
}

function validatorRows(): string[] {
  const rows = [
    "| batch (1 MiB of records) | validation MB/s (records, uncompressed) | ns / record | of which header + CRC |",
    "|---|---|---|---|",
  ];
  const options = { nowMs: Date.now(), maxMessageBytes: 2 * BATCH_BYTES };
  useNativeDecoders(natives);
  const kib = recordBatch(1024);
  const hundred = recordBatch(100);
  const cases: [string, Uint8Array, number][] = [
    ["100-byte records", hundred, hundred.length],
    ["1 KiB records", kib, kib.length],
    ["1 KiB records, lz4", compressedBatch(kib, Codec.LZ4, COMPRESSORS[2][2]), kib.length],
    ["1 KiB records, zstd", compressedBatch(kib, Codec.ZSTD, COMPRESSORS[3][2]), kib.length],
  ];
  for (const [name, batch, plainBytes] of cases) {
    const view = new RecordBatchView(batch);
    const count = view.recordCount;
    const headerOnly = rate(() => {
      if (!validateBatches(batch, { maxMessageBytes: 2 * BATCH_BYTES }).ok) throw new Error("bad");
    });
    const full = rate(() => {
      if (!validateBatches(batch, { maxMessageBytes: 2 * BATCH_BYTES }).ok) throw new Error("bad");
      if (!validateBatchRecords(view.moveTo(0), options).ok) throw new Error("bad records");
    });
    const nsPerRecord = (calls: number) => (1e9 / calls / count).toFixed(1);
    rows.push(
      `| ${name} (${count} records) | ${mbs(plainBytes, full)} | ${nsPerRecord(full)} | ${
        nsPerRecord(headerOnly)
      } |`,
    );
  }
  return rows;
}

console.log(`## ${runtime}, CRC-32C ${crc32cImplementation()}, ${SECONDS} s per figure\n`);
console.log(decoderRows().join("\n"));
console.log();
console.log(validatorRows().join("\n"));
