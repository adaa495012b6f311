/**
 * Transactions survive a process kill: a child process writes transactions
 * to a real partition directory and is SIGKILLed; reopening the directory
 * runs crash recovery, which must rebuild the same `.txnindex` entries and
 * last stable offset, also when the active segment's `.txnindex` never
 * reached the disk (deleted here before the reopen). Under
 * `DENKA_TEST_RUNTIME=bun` the writer runs under Bun.
 *
 * @module
 */
import { assert } from "../../util/assert.ts";
import { loadLibc } from "../../ffi/load.ts";
import { PartitionLog } from "../../storage/partition_log.ts";
import { makeDataDir } from "./harness.ts";
import { TEST_RUNTIME } from "./bun_broker.ts";

const CHILD_PATH = new URL("./txn_crash_child.ts", import.meta.url).pathname;
const BUN_PATH = new URL("../../node_modules/.bin/bun", import.meta.url).pathname;

Deno.test("A SIGKILLed writer's transactions are recovered: txnindex and LSO rebuilt", async () => {
  const dataDir = await makeDataDir();
  const dir = `${dataDir}/t-0`;
  try {
    // DENKA_TEST_RUNTIME=bun: the writer runs under Bun; Deno recovers what it left.
    const [command, args] = TEST_RUNTIME === "bun"
      ? [BUN_PATH, ["run", CHILD_PATH, dir]]
      : [Deno.execPath(), ["run", "--allow-all", CHILD_PATH, dir]];
    const child = new Deno.Command(command, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    let text = "";
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    child.kill("SIGKILL");
    const status = await child.status;
    await reader.cancel();
    assert.equal(status.signal, "SIGKILL");
    const expected = JSON.parse(text) as {
      txnIndexes: unknown[];
      lastStableOffset: number;
      logEndOffset: number;
      activeTxnIndexPath: string;
    };
    assert.ok(expected.txnIndexes.length > 2, "the child wrote several segments");
    assert.ok(expected.lastStableOffset < expected.logEndOffset, "one transaction is open");
    const active = expected.txnIndexes[expected.txnIndexes.length - 1] as unknown[];
    assert.ok(active.length > 0, "the active segment indexes an abort");
    await Deno.remove(expected.activeTxnIndexPath).catch(() => {});
    const log = PartitionLog.open(loadLibc(), dir, { segmentBytes: 600 });
    try {
      assert.equal(log.loadStats.clean, false);
      assert.equal(log.logEndOffset, expected.logEndOffset);
      assert.deepEqual(log.segments.map((s) => s.txnIndex.entries), expected.txnIndexes);
      assert.equal(log.lastStableOffset, expected.lastStableOffset);
    } finally {
      log.close();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
