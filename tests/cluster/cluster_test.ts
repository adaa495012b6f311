/**
 * Three in-process brokers and a real etcd (Debian's `etcd-server`), on
 * loopback: a topic with replication factor 3 created through the kafkajs
 * admin client, Metadata and DescribeCluster from any broker, a broker that
 * leaves (its lease revoked) replaced as leader with a bumped epoch, and the
 * controller stopped so that another takes over with a larger epoch.
 */
import { Kafka, logLevel } from "kafkajs";
import { assert, assertEquals } from "../../util/assert.ts";
import { type BrokerHandle, startBroker } from "../../mod.ts";
import { etcdInstalled, startEtcd } from "./etcd_server.ts";
import { withConnection } from "../interop/raw_client.ts";
import {
  createTopicsApi,
  describeConfigsApi,
  electLeadersApi,
  metadataApi,
} from "../../protocol/messages/mod.ts";
import { ZERO_UUID } from "../../protocol/primitives.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";

/** The registration lease: short, so a broker that dies is noticed quickly. */
const SESSION_MS = 2_000;
/** Bound of every wait on the cluster (a loaded CI box). */
const WAIT_MS = 20_000;

function admin(bootstrap: string) {
  return new Kafka({
    clientId: "denka-cluster-test",
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 1000 },
  }).admin();
}

async function waitFor(broker: BrokerHandle, predicate: () => boolean, what: string) {
  const ok = await broker.cluster!.cache.waitFor(predicate, WAIT_MS);
  assert(ok, `Timed out after ${WAIT_MS} ms waiting for ${what}`);
}

Deno.test({
  name:
    "cluster: RF 3 topic, Metadata from every broker, failover of a leader and of the controller",
  ignore: !etcdInstalled(),
  async fn() {
    const etcd = await startEtcd();
    const dirs: string[] = [];
    const brokers: BrokerHandle[] = [];
    try {
      for (let nodeId = 1; nodeId <= 3; nodeId++) {
        const dataDir = await Deno.makeTempDir({ prefix: `denka-cluster-${nodeId}-` });
        dirs.push(dataDir);
        brokers.push(
          await startBroker({
            port: 0,
            dataDir,
            nodeId,
            etcd: [etcd.clientUrl],
            brokerSessionTimeoutMs: SESSION_MS,
            autoLeaderRebalance: false,
            http: nodeId === 1 ? { port: 0 } : false,
          }),
        );
      }
      for (const b of brokers) {
        await waitFor(b, () => b.cluster!.cache.brokers.size === 3, "3 brokers");
      }
      await waitFor(
        brokers[0],
        () => brokers[0].cluster!.cache.controller !== undefined,
        "controller",
      );

      const a = admin(brokers[1].bootstrap);
      await a.connect();
      try {
        assertEquals(
          await a.createTopics({
            topics: [{ topic: "rf3", numPartitions: 3, replicationFactor: 3 }],
          }),
          true,
        );
        const cluster = await a.describeCluster();
        assertEquals(cluster.brokers.map((b) => b.nodeId).sort(), [1, 2, 3]);
        assertEquals(cluster.controller, brokers[0].cluster!.cache.controller!.nodeId);
        // Too few brokers for the factor asked.
        let refused: unknown;
        await a.createTopics({ topics: [{ topic: "rf4", replicationFactor: 4 }] })
          .catch((e) => refused = e);
        const errors = (refused as { errors?: { type: string }[] }).errors ?? [];
        assertEquals(errors.map((e) => e.type), ["INVALID_REPLICATION_FACTOR"]);
      } finally {
        await a.disconnect();
      }

      // Every broker answers Metadata with all brokers, and each partition's replicas, leader, ISR.
      for (const b of brokers) {
        await waitFor(b, () => b.cluster!.cache.topicPartitions("rf3").length === 3, "rf3 seen");
        const c = admin(b.bootstrap);
        await c.connect();
        try {
          const [topic] = (await c.fetchTopicMetadata({ topics: ["rf3"] })).topics;
          assertEquals(topic.partitions.length, 3);
          for (const p of topic.partitions) {
            assertEquals([...p.replicas].sort(), [1, 2, 3]);
            assertEquals([...p.isr].sort(), [1, 2, 3]);
            assertEquals(p.leader, p.replicas[0]);
            assertEquals(p.offlineReplicas, []);
          }
          assertEquals(new Set(topic.partitions.map((p) => p.leader)).size, 3);
        } finally {
          await c.disconnect();
        }
      }

      // The cluster's state in /metrics.
      const metrics = await (await fetch(`${brokers[0].httpUrl}/metrics`)).text();
      const metric = (name: string) =>
        Number(new RegExp(`^${name} (\\S+)$`, "m").exec(metrics)?.[1]);
      assertEquals(metric("denka_cluster_brokers"), 3);
      assertEquals(metric("denka_offline_partitions"), 0);
      assertEquals(metric("denka_under_replicated_partitions"), 0);
      assertEquals(metric("denka_controller_active"), brokers[0].cluster!.controller ? 1 : 0);
      assertEquals(metric("denka_controller_epoch"), brokers[0].cluster!.cache.controller!.epoch);

      // The same view through the HTTP API.
      const view = await (await fetch(`${brokers[0].httpUrl}/denka/v1/cluster`)).json();
      assertEquals(view.mode, "cluster");
      assertEquals(view.brokers.map((b: { node_id: number }) => b.node_id), [1, 2, 3]);
      assertEquals(view.controller.epoch, brokers[0].cluster!.cache.controller!.epoch);
      const rf3 = view.topics.find((t: { name: string }) => t.name === "rf3");
      assertEquals(rf3.partitions.length, 3);
      for (const p of rf3.partitions) {
        assertEquals(p.replicas.length, 3);
        assertEquals(p.leader, p.replicas[0]);
      }

      // The controller stops (it resigns and its lease is revoked): another takes over with a
      // larger epoch, and the partitions it led get new leaders with bumped epochs.
      const watcher = brokers.find((b) => b.cluster!.controller === undefined)!;
      const cache = watcher.cluster!.cache;
      const old = cache.controller!;
      const stopped = brokers.find((b) => b.config.nodeId === old.nodeId)!;
      const before = cache.topicPartitions("rf3");
      const solo = await watcher.cluster!.admin.createTopic("solo", {
        partitions: 1,
        replicationFactor: 1,
        assignment: [[old.nodeId]],
        configs: {},
      }, WAIT_MS);
      assertEquals(solo, undefined);
      await stopped.close();
      brokers.splice(brokers.indexOf(stopped), 1);
      await waitFor(
        watcher,
        () => cache.controller !== undefined && cache.controller.nodeId !== old.nodeId,
        "a new controller",
      );
      assert(cache.controller!.epoch > old.epoch);
      await waitFor(
        watcher,
        () =>
          cache.topicPartitions("rf3").every((s) => s.leader !== old.nodeId && s.isr.length === 2),
        "new leaders",
      );
      for (const [i, s] of cache.topicPartitions("rf3").entries()) {
        const was = before[i];
        assertEquals(
          s.leaderEpoch,
          was.leader === old.nodeId ? was.leaderEpoch + 1 : was.leaderEpoch,
        );
        assert(!s.isr.includes(old.nodeId));
      }
      // Without its only replica, "solo" has no leader: LEADER_NOT_AVAILABLE, leader -1.
      await waitFor(
        watcher,
        () => cache.partitionState("solo", 0)?.leader === -1,
        "solo offline",
      );
      const leaderless = await withConnection(
        watcher.bootstrap,
        (raw) =>
          raw.request(metadataApi, 12, {
            topics: [{ topicId: ZERO_UUID, name: "solo" }],
            allowAutoTopicCreation: false,
            includeClusterAuthorizedOperations: false,
            includeTopicAuthorizedOperations: false,
          }),
      );
      const [p0] = leaderless.topics[0].partitions;
      assertEquals(p0.errorCode, ErrorCode.LEADER_NOT_AVAILABLE);
      assertEquals(p0.leaderId, -1);
      assertEquals(p0.replicaNodes, [old.nodeId]);
      assertEquals(p0.offlineReplicas, [old.nodeId]);
      // kafkajs refreshes the metadata of every topic it knows: take the leaderless one away.
      assertEquals(await watcher.cluster!.admin.deleteTopic("solo", WAIT_MS), undefined);
      const c = admin(watcher.bootstrap);
      await c.connect();
      try {
        const [topic] = (await c.fetchTopicMetadata({ topics: ["rf3"] })).topics;
        for (const p of topic.partitions) {
          assert(p.leader !== old.nodeId);
          assertEquals(p.offlineReplicas, [old.nodeId]);
        }
        // Topic deletion across brokers: every remaining broker drops the topic.
        await c.deleteTopics({ topics: ["rf3"] });
      } finally {
        await c.disconnect();
      }
      for (const b of brokers) {
        await waitFor(b, () => !b.cluster!.cache.topics.has("rf3"), "deleted");
      }
    } finally {
      for (const b of brokers) await b.close();
      await etcd.close();
      for (const dir of dirs) await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "cluster: a broker waits for etcd, a duplicate id is refused, ElectLeaders moves a leader back, CreatePartitions across brokers",
  ignore: !etcdInstalled(),
  async fn() {
    const etcd = await startEtcd();
    const dirs: string[] = [];
    const brokers = new Map<number, BrokerHandle>();
    const start = async (nodeId: number, dataDir?: string) => {
      const dir = dataDir ?? await Deno.makeTempDir({ prefix: `denka-cluster-${nodeId}-` });
      if (dataDir === undefined) dirs.push(dir);
      return await startBroker({
        port: 0,
        dataDir: dir,
        nodeId,
        etcd: [etcd.clientUrl],
        brokerSessionTimeoutMs: SESSION_MS,
        autoLeaderRebalance: false,
      });
    };
    try {
      // etcd is down: broker 1 waits for it (with logged backoff) instead of failing.
      await etcd.stop();
      let started = false;
      const first = start(1).then((b) => (started = true, b));
      await etcd.restart();
      assert(!started);
      brokers.set(1, await first);
      brokers.set(2, await start(2));
      brokers.set(3, await start(3));
      let refused: unknown;
      await start(2).catch((e) => refused = e);
      assert(refused instanceof Error && /Broker id 2 is already registered/.test(refused.message));

      const b3 = brokers.get(3)!;
      const cache = b3.cluster!.cache;
      await waitFor(b3, () => cache.brokers.size === 3 && cache.controller !== undefined, "ready");
      const a = admin(b3.bootstrap);
      await a.connect();
      try {
        await a.createTopics({
          topics: [{
            topic: "pref",
            replicaAssignment: [{ partition: 0, replicas: [1, 2] }, {
              partition: 1,
              replicas: [2, 3],
            }],
          }],
        });
        await waitFor(b3, () => cache.topicPartitions("pref").length === 2, "pref");
        assertEquals(cache.partitionState("pref", 0)!.leader, 1);

        // Broker 1 leaves (and comes back on its data): partition 0 is led by 2 meanwhile.
        const dir1 = brokers.get(1)!.config.dataDir;
        await brokers.get(1)!.close();
        brokers.delete(1);
        await waitFor(b3, () => cache.partitionState("pref", 0)!.leader === 2, "leader 2");
        const moved = cache.partitionState("pref", 0)!;
        brokers.set(1, await start(1, dir1));
        // Once the leader has taken broker 1 back into the ISR, a preferred election moves
        // leadership back to it, with a new epoch.
        await waitFor(b3, () => cache.partitionState("pref", 0)!.isr.includes(1), "1 in sync");
        const elected = await withConnection(b3.bootstrap, (c) =>
          c.request(electLeadersApi, 2, {
            electionType: 0,
            topicPartitions: [{ topic: "pref", partitions: [0, 1] }],
            timeoutMs: 10_000,
          }));
        assertEquals(
          elected.replicaElectionResults[0].partitionResult.map((p) => p.errorCode),
          [ErrorCode.NONE, ErrorCode.ELECTION_NOT_NEEDED],
        );
        const back = cache.partitionState("pref", 0)!;
        assertEquals(back.leader, 1);
        assertEquals(back.leaderEpoch, moved.leaderEpoch + 1);

        // CreatePartitions through one broker: the controller assigns, every broker sees it.
        await a.createPartitions({ topicPartitions: [{ topic: "pref", count: 4 }] });
        for (const b of brokers.values()) {
          await waitFor(b, () => b.cluster!.cache.topicPartitions("pref").length === 4, "4 parts");
        }
        for (const s of cache.topicPartitions("pref")) assertEquals(s.replicas.length, 2);

        // AlterConfigs through one broker: the controller stores it, every broker sees it.
        await a.alterConfigs({
          validateOnly: false,
          resources: [{
            type: 2, // TOPIC
            name: "pref",
            configEntries: [{ name: "retention.ms", value: "123456" }],
          }],
        });
        for (const b of brokers.values()) {
          await waitFor(
            b,
            () => b.cluster!.cache.topics.get("pref")!.record.configs["retention.ms"] === "123456",
            "configs",
          );
        }
        const described = await a.describeConfigs({
          includeSynonyms: false,
          resources: [{ type: 2, name: "pref", configNames: ["retention.ms"] }],
        });
        assertEquals(described.resources[0].configEntries[0].configValue, "123456");

        // A broker that hosts none of a topic still describes its configs (from the cluster).
        await a.createTopics({
          topics: [{
            topic: "lonely",
            replicaAssignment: [{ partition: 0, replicas: [1] }],
            configEntries: [{ name: "retention.ms", value: "777" }],
          }],
        });
        await waitFor(b3, () => cache.topics.has("lonely"), "lonely");
        const lonely = await withConnection(b3.bootstrap, (c) =>
          c.request(describeConfigsApi, 4, {
            resources: [{
              resourceType: 2,
              resourceName: "lonely",
              configurationKeys: ["retention.ms"],
            }],
            includeSynonyms: false,
            includeDocumentation: false,
          }));
        assertEquals(lonely.results[0].errorCode, ErrorCode.NONE);
        assertEquals(lonely.results[0].configs.map((c) => c.value), ["777"]);

        // etcd restarts under the running cluster: the brokers' watches resume (or re-list),
        // sessions are kept or registered again, and the controller goes on working.
        await etcd.restart();
        assertEquals(
          await a.createTopics({
            topics: [{ topic: "after-restart", replicationFactor: 3 }],
            timeout: WAIT_MS,
          }),
          true,
        );
        for (const b of brokers.values()) {
          await waitFor(
            b,
            () => b.cluster!.cache.topicPartitions("after-restart").length === 1,
            "seen",
          );
          await waitFor(b, () => b.cluster!.cache.brokers.size === 3, "all registered");
        }
      } finally {
        await a.disconnect();
      }
    } finally {
      for (const b of brokers.values()) await b.close();
      await etcd.close();
      for (const dir of dirs) await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "cluster: the cluster paths keep the authorizer's checks (no ACLs: nothing allowed)",
  ignore: !etcdInstalled(),
  async fn() {
    const etcd = await startEtcd();
    const dataDir = await Deno.makeTempDir({ prefix: "denka-cluster-acl-" });
    const broker = await startBroker({
      port: 0,
      dataDir,
      nodeId: 1,
      etcd: [etcd.clientUrl],
      brokerSessionTimeoutMs: SESSION_MS,
      autoLeaderRebalance: false,
      authorizer: "acl",
    });
    try {
      const cluster = broker.cluster!;
      await waitFor(broker, () => cluster.cache.controller !== undefined, "controller");
      // Created past the authorizer (as an admin would be allowed to): it exists in the cluster.
      assertEquals(
        await cluster.admin.createTopic("secret", {
          partitions: 1,
          replicationFactor: 1,
          assignment: null,
          configs: {},
        }, WAIT_MS),
        undefined,
      );
      await withConnection(broker.bootstrap, async (c) => {
        const all = await c.request(metadataApi, 12, {
          topics: null,
          allowAutoTopicCreation: false,
          includeClusterAuthorizedOperations: false,
          includeTopicAuthorizedOperations: false,
        });
        assertEquals(all.topics, []); // hidden from a principal without DESCRIBE
        assertEquals(all.brokers.map((b) => b.nodeId), [1]);
        const named = await c.request(metadataApi, 12, {
          topics: [{ topicId: ZERO_UUID, name: "secret" }],
          allowAutoTopicCreation: true,
          includeClusterAuthorizedOperations: false,
          includeTopicAuthorizedOperations: false,
        });
        assertEquals(named.topics[0].errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
        const created = await c.request(createTopicsApi, 7, {
          topics: [{
            name: "other",
            numPartitions: 1,
            replicationFactor: 1,
            assignments: [],
            configs: [],
          }],
          timeoutMs: 5000,
          validateOnly: false,
        });
        assertEquals(created.topics[0].errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
        // Refused before anything reached etcd.
        assert(!cluster.cache.topics.has("other"));
        assert(![...cluster.cache.requests.keys()].some((k) => k.includes("other")));
      });
    } finally {
      await broker.close();
      await etcd.close();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});

Deno.test({
  name: "cluster: a broker registers every listener and answers each with its own addresses",
  ignore: !etcdInstalled(),
  async fn() {
    const etcd = await startEtcd();
    const dataDir = await Deno.makeTempDir({ prefix: "denka-cluster-listeners-" });
    const broker = await startBroker({
      listeners: "PLAINTEXT://127.0.0.1:0,INTERNAL://127.0.0.1:0",
      listenerSecurityProtocolMap: "PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT",
      interBrokerListenerName: "INTERNAL",
      dataDir,
      nodeId: 4,
      etcd: [etcd.clientUrl],
      brokerSessionTimeoutMs: SESSION_MS,
      autoLeaderRebalance: false,
    });
    try {
      const cache = broker.cluster!.cache;
      await waitFor(broker, () => cache.brokers.has(4), "registered");
      const portOf = (name: string) => broker.listeners.find((l) => l.name === name)!.port;
      const registered = cache.brokers.get(4)!;
      // Replicas connect to the inter-broker listener.
      assertEquals(registered.port, portOf("INTERNAL"));
      assertEquals(
        registered.registration.listeners.map((l) => [l.name, l.port]),
        [["PLAINTEXT", portOf("PLAINTEXT")], ["INTERNAL", portOf("INTERNAL")]],
      );
      for (const name of ["PLAINTEXT", "INTERNAL"]) {
        const answer = await withConnection(
          `127.0.0.1:${portOf(name)}`,
          (c) =>
            c.request(metadataApi, 12, {
              topics: null,
              allowAutoTopicCreation: false,
              includeClusterAuthorizedOperations: false,
              includeTopicAuthorizedOperations: false,
            }),
        );
        assertEquals(answer.brokers.map((b) => b.port), [portOf(name)]);
      }
    } finally {
      await broker.close();
      await etcd.close();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
