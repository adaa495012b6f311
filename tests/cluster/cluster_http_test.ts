/**
 * The HTTP API's view of a cluster (Confluent v3 brokers and replicas, the
 * partitions' leader, replicas and ISR) on three in-process brokers and a real
 * etcd, asked of a broker that is not a replica of every partition; and the
 * same routes on one node without etcd.
 */
import { assert, assertEquals } from "../../util/assert.ts";
import { startBroker } from "../../mod.ts";
import { etcdInstalled } from "./etcd_server.ts";
import { WAIT_MS, waitFor, withThreeBrokers } from "./three_brokers.ts";

interface Replica {
  broker_id: number;
  is_leader: boolean;
  is_in_sync: boolean;
  topic_name: string;
  partition_id: number;
}

async function getJson(url: string, status = 200): Promise<Record<string, unknown>> {
  const res = await fetch(url, { headers: { accept: "application/json" } });
  const body = await res.json();
  assertEquals(res.status, status, `GET ${url}: ${JSON.stringify(body)}`);
  return body;
}

function byBroker(list: Record<string, unknown>): Replica[] {
  return (list.data as Replica[]).slice().sort((a, b) => a.broker_id - b.broker_id);
}

Deno.test({
  name: "HTTP v3 brokers, replicas and partitions show a 3-broker cluster's leaders and ISR",
  ignore: !etcdInstalled(),
  async fn() {
    const options = (nodeId: number) => ({
      replicaFetchBackoffMs: 50,
      http: nodeId === 3 ? { port: 0 } : false as const,
    });
    await withThreeBrokers("denka-chttp", options, async (brokers) => {
      const asked = brokers[2];
      const cache = asked.cluster!.cache;
      await waitFor(asked, () => cache.brokers.size === 3, "3 brokers");
      const spread = await asked.cluster!.admin.createTopic("spread", {
        partitions: 2,
        replicationFactor: 2,
        assignment: [[1, 2], [2, 3]],
        configs: {},
      }, WAIT_MS);
      assertEquals(spread, undefined);
      const solo = await asked.cluster!.admin.createTopic("solo", {
        partitions: 1,
        replicationFactor: 1,
        assignment: [[1]],
        configs: {},
      }, WAIT_MS);
      assertEquals(solo, undefined);
      await waitFor(
        asked,
        () =>
          cache.topicPartitions("spread").length === 2 &&
          cache.topicPartitions("spread").every((s) => s.isr.length === 2) &&
          cache.partitionState("solo", 0)?.leader === 1,
        "spread and solo led, ISR full",
      );

      const base = `${asked.httpUrl}/v3/clusters/denka-cluster`;
      const list = await getJson(`${base}/brokers`);
      assertEquals(list.kind, "KafkaBrokerList");
      const data = list.data as { broker_id: number; host: string; port: number }[];
      assertEquals(data.map((b) => b.broker_id), [1, 2, 3]);
      for (const [i, b] of data.entries()) {
        assertEquals(`${b.host}:${b.port}`, brokers[i].bootstrap);
      }
      const two = await getJson(`${base}/brokers/2`);
      assertEquals([two.kind, two.broker_id, two.rack], ["KafkaBroker", 2, null]);
      await getJson(`${base}/brokers/9`, 404);

      // Broker 1 holds spread-0 and solo-0 (a topic broker 3, which answers, has no replica of).
      const held = byBroker(await getJson(`${base}/brokers/1/partition-replicas`));
      assertEquals(
        held.map((r) => `${r.topic_name}-${r.partition_id}:${r.is_leader}`).sort(),
        ["solo-0:true", "spread-0:true"],
      );
      const soloReplicas = byBroker(await getJson(`${base}/topics/solo/partitions/0/replicas`));
      assertEquals(soloReplicas.map((r) => [r.broker_id, r.is_leader, r.is_in_sync]), [
        [1, true, true],
      ]);

      const replicas = byBroker(await getJson(`${base}/topics/spread/partitions/1/replicas`));
      assertEquals(replicas.map((r) => [r.broker_id, r.is_leader, r.is_in_sync]), [
        [2, true, true],
        [3, false, true],
      ]);
      const one = await getJson(`${base}/topics/spread/partitions/1/replicas/3`);
      assertEquals([one.kind, one.is_leader], ["KafkaReplica", false]);
      await getJson(`${base}/topics/spread/partitions/1/replicas/1`, 404);
      await getJson(`${base}/topics/spread/partitions/7/replicas`, 404);
      await getJson(`${base}/topics/nope/partitions/0/replicas`, 404);

      // The partition as the v3 partitions route shows it on a broker that holds it.
      const p1 = await getJson(`${base}/topics/spread/partitions/1`);
      assertEquals([p1.leader_id, p1.replica_ids, p1.isr_ids], [2, [2, 3], [2, 3]]);
      assert(
        (p1.leader as { related: string }).related.endsWith("/partitions/1/replicas/2"),
        JSON.stringify(p1.leader),
      );
      assertEquals((await getJson(`${base}/topics/spread`)).replication_factor, 2);

      // Broker 2 stops: broker 3 leads spread-1 alone, and the API says so.
      const stopped = brokers[1];
      await stopped.close();
      brokers.splice(1, 1);
      await waitFor(
        asked,
        () => cache.brokers.size === 2 && cache.partitionState("spread", 1)?.leader === 3,
        "broker 3 leading spread-1",
      );
      assertEquals(
        ((await getJson(`${base}/brokers`)).data as { broker_id: number }[]).map((b) =>
          b.broker_id
        ),
        [1, 3],
      );
      const after = byBroker(await getJson(`${base}/topics/spread/partitions/1/replicas`));
      assertEquals(after.map((r) => [r.broker_id, r.is_leader, r.is_in_sync]), [
        [2, false, false],
        [3, true, true],
      ]);
      const p1After = await getJson(`${base}/topics/spread/partitions/1`);
      assertEquals([p1After.leader_id, p1After.isr_ids], [3, [3]]);

      // A reassignment under way (written as the controller would: replica 2 being added back,
      // which cannot catch up while it is down) shows in Confluent's reassignment routes.
      assertEquals((await getJson(`${base}/topics/-/partitions/-/reassignment`)).data, []);
      const ongoing = { targetReplicas: [2, 3], originalReplicas: [3] };
      const put = await asked.cluster!.coordinator.put(
        "admin/reassignments/spread/1",
        new TextEncoder().encode(JSON.stringify(ongoing)),
      );
      assert(await cache.caughtUpTo(put.revision, WAIT_MS), "the cache saw the reassignment");
      const all = await getJson(`${base}/topics/-/partitions/-/reassignment`);
      assertEquals(all.kind, "KafkaReassignmentList");
      const [moving] = all.data as Record<string, unknown>[];
      assertEquals(
        [moving.kind, moving.topic_name, moving.partition_id],
        ["KafkaReassignment", "spread", 1],
      );
      assertEquals([moving.adding_replicas, moving.removing_replicas], [[2], []]);
      const ofTopic = await getJson(`${base}/topics/spread/partitions/-/reassignment`);
      assertEquals((ofTopic.data as unknown[]).length, 1);
      const one1 = await getJson(`${base}/topics/spread/partitions/1/reassignment`);
      assertEquals(one1.adding_replicas, [2]);
      await getJson(`${base}/topics/spread/partitions/0/reassignment`, 404);
      await getJson(`${base}/topics/nope/partitions/-/reassignment`, 404);
    });
  },
});

Deno.test("HTTP v3 brokers and replicas on one node: the broker leads every partition", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "denka-chttp-single-" });
  const broker = await startBroker({ port: 0, dataDir, http: { port: 0 }, partitions: 2 });
  try {
    const base = `${broker.httpUrl}/v3/clusters/denka-cluster`;
    const created = await fetch(`${base}/topics`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ topic_name: "one", partitions_count: 2 }),
    });
    assertEquals(created.status, 201);
    await created.body?.cancel();
    const list = await getJson(`${base}/brokers`);
    assertEquals((list.data as { broker_id: number }[]).map((b) => b.broker_id), [0]);
    const replicas = byBroker(await getJson(`${base}/topics/one/partitions/1/replicas`));
    assertEquals(replicas.map((r) => [r.broker_id, r.is_leader, r.is_in_sync]), [[0, true, true]]);
    const held = byBroker(await getJson(`${base}/brokers/0/partition-replicas`));
    assertEquals(held.map((r) => `${r.topic_name}-${r.partition_id}`), ["one-0", "one-1"]);
    const p = await getJson(`${base}/topics/one/partitions/0`);
    assertEquals([p.leader_id, p.replica_ids, p.isr_ids], [0, [0], [0]]);
    assertEquals((await getJson(`${base}/topics/-/partitions/-/reassignment`)).data, []);
  } finally {
    await broker.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
