import { assertEquals } from "../../util/assert.ts";
import { memoryLibc } from "../../ffi/memory.ts";
import type { StoredTxn } from "./txn_records.ts";
import { TXN_LOG_DIR_NAME, TxnStateLog } from "./txn_state_log.ts";

function txn(epoch: number): StoredTxn {
  return {
    producerId: 7,
    producerEpoch: epoch,
    transactionTimeoutMs: 60_000,
    state: epoch % 2 === 0 ? "Empty" : "CompleteCommit",
    partitions: [],
    lastUpdateTimestampMs: 1000 + epoch,
    startTimestampMs: -1,
  };
}

Deno.test("TxnStateLog keeps each id in its partition, replays the last state, drops tombstones", () => {
  const libc = memoryLibc({ seed: 1 });
  libc.mkdirp("/data");
  let { log } = TxnStateLog.open(libc, "/data", { partitionCount: 50 });
  log.write("a", txn(0), 1);
  log.write("a", txn(3), 2);
  log.write("b", txn(1), 3);
  log.write("b", null, 4);
  log.close();
  const reopened = TxnStateLog.open(libc, "/data", { partitionCount: 50 });
  log = reopened.log;
  try {
    assertEquals([...reopened.loaded.entries()], [["a", txn(3)]]);
    const dirs = libc.readdir(`/data/${TXN_LOG_DIR_NAME}`).map((e) => e.name).sort();
    assertEquals(dirs, [String(log.partitionFor("a")), String(log.partitionFor("b"))].sort());
  } finally {
    log.close();
  }
});

Deno.test("TxnStateLog rewrites a partition from the live state once it has grown", () => {
  const libc = memoryLibc({ seed: 2 });
  libc.mkdirp("/data");
  const { log } = TxnStateLog.open(libc, "/data", { partitionCount: 1, compactMinBytes: 4096 });
  let live = txn(0);
  for (let epoch = 0; epoch < 200; epoch++) {
    live = txn(epoch);
    log.write("a", live, epoch);
    log.maybeCompact("a", epoch, () => [["a", live]]);
  }
  const sizeBytes = log.sizeBytes;
  log.close();
  assertEquals(sizeBytes < 8192, true, `log kept ${sizeBytes} bytes`);
  const current = new TextDecoder().decode(libc.readFile(`/data/${TXN_LOG_DIR_NAME}/0/CURRENT`));
  assertEquals(Number(current) > 0, true);
  const reopened = TxnStateLog.open(libc, "/data", { partitionCount: 1 });
  try {
    assertEquals(reopened.loaded.get("a"), txn(199));
  } finally {
    reopened.log.close();
  }
});
