/**
 * The child of `txn_crash_test.ts`: writes transactions (data, then COMMIT or
 * ABORT markers, one left open) to a real partition directory through the
 * real libc, prints what its transaction indexes and LSO are, and waits to be
 * SIGKILLed. Runs under Deno or Bun (`process.argv`, not `Deno.args`).
 *
 * @module
 */
import process from "node:process";
import { loadLibc } from "../../ffi/load.ts";
import { encodeControlBatch } from "../../protocol/control_batch.ts";
import { encodeRecordBatch } from "../../protocol/records.ts";
import { PartitionLog } from "../../storage/partition_log.ts";

const dir = process.argv[2];
const log = PartitionLog.open(loadLibc(), dir, { segmentBytes: 600 });
const sequences = new Map<number, number>();

function produce(producerId: number, value: string): void {
  const sequence = sequences.get(producerId) ?? 0;
  sequences.set(producerId, sequence + 1);
  const bytes = encodeRecordBatch(
    [{ key: null, value: new TextEncoder().encode(value), timestampMs: Date.now() }],
    { producerId, producerEpoch: 0, baseSequence: sequence, isTransactional: true },
  );
  const verificationGuard = log.producerState.startVerification(producerId);
  const result = log.append(bytes, { nowMs: Date.now(), verificationGuard });
  if (!result.ok) throw new Error(`Produce failed: ${result.message}`);
}

function end(producerId: number, committed: boolean): void {
  const marker = encodeControlBatch(
    { producerId, producerEpoch: 0, coordinatorEpoch: 0, committed },
    Date.now(),
  );
  const result = log.append(marker, { nowMs: Date.now(), origin: "coordinator" });
  if (!result.ok) throw new Error(`Marker failed: ${result.message}`);
}

for (let round = 0; round < 12; round++) {
  // Two producers interleaved, so aborted ranges overlap other producers' data.
  produce(1, `a${round}`);
  produce(2, `b${round}`);
  produce(1, `a${round}'`);
  end(1, round % 2 === 0);
  end(2, round % 3 !== 0);
}
produce(3, "open"); // still open at the kill
console.log(JSON.stringify({
  txnIndexes: log.segments.map((s) => s.txnIndex.entries),
  lastStableOffset: log.lastStableOffset,
  logEndOffset: log.logEndOffset,
  activeTxnIndexPath: log.segments[log.segments.length - 1].txnIndex.path,
}));
// Stay alive until SIGKILL: a timer keeps the event loop busy (a promise that never
// resolves would let Deno exit with "Top-level await promise never resolved").
setInterval(() => {}, 1 << 30);
