/**
 * confluent-kafka-python (librdkafka) transactions (issue 14):
 * `init_transactions`, `send_offsets_to_transaction`, `commit_transaction`
 * and `abort_transaction`, read back by confluent's and kcat's read_committed
 * consumers; and a consume-transform-produce loop that dies abruptly
 * (`os._exit`, mid-transaction) and is restarted until its input is done:
 * every input record is in the output exactly once, counted by a
 * read_committed reader.
 */
import { assert } from "../../util/assert.ts";
import { kcatConsume, kcatProduce } from "./kcat.ts";
import { runPython, SubprocessError, type TestBroker, topicName, withBroker } from "./harness.ts";
import { createTopicsApi } from "../../protocol/messages/mod.ts";
import { withConnection } from "./raw_client.ts";
import { readTransactionCounters } from "./bun_transactions.ts";

/** The exit code of the loop's `os._exit` (tests/interop/py/confluent_transactions.py). */
const DIED_EXIT_CODE = 9;

async function createTopics(t: TestBroker, names: string[]): Promise<void> {
  await withConnection(t.bootstrap, async (c) => {
    await c.request(createTopicsApi, 5, {
      topics: names.map((name) => ({
        name,
        numPartitions: 1,
        replicationFactor: 1,
        assignments: [],
        configs: [],
      })),
      timeoutMs: 5000,
      validateOnly: false,
    });
  });
}

async function confluentRead(t: TestBroker, topic: string, isolation: string): Promise<string[]> {
  const read = await runPython<{ messages: { value: string }[]; errors: unknown[] }>(
    "confluent_consume.py",
    {
      bootstrap: t.bootstrap,
      topic,
      count: 100_000,
      stop_at_eof: true,
      config: { "isolation.level": isolation },
    },
  );
  assert.deepEqual(read.errors, []);
  return read.messages.map((m) => m.value);
}

Deno.test("confluent-kafka-python transactions: commit, abort, send_offsets_to_transaction", async () => {
  await withBroker({}, async (t) => {
    const topic = topicName("py-txn");
    const input = `${topic}-in`;
    await createTopics(t, [topic, input]);
    const out = await runPython<{ committed_after_commit: number; committed_after_abort: number }>(
      "confluent_transactions.py",
      {
        bootstrap: t.bootstrap,
        op: "produce_txns",
        topic,
        input_topic: input,
        group: "py-txn-group",
        transactional_id: "py-txn",
      },
    );
    assert.deepEqual(out, { committed_after_commit: 7, committed_after_abort: 7 });
    await t.broker.transactions.idle();
    const committed = ["c1-0", "c1-1", "c1-2", "c1-3", "c1-4", "c2-0", "c2-1"];
    assert.deepEqual(await confluentRead(t, topic, "read_committed"), committed);
    const all = await confluentRead(t, topic, "read_uncommitted");
    assert.deepEqual(all, [
      "c1-0",
      "c1-1",
      "c1-2",
      "c1-3",
      "c1-4",
      "a-0",
      "a-1",
      "a-2",
      "c2-0",
      "c2-1",
    ]);
    const kcat = await kcatConsume(t.bootstrap, {
      topic,
      config: { "isolation.level": "read_committed" },
    });
    assert.deepEqual(kcat.map((m) => m.value), committed);
    const counters = await readTransactionCounters(t.broker);
    assert.deepEqual(
      [counters.commits, counters.aborts],
      [2, 1],
    );
  });
});

Deno.test("a consume-transform-produce loop killed mid-transaction and restarted yields every input once", async () => {
  await withBroker({}, async (t) => {
    const input = topicName("ctp-in");
    const output = `${input}-out`;
    await createTopics(t, [input, output]);
    const count = 120;
    await kcatProduce(
      t.bootstrap,
      Array.from({ length: count }, (_, i) => ({ key: null, value: `in-${i}` })),
      { topic: input },
    );
    const spec = {
      bootstrap: t.bootstrap,
      op: "ctp",
      input,
      output,
      group: "ctp-group",
      transactional_id: "ctp",
      batch: 15,
    };
    // Each crash leaves an open transaction with output written (and, the second time,
    // offsets sent); the next run's init_transactions aborts it and fences the dead producer.
    for (const [die, after] of [["after_produce", 1], ["after_offsets", 1], ["after_produce", 0]]) {
      const exit = await runPython("confluent_transactions.py", {
        ...spec,
        die,
        die_after_txns: after,
      })
        .then(() => 0, (e) => e instanceof SubprocessError ? e.result?.code : e);
      assert.equal(exit, DIED_EXIT_CODE, `the loop was to die ${die}`);
    }
    const finished = await runPython<{ transactions: number }>("confluent_transactions.py", spec);
    assert.ok(finished.transactions > 0);
    await t.broker.transactions.idle();
    const values = await confluentRead(t, output, "read_committed");
    assert.equal(values.length, count, "records in the committed output");
    assert.deepEqual(
      new Set(values),
      new Set(Array.from({ length: count }, (_, i) => `out-${i}`)),
    );
    const everything = await confluentRead(t, output, "read_uncommitted");
    assert.ok(everything.length > count, "the dead loops' aborted output is in the log");
  });
});
