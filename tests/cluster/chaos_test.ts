/**
 * The chaos test (issue 13): a real etcd and three broker subprocesses,
 * replication links behind fault-injecting proxies, a topic with replication
 * factor 3 and `min.insync.replicas=2`, an idempotent acks=all producer and
 * a read_uncommitted consumer (confluent-kafka-python) running while each
 * fault takes one round: SIGKILL of a leader, SIGSTOP of a leader past its
 * session, a cut and a blackholed link, an etcd restart. The checker then
 * reads every replica's files: nothing acknowledged lost, duplicated or out
 * of order, no replica diverging below the high watermark, nothing a
 * consumer saw gone. Longer runs: `chaos_main.ts`.
 */
import { assert, assertEquals } from "../../util/assert.ts";
import { etcdInstalled } from "./etcd_server.ts";
import { FAULT_KINDS, formatReport, runChaos } from "./chaos_run.ts";
import { checkChaos, type ReplicaLog } from "./chaos_checker.ts";

function confluentInstalled(): boolean {
  try {
    const { code } = new Deno.Command("/usr/bin/python3", {
      args: ["-c", "import confluent_kafka"],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    return code === 0;
  } catch {
    return false;
  }
}

Deno.test({
  name: "chaos: every fault once; nothing acknowledged lost, duplicated, reordered or diverging",
  ignore: !etcdInstalled() || !confluentInstalled(),
  async fn() {
    const report = await runChaos({
      rounds: FAULT_KINDS.length,
      partitions: 3,
      sessionTimeoutMs: 3_000,
      ratePerS: 100,
      log: () => {},
    });
    const text = formatReport(report);
    const c = report.counts;
    assert(c.acknowledged > 0, `Nothing was acknowledged:\n${text}`);
    assert(c.seen > 0, `The consumer saw nothing:\n${text}`);
    assertEquals(
      { lost: c.lost, duplicated: c.duplicated, outOfOrder: c.outOfOrder },
      { lost: 0, duplicated: 0, outOfOrder: 0 },
      text,
    );
    assertEquals({ vanished: c.vanished, diverging: c.divergingReplicas }, {
      vanished: 0,
      diverging: 0,
    }, text);
    assertEquals(report.undelivered, 0, text);
    assertEquals(report.failoverMs.length, 1, text);
  },
});

function log(entries: [number, string][], bytes = [1, 2, 3]): ReplicaLog {
  return { bytes: new Uint8Array(bytes), values: new Map(entries) };
}

Deno.test("checkChaos() counts lost, duplicated, reordered, vanished and diverging records", () => {
  const leader = log([[0, "0:0"], [1, "0:2"], [2, "0:1"], [3, "0:2"]]);
  const counts = checkChaos({
    acknowledged: [
      { partition: 0, offset: 0, value: "0:0" },
      { partition: 0, offset: 5, value: "0:5" }, // lost: not at its offset
      { partition: 0, offset: -1, value: "0:1" }, // no offset, present
      { partition: 0, offset: -1, value: "0:9" }, // no offset, absent: lost
    ],
    seen: [{ partition: 0, offset: 4, value: "0:3" }], // vanished
    partitions: new Map([[0, {
      leader: 1,
      logs: new Map([[1, leader], [2, log([], [1, 2, 3])], [3, log([], [1, 2, 4])]]),
    }]]),
  });
  assertEquals(
    {
      lost: counts.lost,
      duplicated: counts.duplicated,
      outOfOrder: counts.outOfOrder,
      vanished: counts.vanished,
      diverging: counts.divergingReplicas,
      withoutOffset: counts.acknowledgedWithoutOffset,
    },
    { lost: 2, duplicated: 1, outOfOrder: 2, vanished: 1, diverging: 1, withoutOffset: 2 },
  );
});
