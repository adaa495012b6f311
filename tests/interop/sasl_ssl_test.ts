/**
 * SASL_SSL: SCRAM-SHA-256, SCRAM-SHA-512, PLAIN and OAUTHBEARER over TLS
 * with kcat, confluent-kafka-python, kafka-python, kafkajs and
 * @platformatic/kafka, each trusting the test CA; one client reads back
 * what all of them wrote. Certificates come from `tls_certs.ts`.
 *
 * @module
 */
import { Kafka, logLevel } from "kafkajs";
import { Producer as PlatformaticProducer, stringSerializers } from "@platformatic/kafka";
import { assertEquals } from "../../util/assert.ts";
import { runPython } from "./harness.ts";
import { kcatConsume, kcatProduce } from "./kcat.ts";
import { withSaslBroker } from "./sasl_broker.ts";
import { makeTestCertificates } from "./tls_certs.ts";

Deno.test("SASL_SSL: kcat, confluent-kafka-python, kafka-python, kafkajs and platformatic log in over TLS", async () => {
  const certs = await makeTestCertificates();
  try {
    const ca = await Deno.readTextFile(certs.caFile);
    const options = {
      listeners: "SASL_SSL://127.0.0.1:0,PLAINTEXT://127.0.0.1:0",
      "tls-cert": certs.certFile,
      "tls-key": certs.keyFile,
    };
    await withSaslBroker(options, async (t) => {
      const kcatConfig = {
        "security.protocol": "sasl_ssl",
        "ssl.ca.location": certs.caFile,
        "sasl.mechanisms": "SCRAM-SHA-512",
        "sasl.username": "bob",
        "sasl.password": "bob-secret",
      };
      await kcatProduce(t.bootstrap, [{ key: null, value: "kcat" }], {
        topic: "ss",
        config: kcatConfig,
      });
      const confluent = await runPython("sasl_clients.py", {
        mode: "confluent_produce",
        bootstrap: t.bootstrap,
        topic: "ss",
        count: 1,
        mechanism: "PLAIN",
        username: "alice",
        password: "alice-secret",
        ca_file: certs.caFile,
      });
      assertEquals(confluent, { delivered: 1, errors: [], client_errors: [] });
      const kafkaPython = await runPython("sasl_clients.py", {
        mode: "kafka_python",
        bootstrap: t.bootstrap,
        topic: "ss-kp",
        count: 2,
        mechanism: "SCRAM-SHA-256",
        username: "alice",
        password: "alice-secret",
        ca_file: certs.caFile,
      });
      assertEquals(kafkaPython, { values: ["m-0", "m-1"] });

      const token = await t.token();
      for (
        const sasl of [
          { mechanism: "scram-sha-256", username: "alice", password: "alice-secret" },
          {
            mechanism: "oauthbearer",
            oauthBearerProvider: () => Promise.resolve({ value: token }),
          },
        ]
      ) {
        const kafka = new Kafka({
          clientId: "denka-sasl-ssl",
          brokers: [t.bootstrap],
          ssl: { ca: [ca] },
          sasl: sasl as never,
          logLevel: logLevel.NOTHING,
          retry: { retries: 0 },
        });
        const producer = kafka.producer();
        await producer.connect();
        try {
          await producer.send({ topic: "ss", messages: [{ value: `kafkajs-${sasl.mechanism}` }] });
        } finally {
          await producer.disconnect();
        }
      }
      const platformatic = new PlatformaticProducer({
        clientId: "denka-sasl-ssl",
        bootstrapBrokers: [t.bootstrap],
        serializers: stringSerializers,
        tls: { ca },
        sasl: { mechanism: "SCRAM-SHA-512", username: "bob", password: "bob-secret" },
        retries: 0,
        autocreateTopics: true,
      });
      try {
        await platformatic.send({ messages: [{ topic: "ss", value: "platformatic" }] });
      } finally {
        await platformatic.close();
      }

      const got = await kcatConsume(t.bootstrap, { topic: "ss", config: kcatConfig });
      assertEquals(got.map((m) => m.value), [
        "kcat",
        "m-0",
        "kafkajs-scram-sha-256",
        "kafkajs-oauthbearer",
        "platformatic",
      ]);
      assertEquals((await t.saslCounters()).failedLogins, 0);
    });
  } finally {
    await Deno.remove(certs.dir, { recursive: true });
  }
});
