/**
 * SSL listeners (in-process under Deno, or `bun run main.ts` under
 * `DENKA_TEST_RUNTIME=bun`: Bun's TLS listener): a PLAINTEXT and an SSL listener
 * side by side on one broker, kcat, confluent-kafka-python, kafka-python,
 * kafkajs and @platformatic/kafka producing and consuming over TLS, Metadata
 * answered with the address of the listener asked, fetches over TLS taking
 * the copy path, a certificate reload (the function SIGHUP calls) with a
 * good and a bad new file, and the clear start-up failure of client
 * certificates under Deno (those two in-process only). Certificates come from
 * `tls_certs.ts`.
 */
import { Kafka, logLevel, Partitioners } from "kafkajs";
import {
  Consumer as PlatformaticConsumer,
  Producer as PlatformaticProducer,
  stringSerializers,
} from "@platformatic/kafka";
import { type BrokerHandle, ListenerStartError, startBroker } from "../../mod.ts";
import { assert, assertEquals, assertRejects } from "../../util/assert.ts";
import { makeDataDir, run, runPython, startTestBroker } from "./harness.ts";
import { readCounters, TEST_RUNTIME } from "./bun_broker.ts";
import { kcatConsume, kcatProduce } from "./kcat.ts";
import { makeTestCertificates, presentedSubject, type TestCertificates } from "./tls_certs.ts";

const certs: TestCertificates = await makeTestCertificates();
const caPem = await Deno.readTextFile(certs.caFile);

interface TlsBroker {
  readonly broker: BrokerHandle;
  readonly plainBootstrap: string;
  readonly sslBootstrap: string;
  readonly sslPort: number;
}

/** A broker with PLAINTEXT and SSL listeners on free ports, closed and removed afterwards. */
async function withTlsBroker(
  tls: { certFile: string; keyFile: string },
  fn: (t: TlsBroker) => Promise<void>,
): Promise<void> {
  const dataDir = await makeDataDir();
  try {
    const broker = await startTestBroker(dataDir, {
      logLevel: "error",
      listeners: "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0",
      tls,
    });
    try {
      const [plain, ssl] = broker.listeners;
      assertEquals([plain.securityProtocol, ssl.securityProtocol], ["PLAINTEXT", "SSL"]);
      await fn({
        broker,
        plainBootstrap: `127.0.0.1:${plain.port}`,
        sslBootstrap: `127.0.0.1:${ssl.port}`,
        sslPort: ssl.port,
      });
    } finally {
      await broker.close();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
}

/** How long a consumer may take to see what was produced before the test fails. */
const CONSUME_WAIT_MS = 30_000;
const SERVER_TLS = { certFile: certs.certFile, keyFile: certs.keyFile };
const KCAT_SSL = { "security.protocol": "ssl", "ssl.ca.location": certs.caFile };

function textMessages(count: number, prefix: string) {
  return Array.from(
    { length: count },
    (_, i) => ({ key: `${prefix}k${i}`, value: `${prefix}v${i}` }),
  );
}

/** kcat's metadata listing (`-L -J`) through `bootstrap`: the brokers it was told about. */
async function metadataBrokers(
  bootstrap: string,
  config: Record<string, string> = {},
): Promise<string[]> {
  const args = ["-b", bootstrap, "-L", "-J"];
  for (const [k, v] of Object.entries(config)) args.push("-X", `${k}=${v}`);
  const result = await run("kcat", args);
  const brokers = JSON.parse(result.stdoutText).brokers as { name: string }[];
  return brokers.map((b) => b.name);
}

Deno.test("SSL beside PLAINTEXT: kcat over both, Metadata per listener, TLS fetches copy", async () => {
  await withTlsBroker(SERVER_TLS, async (t) => {
    // Each listener's clients are told that listener's address.
    assertEquals(await metadataBrokers(t.plainBootstrap), [t.plainBootstrap]);
    assertEquals(await metadataBrokers(t.sslBootstrap, KCAT_SSL), [t.sslBootstrap]);

    const messages = textMessages(200, "s");
    await kcatProduce(t.sslBootstrap, messages, { topic: "tls-k", config: KCAT_SSL });
    const before = await readCounters(t.broker);
    const overTls = await kcatConsume(t.sslBootstrap, { topic: "tls-k", config: KCAT_SSL });
    assertEquals(overTls.map((m) => [m.key, m.value]), messages.map((m) => [m.key, m.value]));
    const afterTls = await readCounters(t.broker);
    assert(afterTls.copyBytes > before.copyBytes, "a TLS fetch copies");
    assertEquals(afterTls.sendfileBytes, before.sendfileBytes, "no sendfile into a TLS socket");

    const overPlain = await kcatConsume(t.plainBootstrap, { topic: "tls-k" });
    assertEquals(overPlain.length, messages.length);
    const afterPlain = await readCounters(t.broker);
    assert(afterPlain.sendfileBytes > afterTls.sendfileBytes, "PLAINTEXT still sendfiles");
    assertEquals(afterPlain.copyBytes, afterTls.copyBytes);
  });
});

Deno.test("SSL: confluent-kafka-python produces and consumes", async () => {
  await withTlsBroker(SERVER_TLS, async (t) => {
    const config = { "security.protocol": "SSL", "ssl.ca.location": certs.caFile };
    const produced = await runPython<{ delivered: number; errors: unknown[] }>(
      "confluent_produce.py",
      { bootstrap: t.sslBootstrap, topic: "tls-c", config, generate: { count: 300 } },
    );
    assertEquals(produced.errors, []);
    assertEquals(produced.delivered, 300);
    const consumed = await runPython<{ messages: { offset: number; value: string }[] }>(
      "confluent_consume.py",
      { bootstrap: t.sslBootstrap, topic: "tls-c", count: 300, config },
    );
    assertEquals(consumed.messages.length, 300);
    assertEquals(consumed.messages[299], { ...consumed.messages[299], value: "value-299" });
  });
});

Deno.test("SSL: kafka-python produces and consumes", async () => {
  await withTlsBroker(SERVER_TLS, async (t) => {
    const result = await runPython<{ produced: number[]; consumed: { value: string }[] }>(
      "kafka_python_roundtrip.py",
      {
        bootstrap: t.sslBootstrap,
        topic: "tls-p",
        count: 100,
        seek_to: 0,
        config: { security_protocol: "SSL", ssl_cafile: certs.caFile },
      },
    );
    assertEquals(result.produced.length, 100);
    assertEquals(result.consumed.map((m) => m.value), result.produced.map((i) => `v-${i}`));
  });
});

Deno.test("SSL: kafkajs produces and consumes with ssl {ca}, told the SSL address", async () => {
  await withTlsBroker(SERVER_TLS, async (t) => {
    const kafka = new Kafka({
      clientId: "denka-tls",
      brokers: [t.sslBootstrap],
      ssl: { ca: [caPem] },
      logLevel: logLevel.ERROR,
      retry: { retries: 2, initialRetryTime: 100 },
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const cluster = await admin.describeCluster();
      assertEquals(cluster.brokers.map((b) => b.port), [t.sslPort]);
    } finally {
      await admin.disconnect();
    }
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    try {
      const messages = textMessages(50, "j").map((m) => ({ ...m, partition: 0 }));
      await producer.send({ topic: "tls-j", messages, acks: -1 });
    } finally {
      await producer.disconnect();
    }
    const got = await kcatConsume(t.sslBootstrap, { topic: "tls-j", config: KCAT_SSL });
    assertEquals(got.map((m) => m.value), textMessages(50, "j").map((m) => m.value));
    assertEquals(await kafkajsConsume(kafka, "tls-j", 50), got.map((m) => m.value));
  });
});

/** Consumes `count` messages of `topic` with a kafkajs group consumer (bounded wait). */
async function kafkajsConsume(kafka: Kafka, topic: string, count: number): Promise<string[]> {
  const consumer = kafka.consumer({ groupId: `g-${topic}`, maxWaitTimeInMs: 100 });
  const values: string[] = [];
  const all = Promise.withResolvers<void>();
  const timer = setTimeout(
    () => all.reject(new Error(`kafkajs consumed ${values.length} of ${count}`)),
    CONSUME_WAIT_MS,
  );
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        values.push(message.value!.toString());
        if (values.length === count) all.resolve();
        return Promise.resolve();
      },
    });
    await all.promise;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
  return values;
}

Deno.test("SSL: @platformatic/kafka produces and fetches with tls {ca}", async () => {
  await withTlsBroker(SERVER_TLS, async (t) => {
    const producer = new PlatformaticProducer({
      clientId: "denka-tls",
      bootstrapBrokers: [t.sslBootstrap],
      tls: { ca: caPem },
      autocreateTopics: true,
      serializers: stringSerializers,
      retries: 2,
    });
    try {
      const messages = textMessages(40, "pl").map((m) => ({ ...m, topic: "tls-pl", partition: 0 }));
      const result = await producer.send({ messages, acks: -1 });
      assertEquals(result.offsets?.[0]?.offset, 0n);
    } finally {
      await producer.close();
    }
    const got = await kcatConsume(t.sslBootstrap, { topic: "tls-pl", config: KCAT_SSL });
    assertEquals(got.map((m) => m.value), textMessages(40, "pl").map((m) => m.value));
    const consumer = new PlatformaticConsumer({
      clientId: "denka-tls",
      bootstrapBrokers: [t.sslBootstrap],
      tls: { ca: caPem },
      groupId: "denka-unused",
    });
    try {
      const topic = (await consumer.metadata({ topics: ["tls-pl"] })).topics.get("tls-pl")!;
      const response = await consumer.fetch({
        node: topic.partitions[0].leader,
        maxWaitTime: 100,
        topics: [{
          topicId: topic.id,
          partitions: [{
            partition: 0,
            currentLeaderEpoch: -1,
            fetchOffset: 0n,
            lastFetchedEpoch: -1,
            partitionMaxBytes: 1024 * 1024,
          }],
        }],
      });
      const values = response.responses[0].partitions[0].records!.flatMap((batch) =>
        batch.records.map((r) => r.value!.toString())
      );
      assertEquals(values, got.map((m) => m.value));
    } finally {
      await consumer.close();
    }
  });
});

// In-process only: reloadTls() returns its result; under Bun, SIGHUP reloads (tls_process_test.ts).
Deno.test({
  name: "reloadTls() gives new connections the new certificate; a bad file keeps the old",
  ignore: TEST_RUNTIME === "bun",
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "denka-tls-reload-" });
  const live = { certFile: `${dir}/live.pem`, keyFile: `${dir}/live.key` };
  await Deno.copyFile(certs.certFile, live.certFile);
  await Deno.copyFile(certs.keyFile, live.keyFile);
  try {
    await withTlsBroker(live, async (t) => {
      assertEquals(await presentedSubject(t.sslPort, certs.caFile), "CN = localhost");
      await Deno.copyFile(certs.rotatedCertFile, live.certFile);
      await Deno.copyFile(certs.rotatedKeyFile, live.keyFile);
      const reloaded = await t.broker.reloadTls();
      assertEquals(reloaded.reloaded, true);
      assertEquals(await presentedSubject(t.sslPort, certs.caFile), "O = Rotated, CN = localhost");

      // A key that does not belong to the certificate: refused, the rotated one stays.
      await Deno.copyFile(certs.keyFile, live.keyFile);
      const refused = await t.broker.reloadTls();
      assert(!refused.reloaded && /does not belong to the certificate/.test(refused.reason));
      await Deno.writeTextFile(live.certFile, "not a certificate");
      const garbage = await t.broker.reloadTls();
      assert(!garbage.reloaded && /is not a PEM certificate/.test(garbage.reason));
      assertEquals(await presentedSubject(t.sslPort, certs.caFile), "O = Rotated, CN = localhost");
      const got = await kcatProduce(t.sslBootstrap, textMessages(3, "r"), {
        topic: "tls-r",
        config: KCAT_SSL,
      });
      assertEquals(got.code, 0);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ssl.client.auth under Deno fails at start on an SSL listener, saying why", async () => {
  const dataDir = await makeDataDir();
  try {
    for (const clientAuth of ["required", "requested"] as const) {
      await assertRejects(
        () =>
          startBroker({
            dataDir,
            listeners: "SSL://127.0.0.1:0",
            tls: { ...SERVER_TLS, caFile: certs.caFile, clientAuth },
          }),
        (error: Error) =>
          error instanceof ListenerStartError &&
          error.message.includes(`"ssl.client.auth" is "${clientAuth}"`) &&
          error.message.includes("Deno.listenTls") && error.message.includes("Bun"),
      );
    }
    // KIP-684: the broker-wide ssl.client.auth does not apply to SASL_SSL listeners.
    const saslSsl = await startBroker({
      dataDir,
      listeners: "SASL_SSL://127.0.0.1:0",
      tls: { ...SERVER_TLS, caFile: certs.caFile, clientAuth: "required" },
    });
    assertEquals(saslSsl.listeners.map((l) => l.securityProtocol), ["SASL_SSL"]);
    await saslSsl.close();
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test({
  name: "TLS test certificates are removed",
  fn: () => Deno.remove(certs.dir, { recursive: true }),
});
