/**
 * Transactions across a broker crash (issue 14): the broker PROCESS
 * (`deno run main.ts`, or `bun run main.ts` under `DENKA_TEST_RUNTIME=bun`) is SIGKILLed with transactions stopped at every
 * stage (after AddPartitionsToTxn, after their produce, after EndTxn commit
 * and abort whose markers may not be written yet, and with an EndTxn still
 * in flight), then restarted. `__transaction_state` is replayed: prepared
 * transactions get their markers, open ones are aborted when their
 * transaction.timeout.ms has passed. read_committed then shows every
 * committed transaction whole and nothing of the aborted or timed-out ones,
 * while read_uncommitted shows those were written.
 */
import { ErrorCode } from "../../protocol/error_codes.ts";
import { endTxnApi, listTransactionsApi } from "../../protocol/messages/mod.ts";
import { assert } from "../../util/assert.ts";
import { makeDataDir, tail, topicName } from "./harness.ts";
import { RawConnection } from "./raw_client.ts";
import { TEST_RUNTIME } from "./bun_broker.ts";
import {
  addPartition,
  createTopics,
  endTxn,
  initTxnProducer,
  readValues,
  txnProduce,
} from "./txn_raw.ts";

const MAIN_PATH = new URL("../../main.ts", import.meta.url).pathname;
const BUN_PATH = new URL("../../node_modules/.bin/bun", import.meta.url).pathname;
const START_TIMEOUT_MS = 30_000;
/** How long the restarted coordinator may take to settle every transaction. */
const SETTLE_TIMEOUT_MS = 20_000;
/** transaction.timeout.ms of the transactions left open by the crash. */
const OPEN_TXN_TIMEOUT_MS = 1000;

async function startBrokerProcess(dataDir: string, port: number): Promise<Deno.ChildProcess> {
  // DENKA_TEST_RUNTIME=bun: the same crash and replay, with the broker under Bun.
  const [command, runArgs] = TEST_RUNTIME === "bun"
    ? [BUN_PATH, ["run", MAIN_PATH]]
    : [Deno.execPath(), ["run", "--allow-all", MAIN_PATH]];
  const child = new Deno.Command(command, {
    args: [
      ...runArgs,
      "--listen",
      `127.0.0.1:${port}`,
      "--data-dir",
      dataDir,
      "--http",
      "off",
      "--log-level",
      "info",
      "--transaction-abort-timed-out-transaction-cleanup-interval-ms",
      "100",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let text = "";
  const started = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, START_TIMEOUT_MS);
    void (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        text += chunk;
        if (text.includes("Denka listening")) {
          clearTimeout(timer);
          resolve();
        }
      }
    })();
  });
  await started;
  assert.ok(text.includes("Denka listening"), `The broker did not start:\n${tail(text)}`);
  assert.ok(text.includes(`(${TEST_RUNTIME} `), `Not a ${TEST_RUNTIME} broker:\n${tail(text)}`);
  return child;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Polls ListTransactions (no event crosses the process boundary) until none is open. */
async function settle(c: RawConnection): Promise<void> {
  const deadlineMs = Date.now() + SETTLE_TIMEOUT_MS;
  while (true) {
    const open = await c.request(listTransactionsApi, 0, {
      stateFilters: ["Ongoing", "PrepareCommit", "PrepareAbort", "PrepareEpochFence"],
      producerIdFilters: [],
      durationFilter: -1,
    });
    if (open.transactionStates.length === 0) return;
    assert.ok(Date.now() < deadlineMs, `Still open: ${JSON.stringify(open.transactionStates)}`);
    await new Promise((resolve) => setTimeout(resolve, 50)); // a poll interval, not a synchronisation
  }
}

Deno.test("transactions survive a SIGKILL at every stage: committed whole, aborted and timed-out never", async () => {
  const dataDir = await makeDataDir();
  const port = freePort();
  const bootstrap = `127.0.0.1:${port}`;
  const base = topicName("txcrash");
  const topic = (stage: string) => `${base}-${stage}`;
  const stages = ["added", "produced", "committed", "aborted", "ending"];
  let broker = await startBrokerProcess(dataDir, port);
  try {
    const c = await RawConnection.connect(bootstrap);
    await createTopics(c, stages.map(topic));
    const producers = new Map<string, Awaited<ReturnType<typeof initTxnProducer>>>();
    for (const stage of stages) {
      const p = await initTxnProducer(c, `crash-${stage}`, OPEN_TXN_TIMEOUT_MS);
      producers.set(stage, p);
      assert.equal(await addPartition(c, p, topic(stage)), ErrorCode.NONE);
      if (stage === "added") continue;
      assert.equal(
        await txnProduce(c, p, topic(stage), [`${stage}-0`, `${stage}-1`]),
        ErrorCode.NONE,
      );
    }
    assert.equal(await endTxn(c, producers.get("committed")!, true), ErrorCode.NONE);
    assert.equal(await endTxn(c, producers.get("aborted")!, false), ErrorCode.NONE);
    const ending = producers.get("ending")!;
    const inFlight = c.request(endTxnApi, 3, { ...ending, committed: true }).catch(() => undefined);
    broker.kill("SIGKILL");
    await broker.status;
    await inFlight;
    c.close();

    broker = await startBrokerProcess(dataDir, port);
    const r = await RawConnection.connect(bootstrap);
    try {
      await settle(r);
      const committed = (stage: string) => readValues(r, topic(stage), "read_committed");
      const everything = (stage: string) => readValues(r, topic(stage), "read_uncommitted");
      assert.deepEqual(await committed("committed"), ["committed-0", "committed-1"]);
      for (const stage of ["added", "produced", "aborted"]) {
        assert.deepEqual(await committed(stage), [], stage);
      }
      assert.deepEqual(await everything("produced"), ["produced-0", "produced-1"]);
      assert.deepEqual(await everything("aborted"), ["aborted-0", "aborted-1"]);
      // The EndTxn cut off by the kill either took effect (all) or did not (none, timed out).
      const endingRead = await committed("ending");
      assert.ok(
        endingRead.length === 0 || endingRead.join() === "ending-0,ending-1",
        `torn transaction: ${endingRead}`,
      );
      // The replayed state goes on: the next InitProducerId bumps the stored epoch.
      const again = await initTxnProducer(r, "crash-committed");
      assert.equal(again.producerId, producers.get("committed")!.producerId);
      assert.equal(again.producerEpoch, producers.get("committed")!.producerEpoch + 1);
    } finally {
      r.close();
    }
  } finally {
    broker.kill("SIGTERM");
    await broker.status;
    await Deno.remove(dataDir, { recursive: true });
  }
});
