/**
 * Transactions benchmark (issue 14), one run, one broker subprocess
 * (`deno/pwrite/sendfile`, default flush mode):
 *
 * 1. produce, idempotent: one producer, one connection, one request in
 *    flight, each request a 100-record batch of 1 KiB records to each of 4
 *    partitions;
 * 2. produce, transactional: the same requests in transactions committed
 *    every 100 ms (AddPartitionsToTxn, produce for 100 ms, EndTxn commit;
 *    CONCURRENT_TRANSACTIONS while the previous markers are written is
 *    retried at once and counted);
 * 3. consume the transactional topic from the start, read_uncommitted and
 *    read_committed, by raw Fetch (4 partitions, 1 MiB each per request).
 *
 * A warm-up round is discarded; then `--rounds` rounds run each workload,
 * alternating which of each pair goes first, and the report gives the
 * median (min-max) over rounds. `deno run --allow-all bench/transactions.ts
 * [--seconds N] [--rounds N] [--out DIR]` writes `<out>/<date>-transactions.json`
 * and `.md` (default `bench/results/`) and prints the table.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ErrorCode } from "../protocol/error_codes.ts";
import {
  defaultFetchRequest,
  defaultFetchRequestPartition,
  defaultFetchRequestTopic,
} from "../protocol/messages/fetch.ts";
import {
  addPartitionsToTxnApi,
  createTopicsApi,
  endTxnApi,
  fetchApi,
  initProducerIdApi,
  produceApi,
} from "../protocol/messages/mod.ts";
import { BatchField, RecordBatchView, writeInt64 } from "../protocol/record_batch.ts";
import { encodeRecordBatch } from "../protocol/records.ts";
import { join } from "node:path";
import { BrokerProcess, PROJECT_ROOT } from "./broker_proc.ts";
import { BenchConnection } from "./kafka_client.ts";

const PARTITIONS = 4;
const RECORDS_PER_BATCH = 100;
const RECORD_VALUE_BYTES = 1024;
const COMMIT_INTERVAL_MS = 100;
const FETCH_PARTITION_MAX_BYTES = 1024 * 1024;
const CONSUME_PASSES = 1;

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "3" },
    rounds: { type: "string", default: "3" },
    out: { type: "string", default: join(PROJECT_ROOT, "bench/results") },
  },
});
const measureMs = Number(flags.seconds) * 1000;
const rounds = Number(flags.rounds);

interface Producer {
  readonly transactionalId: string | null;
  producerId: number;
  producerEpoch: number;
  readonly sequences: number[];
}

/** A batch template per partition, re-stamped for each send (producer, sequence, CRC). */
const template = encodeRecordBatch(
  Array.from({ length: RECORDS_PER_BATCH }, (_, i) => ({
    key: null,
    value: new Uint8Array(RECORD_VALUE_BYTES).fill(97 + (i % 26)),
    timestampMs: Date.now(),
  })),
);

function batchFor(p: Producer, partition: number): Uint8Array {
  const bytes = template.slice();
  const view = new RecordBatchView(bytes);
  const dv = view.view;
  writeInt64(dv, BatchField.producerId, p.producerId);
  dv.setInt16(BatchField.producerEpoch, p.producerEpoch);
  dv.setInt32(BatchField.baseSequence, p.sequences[partition]);
  dv.setInt16(BatchField.attributes, p.transactionalId === null ? 0 : 0x10);
  p.sequences[partition] += RECORDS_PER_BATCH;
  view.updateCrc();
  return bytes;
}

async function produceOnce(c: BenchConnection, p: Producer, topic: string): Promise<number> {
  const res = await c.request(produceApi, 9, {
    transactionalId: p.transactionalId,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{
      name: topic,
      partitionData: Array.from({ length: PARTITIONS }, (_, index) => ({
        index,
        records: batchFor(p, index),
      })),
    }],
  });
  for (const r of res.responses[0].partitionResponses) {
    if (r.errorCode !== ErrorCode.NONE) throw new Error(`Produce failed: ${r.errorCode}`);
  }
  return PARTITIONS * template.length;
}

async function initProducer(c: BenchConnection, transactionalId: string | null): Promise<Producer> {
  const res = await c.request(initProducerIdApi, 4, {
    transactionalId,
    transactionTimeoutMs: 60_000,
    producerId: -1,
    producerEpoch: -1,
  });
  if (res.errorCode !== ErrorCode.NONE) throw new Error(`InitProducerId failed: ${res.errorCode}`);
  return {
    transactionalId,
    producerId: res.producerId,
    producerEpoch: res.producerEpoch,
    sequences: new Array(PARTITIONS).fill(0),
  };
}

async function idempotentProduce(c: BenchConnection, topic: string, p: Producer) {
  let bytes = 0;
  const startedMs = performance.now();
  while (performance.now() - startedMs < measureMs) bytes += await produceOnce(c, p, topic);
  return { bytes, elapsedMs: performance.now() - startedMs };
}

async function transactionalProduce(c: BenchConnection, topic: string, p: Producer) {
  let bytes = 0;
  let commits = 0;
  let concurrentRetries = 0;
  let producingMs = 0;
  const endTxnMs: number[] = [];
  const startedMs = performance.now();
  while (performance.now() - startedMs < measureMs) {
    while (true) {
      const added = await c.request(addPartitionsToTxnApi, 3, {
        transactions: [],
        v3AndBelowTransactionalId: "bench-txn",
        v3AndBelowProducerId: p.producerId,
        v3AndBelowProducerEpoch: p.producerEpoch,
        v3AndBelowTopics: [{ name: topic, partitions: [...Array(PARTITIONS).keys()] }],
      });
      const error = added.resultsByTopicV3AndBelow[0].resultsByPartition[0].partitionErrorCode;
      if (error === ErrorCode.NONE) break;
      if (error !== ErrorCode.CONCURRENT_TRANSACTIONS) throw new Error(`AddPartitions: ${error}`);
      concurrentRetries++;
    }
    const txnStartedMs = performance.now();
    while (performance.now() - txnStartedMs < COMMIT_INTERVAL_MS) {
      bytes += await produceOnce(c, p, topic);
    }
    producingMs += performance.now() - txnStartedMs;
    const endStartedMs = performance.now();
    const ended = await c.request(endTxnApi, 3, {
      transactionalId: "bench-txn",
      producerId: p.producerId,
      producerEpoch: p.producerEpoch,
      committed: true,
    });
    if (ended.errorCode !== ErrorCode.NONE) throw new Error(`EndTxn failed: ${ended.errorCode}`);
    endTxnMs.push(performance.now() - endStartedMs);
    commits++;
  }
  endTxnMs.sort((a, b) => a - b);
  return {
    bytes,
    elapsedMs: performance.now() - startedMs,
    producingMs,
    commits,
    concurrentRetries,
    endTxnP50Ms: endTxnMs[Math.floor(endTxnMs.length / 2)],
    endTxnP99Ms: endTxnMs[Math.floor(endTxnMs.length * 0.99)],
  };
}

/** Reads every partition of `topic` from 0 to its end (LSO for read_committed); bytes read. */
async function consumeAll(c: BenchConnection, topic: string, isolationLevel: number) {
  const next = new Array(PARTITIONS).fill(0);
  const done = new Array(PARTITIONS).fill(false);
  let bytes = 0;
  let abortedListed = 0;
  while (done.includes(false)) {
    const res = await c.request(fetchApi, 11, {
      ...defaultFetchRequest(),
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: PARTITIONS * FETCH_PARTITION_MAX_BYTES,
      isolationLevel,
      topics: [{
        ...defaultFetchRequestTopic(),
        topic,
        partitions: [...Array(PARTITIONS).keys()].filter((i) => !done[i]).map((partition) => ({
          ...defaultFetchRequestPartition(),
          partition,
          fetchOffset: next[partition],
          partitionMaxBytes: FETCH_PARTITION_MAX_BYTES,
        })),
      }],
    });
    for (const p of res.responses[0].partitions) {
      const end = isolationLevel === 1 ? p.lastStableOffset : p.highWatermark;
      const records = p.records as Uint8Array | null;
      abortedListed += p.abortedTransactions?.length ?? 0;
      if (records === null || records.length === 0) {
        if (next[p.partitionIndex] >= end) done[p.partitionIndex] = true;
        continue;
      }
      bytes += records.length;
      next[p.partitionIndex] = nextOffsetAfter(records, next[p.partitionIndex]);
      if (next[p.partitionIndex] >= end) done[p.partitionIndex] = true;
    }
  }
  return { bytes, abortedListed };
}

/** The offset after the last whole batch in `records`. */
function nextOffsetAfter(records: Uint8Array, fallback: number): number {
  const dv = new DataView(records.buffer, records.byteOffset, records.byteLength);
  let at = 0;
  let next = fallback;
  while (at + 61 <= records.length) {
    const size = 12 + dv.getInt32(at + 8);
    if (at + size > records.length) break;
    next = Number(dv.getBigInt64(at)) + dv.getInt32(at + 23) + 1;
    at += size;
  }
  return next;
}

async function consume(c: BenchConnection, topic: string, isolationLevel: number) {
  let bytes = 0;
  let abortedListed = 0;
  const startedMs = performance.now();
  for (let pass = 0; pass < CONSUME_PASSES; pass++) {
    const r = await consumeAll(c, topic, isolationLevel);
    bytes += r.bytes;
    abortedListed += r.abortedListed;
  }
  return { bytes, elapsedMs: performance.now() - startedMs, abortedListed };
}

const mbPerSec = (r: { bytes: number; elapsedMs: number }) => r.bytes / (r.elapsedMs / 1000) / 1e6;

/** Median (min-max) of `xs`, one decimal. */
function spread(xs: number[]): { median: number; min: number; max: number } {
  const sorted = [...xs].sort((a, b) => a - b);
  const round1 = (x: number) => Number(x.toFixed(1));
  return {
    median: round1(sorted[Math.floor(sorted.length / 2)]),
    min: round1(sorted[0]),
    max: round1(sorted[sorted.length - 1]),
  };
}

const text = (x: { median: number; min: number; max: number }) => `${x.median} (${x.min}–${x.max})`;

const startedAt = new Date();
const dataDir = await Deno.makeTempDir({ prefix: "denka-bench-txn-" });
const broker = await BrokerProcess.start(
  { runtime: "deno", writer: "pwrite", fetchPath: "sendfile" },
  dataDir,
);
try {
  const c = await BenchConnection.connect(broker.bootstrap);
  await c.request(createTopicsApi, 5, {
    topics: ["idem", "txn"].map((name) => ({
      name,
      numPartitions: PARTITIONS,
      replicationFactor: 1,
      assignments: [],
      configs: [],
    })),
    timeoutMs: 5000,
    validateOnly: false,
  });
  const idemProducer = await initProducer(c, null);
  const txnProducer = await initProducer(c, "bench-txn");
  const producingOnly: number[] = [];
  const results = {
    idem: [] as number[],
    txn: [] as number[],
    uncommitted: [] as number[],
    committed: [] as number[],
  };
  let commits = 0;
  let commitSeconds = 0;
  let retries = 0;
  const endTxn: number[] = [];
  for (let round = 0; round <= rounds; round++) {
    const idemFirst = round % 2 === 0;
    const runIdem = () => idempotentProduce(c, "idem", idemProducer);
    const runTxn = () => transactionalProduce(c, "txn", txnProducer);
    const idem = idemFirst ? await runIdem() : undefined;
    const txn = await runTxn();
    const idem2 = idem ?? await runIdem();
    const uncommittedFirst = round % 2 === 0;
    const u = uncommittedFirst ? await consume(c, "txn", 0) : undefined;
    const committed = await consume(c, "txn", 1);
    const uncommitted = u ?? await consume(c, "txn", 0);
    if (round === 0) continue; // warm-up
    results.idem.push(mbPerSec(idem2));
    results.txn.push(mbPerSec(txn));
    producingOnly.push(mbPerSec({ bytes: txn.bytes, elapsedMs: txn.producingMs }));
    results.uncommitted.push(mbPerSec(uncommitted));
    results.committed.push(mbPerSec(committed));
    commits += txn.commits;
    commitSeconds += txn.elapsedMs / 1000;
    retries += txn.concurrentRetries;
    endTxn.push(txn.endTxnP50Ms);
  }
  c.close();
  const ratio = (a: number[], b: number[]) =>
    Number(spread(a.map((x, i) => (x / b[i]) * 1000)).median.toFixed(0)) / 1000;
  const summary = {
    measureMs,
    rounds,
    produceIdempotentMBps: spread(results.idem),
    produceTransactionalMBps: spread(results.txn),
    transactionalOverIdempotent: ratio(results.txn, results.idem),
    /** Transactional produce counting only the time between AddPartitionsToTxn and EndTxn. */
    produceTransactionalInsideTxnMBps: spread(producingOnly),
    commitsPerSec: Number((commits / commitSeconds).toFixed(1)),
    concurrentTransactionsRetries: retries,
    endTxnP50Ms: spread(endTxn),
    consumeReadUncommittedMBps: spread(results.uncommitted),
    consumeReadCommittedMBps: spread(results.committed),
    readCommittedOverUncommitted: ratio(results.committed, results.uncommitted),
  };
  const markdown = `# Transactions (${startedAt.toISOString()})

deno/pwrite/sendfile broker, default flush mode; one producer, one request in flight, each
request a ${RECORDS_PER_BATCH}-record batch of ${RECORD_VALUE_BYTES}-byte records to each of
${PARTITIONS} partitions; ${measureMs / 1000} s per workload, ${rounds} measured round(s) after a
warm-up, median (min–max).

| workload | MB/s |
| --- | --- |
| produce, idempotent | ${text(summary.produceIdempotentMBps)} |
| produce, transactional, commit every ${COMMIT_INTERVAL_MS} ms | ${
    text(summary.produceTransactionalMBps)
  } |
| (the same, inside transactions only) | ${text(summary.produceTransactionalInsideTxnMBps)} |
| consume, read_uncommitted | ${text(summary.consumeReadUncommittedMBps)} |
| consume, read_committed | ${text(summary.consumeReadCommittedMBps)} |

Transactional / idempotent produce: ${summary.transactionalOverIdempotent}; read_committed /
read_uncommitted: ${summary.readCommittedOverUncommitted}; ${summary.commitsPerSec} commits/s,
EndTxn p50 ${text(summary.endTxnP50Ms)} ms, ${summary.concurrentTransactionsRetries}
CONCURRENT_TRANSACTIONS retries.
`;
  const stamp = startedAt.toISOString().replace(/:/g, "-").slice(0, 19);
  await Deno.mkdir(flags.out!, { recursive: true });
  await Deno.writeTextFile(
    join(flags.out!, `${stamp}-transactions.json`),
    JSON.stringify({ flags, summary }, null, 1),
  );
  await Deno.writeTextFile(join(flags.out!, `${stamp}-transactions.md`), markdown);
  console.log(markdown);
} finally {
  await broker.stop();
  await Deno.remove(dataDir, { recursive: true });
}
