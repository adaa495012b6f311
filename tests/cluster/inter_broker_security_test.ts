/**
 * Two in-process brokers and a real etcd whose inter-broker listener is
 * SASL_PLAINTEXT (Kafka's `inter.broker.listener.name` with
 * `sasl.mechanism.inter.broker.protocol`): an RF 2 topic replicates over it
 * with a SCRAM-SHA-512 login, and a follower with a wrong inter-broker
 * password stays out of the ISR and logs why. Clients use a PLAINTEXT
 * listener beside it.
 */
import { Kafka, logLevel } from "kafkajs";
import { assert, assertEquals } from "../../util/assert.ts";
import { Broker } from "../../broker/broker.ts";
import { resolveConfig } from "../../broker/config.ts";
import type { Logger } from "../../util/log.ts";
import { etcdInstalled, startEtcd } from "./etcd_server.ts";
import { addScramUsers, type TestUser } from "../interop/sasl_broker.ts";
import { makeTestCertificates } from "../interop/tls_certs.ts";

/** Bound of every wait on the cluster (a loaded CI box). */
const WAIT_MS = 20_000;
const BROKER_USER: TestUser = {
  name: "broker",
  password: "broker-secret",
  mechanisms: ["SCRAM-SHA-256", "SCRAM-SHA-512"],
};

/** A logger that records warnings and wakes waiters on each one. */
function recordingLogger(): Logger & {
  warnings: string[];
  waitWarning(re: RegExp): Promise<string>;
} {
  const warnings: string[] = [];
  const waiters: { re: RegExp; resolve: (m: string) => void }[] = [];
  const quiet = () => {};
  const logger = {
    warnings,
    debug: quiet,
    info: quiet,
    error: quiet,
    warn: (m: string) => {
      warnings.push(m);
      for (const w of waiters.splice(0)) {
        if (w.re.test(m)) w.resolve(m);
        else waiters.push(w);
      }
    },
    child: () => logger,
    waitWarning: (re: RegExp) => {
      const seen = warnings.find((m) => re.test(m));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`No warning matching ${re}`)), WAIT_MS);
        waiters.push({ re, resolve: (m) => (clearTimeout(timer), resolve(m)) });
      });
    },
  };
  return logger;
}

interface Node {
  readonly broker: Broker;
  readonly logger: ReturnType<typeof recordingLogger>;
  readonly plaintext: string;
}

/** How the brokers reach each other: the inter-broker listener's protocol and more options. */
interface InterBroker {
  readonly protocol: "SASL_PLAINTEXT" | "SASL_SSL" | "SSL";
  readonly mechanism?: string;
  readonly options?: Record<string, string>;
}

const SCRAM_512: InterBroker = { protocol: "SASL_PLAINTEXT", mechanism: "SCRAM-SHA-512" };

async function withSaslCluster(
  passwords: readonly string[],
  interBroker: InterBroker,
  fn: (nodes: Node[]) => Promise<void>,
): Promise<void> {
  const etcd = await startEtcd();
  const dir = await Deno.makeTempDir({ prefix: "denka-ibsec-" });
  const nodes: Node[] = [];
  try {
    for (let i = 0; i < passwords.length; i++) {
      const nodeId = i + 1;
      const dataDir = `${dir}/data-${nodeId}`;
      await Deno.mkdir(dataDir);
      await addScramUsers(dataDir, [BROKER_USER]);
      await Deno.writeTextFile(`${dir}/password-${nodeId}`, `${passwords[i]}\n`);
      const logger = recordingLogger();
      const config = resolveConfig([{
        options: {
          listeners: `${interBroker.protocol}://127.0.0.1:0,PLAINTEXT://127.0.0.1:0`,
          "inter-broker-listener-name": interBroker.protocol,
          "sasl-enabled-mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
          "sasl-mechanism-inter-broker-protocol": interBroker.mechanism ?? "PLAIN",
          "inter-broker-username": BROKER_USER.name,
          "inter-broker-password-file": `${dir}/password-${nodeId}`,
          "data-dir": dataDir,
          "node-id": String(nodeId),
          etcd: etcd.clientUrl,
          "broker-session-timeout-ms": "2000",
          "auto-leader-rebalance": "false",
          "replica-lag-time-max-ms": "1500",
          "replica-fetch-backoff-ms": "50",
          http: "off",
          "log-level": "warn",
          ...interBroker.options,
        },
        topics: {},
      }]);
      const broker = await Broker.start(config, { logger });
      const plain = broker.listeners.find((l) => l.securityProtocol === "PLAINTEXT")!;
      nodes.push({ broker, logger, plaintext: `${plain.hostname}:${plain.port}` });
    }
    for (const { broker } of nodes) {
      const ok = await broker.cluster!.cache.waitFor(
        () => broker.cluster!.cache.brokers.size === nodes.length,
        WAIT_MS,
      );
      assert(ok, "Timed out waiting for the brokers to see each other");
    }
    await fn(nodes);
  } finally {
    for (const { broker } of nodes) await broker.close();
    await etcd.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function kafka(bootstrap: string) {
  return new Kafka({
    clientId: "denka-ibsec-test",
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 1000 },
  });
}

async function createTopic(bootstrap: string, topic: string, numPartitions: number) {
  const admin = kafka(bootstrap).admin();
  await admin.connect();
  try {
    assertEquals(
      await admin.createTopics({ topics: [{ topic, numPartitions, replicationFactor: 2 }] }),
      true,
    );
  } finally {
    await admin.disconnect();
  }
}

/** An RF 2 topic with a partition led by each broker takes acks=all writes; both logs hold them. */
async function assertReplicates(nodes: Node[], topic: string) {
  await createTopic(nodes[0].plaintext, topic, 2);
  const producer = kafka(nodes[0].plaintext).producer();
  await producer.connect();
  try {
    // acks=all (kafkajs' default): each answer waits for the follower's fetch.
    for (const partition of [0, 1]) {
      await producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: 10 }, (_, i) => ({ partition, value: `v${i}` })),
      });
    }
  } finally {
    await producer.disconnect();
  }
  for (const partition of [0, 1]) {
    for (const { broker } of nodes) {
      const log = broker.topics.partition(topic, partition)!.log;
      assertEquals(log.logEndOffset, 10, `broker ${broker.config.nodeId} p${partition}`);
    }
    const [state] = nodes[0].broker.cluster!.cache.topicPartitions(topic)
      .filter((s) => s.partition === partition);
    assertEquals([...state.isr].sort(), [1, 2]);
  }
  for (const { logger } of nodes) {
    assertEquals(logger.warnings.filter((m) => /login/.test(m)), []);
  }
}

Deno.test({
  name: "inter-broker SASL_PLAINTEXT: an RF 2 topic replicates with a SCRAM-SHA-512 login",
  ignore: !etcdInstalled(),
  async fn() {
    await withSaslCluster(["broker-secret", "broker-secret"], SCRAM_512, async (nodes) => {
      await assertReplicates(nodes, "ibsec");
    });
  },
});

Deno.test({
  name:
    "inter-broker SASL_PLAINTEXT: a wrong password keeps the follower out of the ISR and says why",
  ignore: !etcdInstalled(),
  async fn() {
    await withSaslCluster(["broker-secret", "wrong-secret"], SCRAM_512, async (nodes) => {
      await createTopic(nodes[0].plaintext, "ibsec-bad", 2);
      const cache = nodes[0].broker.cluster!.cache;
      const ledBy = (leader: number) => () =>
        cache.topicPartitions("ibsec-bad").find((s) => s.leader === leader);
      assert(
        await cache.waitFor(() => ledBy(1)() !== undefined && ledBy(2)() !== undefined, WAIT_MS),
      );
      // Broker 2 cannot log in to broker 1: it leaves the ISR of broker 1's partition ...
      assert(
        await cache.waitFor(() => ledBy(1)()!.isr.join() === "1", WAIT_MS),
        "Broker 2 stayed in the ISR of broker 1's partition",
      );
      const why = await nodes[1].logger.waitWarning(/SCRAM-SHA-512 login as "broker" failed/);
      assert(why.includes("from broker 1"), why);
      // ... while broker 1, whose password is right, follows broker 2's partition.
      assertEquals([...ledBy(2)()!.isr].sort(), [1, 2]);
      assertEquals(nodes[0].logger.warnings.filter((m) => /login/.test(m)), []);
    });
  },
});

for (
  const [protocol, mechanism] of [["SSL", undefined], ["SASL_SSL", "SCRAM-SHA-256"]] as const
) {
  Deno.test({
    name: `inter-broker ${protocol}: an RF 2 topic replicates over TLS trusting --tls-ca`,
    ignore: !etcdInstalled(),
    async fn() {
      const certs = await makeTestCertificates();
      try {
        const options = {
          "tls-cert": certs.certFile,
          "tls-key": certs.keyFile,
          "tls-ca": certs.caFile,
        };
        const secrets = ["broker-secret", "broker-secret"];
        await withSaslCluster(secrets, { protocol, mechanism, options }, async (nodes) => {
          await assertReplicates(nodes, `ibsec-${protocol.toLowerCase()}`);
        });
      } finally {
        await Deno.remove(certs.dir, { recursive: true });
      }
    },
  });
}
