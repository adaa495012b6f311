/**
 * SASL on a SASL_PLAINTEXT listener with real clients: kcat and
 * confluent-kafka-python (librdkafka 2.0: SaslHandshake v1 +
 * SaslAuthenticate), kafka-python 2.0 (SaslHandshake v0 and bare tokens),
 * kafkajs and @platformatic/kafka; SCRAM-SHA-256, SCRAM-SHA-512, PLAIN and
 * OAUTHBEARER (a JWT signed here, checked against the broker's JWKS file);
 * wrong passwords and expired tokens refused; re-authentication past
 * `connections.max.reauth.ms` (KIP-368). Every client reads back what it or
 * another client wrote, so a login that only seemed to succeed fails.
 *
 * @module
 */
import { Kafka, logLevel } from "kafkajs";
import { Producer as PlatformaticProducer, stringSerializers } from "@platformatic/kafka";
import { assert, assertEquals, assertRejects } from "../../util/assert.ts";
import { run, runPython } from "./harness.ts";
import { KCAT_PATH, kcatConsume, kcatProduce } from "./kcat.ts";
import { type SaslTestBroker, withSaslBroker } from "./sasl_broker.ts";

/** librdkafka properties of a SASL login. */
function rdkafkaSasl(mechanism: string, user: string, password: string) {
  return {
    "security.protocol": "sasl_plaintext",
    "sasl.mechanisms": mechanism,
    "sasl.username": user,
    "sasl.password": password,
  };
}

const ALICE = rdkafkaSasl("SCRAM-SHA-256", "alice", "alice-secret");

/** A kafkajs client that does not retry (a refused login fails at once). */
function kafkajs(t: SaslTestBroker, sasl: unknown, extra: Record<string, unknown> = {}) {
  return new Kafka({
    clientId: "denka-sasl",
    brokers: [t.bootstrap],
    sasl: sasl as never,
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    ...extra,
  });
}

async function kafkajsRoundTrip(kafka: Kafka, topic: string, values: string[]): Promise<string[]> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({ topic, messages: values.map((value) => ({ value })) });
  } finally {
    await producer.disconnect();
  }
  const consumer = kafka.consumer({ groupId: `g-${topic}` });
  await consumer.connect();
  const got: string[] = [];
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer.run({
        eachMessage: ({ message }) => {
          got.push(message.value!.toString());
          if (got.length === values.length) resolve();
          return Promise.resolve();
        },
      }).catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return got;
}

Deno.test("SASL kcat: SCRAM-SHA-256, SCRAM-SHA-512 and PLAIN logins produce and consume; a wrong password is refused", async () => {
  await withSaslBroker({}, async (t) => {
    const logins = [
      rdkafkaSasl("SCRAM-SHA-256", "alice", "alice-secret"),
      rdkafkaSasl("SCRAM-SHA-512", "bob", "bob-secret"),
      rdkafkaSasl("PLAIN", "bob", "bob-secret"),
    ];
    for (const [i, config] of logins.entries()) {
      await kcatProduce(t.bootstrap, [{ key: null, value: `kcat-${i}` }], { topic: "kc", config });
    }
    const got = await kcatConsume(t.bootstrap, { topic: "kc", config: ALICE });
    assertEquals(got.map((m) => m.value), ["kcat-0", "kcat-1", "kcat-2"]);
    assertEquals((await t.saslCounters()).failedLogins, 0);

    const refused = await run(KCAT_PATH, [
      "-b",
      t.bootstrap,
      "-L",
      "-m",
      "2",
      ...Object.entries(rdkafkaSasl("SCRAM-SHA-256", "alice", "wrong")).flatMap(([k, v]) => [
        "-X",
        `${k}=${v}`,
      ]),
    ], { check: false });
    assert(refused.code !== 0);
    assert(
      refused.stderrText.includes(
        "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256",
      ),
      refused.stderrText,
    );
    assert((await t.saslCounters()).failedLogins >= 1);
  });
});

Deno.test("SASL confluent-kafka-python: SCRAM, PLAIN and OAUTHBEARER (oauth_cb) produce; a wrong password is refused", async () => {
  await withSaslBroker({}, async (t) => {
    const base = { bootstrap: t.bootstrap, topic: "ck", count: 5 };
    for (
      const [mechanism, username, password] of [
        ["SCRAM-SHA-256", "alice", "alice-secret"],
        ["SCRAM-SHA-512", "bob", "bob-secret"],
        ["PLAIN", "alice", "alice-secret"],
      ]
    ) {
      const r = await runPython("sasl_clients.py", {
        ...base,
        mode: "confluent_produce",
        mechanism,
        username,
        password,
      });
      assertEquals(r, { delivered: 5, errors: [], client_errors: [] }, mechanism);
    }
    const oauth = await runPython("sasl_clients.py", {
      ...base,
      mode: "confluent_oauth",
      mechanism: "OAUTHBEARER",
      token: await t.token(),
    });
    assertEquals(oauth, { delivered: 5, errors: [], client_errors: [] });
    const got = await kcatConsume(t.bootstrap, { topic: "ck", config: ALICE });
    assertEquals(got.length, 20);

    const refused = await runPython<{ delivered: number; client_errors: string[] }>(
      "sasl_clients.py",
      {
        ...base,
        count: 1,
        mode: "confluent_produce",
        mechanism: "SCRAM-SHA-512",
        username: "bob",
        password: "wrong",
      },
    );
    assertEquals(refused.delivered, 0);
    assert(
      refused.client_errors.some((e) =>
        e.includes(
          "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512",
        )
      ),
      refused.client_errors.join("\n"),
    );
  });
});

Deno.test("SASL kafka-python (SaslHandshake v0, bare tokens): PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 round trips", async () => {
  await withSaslBroker({}, async (t) => {
    for (
      const [mechanism, username, password] of [
        ["PLAIN", "alice", "alice-secret"],
        ["SCRAM-SHA-256", "alice", "alice-secret"],
        ["SCRAM-SHA-512", "bob", "bob-secret"],
      ]
    ) {
      const topic = `kp-${mechanism}`;
      const r = await runPython("sasl_clients.py", {
        mode: "kafka_python",
        bootstrap: t.bootstrap,
        topic,
        count: 3,
        mechanism,
        username,
        password,
      });
      assertEquals(r, { values: ["m-0", "m-1", "m-2"] }, mechanism);
    }
    assertEquals((await t.saslCounters()).failedLogins, 0);
  });
});

Deno.test("SASL kafkajs: SCRAM-SHA-512 and OAUTHBEARER round trips; a wrong password and an expired token are refused", async () => {
  await withSaslBroker({ http: "127.0.0.1:0", "http-ops-auth": "none" }, async (t) => {
    const scram = kafkajs(t, {
      mechanism: "scram-sha-512",
      username: "bob",
      password: "bob-secret",
    });
    assertEquals(await kafkajsRoundTrip(scram, "kj-scram", ["a", "b"]), ["a", "b"]);
    const token = await t.token({ sub: "svc-billing" });
    const oauth = kafkajs(t, {
      mechanism: "oauthbearer",
      oauthBearerProvider: () => Promise.resolve({ value: token }),
    });
    assertEquals(await kafkajsRoundTrip(oauth, "kj-oauth", ["c"]), ["c"]);

    const wrong = kafkajs(t, { mechanism: "scram-sha-256", username: "alice", password: "nope" });
    await assertRejects(
      () => wrong.producer().connect(),
      /invalid credentials with SASL mechanism SCRAM-SHA-256/,
    );
    // kafkajs takes the broker's invalid_token challenge for success (as against Kafka); its
    // next request is refused: the connection is closed and nothing is produced.
    for (
      const claims of [
        { exp: Math.floor(Date.now() / 1000) - 3600 },
        { iss: "https://elsewhere.test" },
        { aud: "someone-else" },
      ]
    ) {
      const token = await t.token(claims);
      const refused = kafkajs(t, {
        mechanism: "oauthbearer",
        oauthBearerProvider: () => Promise.resolve({ value: token }),
      }).producer();
      await assertRejects(async () => {
        await refused.connect();
        await refused.send({ topic: "kj-refused", messages: [{ value: "x" }] });
      });
      await refused.disconnect();
    }
    assertEquals(await t.hasTopic("kj-scram"), true); // what was produced is seen
    assertEquals(await t.hasTopic("kj-refused"), false);
    assertEquals((await t.saslCounters()).failedLogins, 1);
    const metrics = await (await fetch(`${t.httpUrl}/metrics`)).text();
    assert(metrics.includes("\ndenka_failed_authentication_total 1\n"), metrics);
    const logins = (await t.saslCounters()).logins;
    assert(logins >= 2 && metrics.includes(`\ndenka_successful_authentication_total ${logins}\n`));
  });
});

Deno.test("SASL @platformatic/kafka: SCRAM-SHA-256, PLAIN and OAUTHBEARER produce; a wrong password is refused", async () => {
  await withSaslBroker({}, async (t) => {
    const logins = [
      { mechanism: "SCRAM-SHA-256", username: "alice", password: "alice-secret" },
      { mechanism: "PLAIN", username: "bob", password: "bob-secret" },
      { mechanism: "OAUTHBEARER", token: await t.token() },
    ];
    for (const [i, sasl] of logins.entries()) {
      const producer = new PlatformaticProducer({
        clientId: "denka-sasl",
        bootstrapBrokers: [t.bootstrap],
        serializers: stringSerializers,
        sasl: sasl as never,
        retries: 0,
        autocreateTopics: true,
      });
      try {
        await producer.send({ messages: [{ topic: "pf", value: `pf-${i}` }] });
      } finally {
        await producer.close();
      }
    }
    const got = await kcatConsume(t.bootstrap, { topic: "pf", config: ALICE });
    assertEquals(got.map((m) => m.value), ["pf-0", "pf-1", "pf-2"]);

    const wrong = new PlatformaticProducer({
      clientId: "denka-sasl",
      bootstrapBrokers: [t.bootstrap],
      serializers: stringSerializers,
      sasl: { mechanism: "SCRAM-SHA-256", username: "alice", password: "nope" },
      retries: 0,
    });
    try {
      await assertRejects(() => wrong.send({ messages: [{ topic: "pf", value: "x" }] }));
    } finally {
      await wrong.close();
    }
    assertEquals((await t.saslCounters()).failedLogins, 1);
  });
});

/** How long a session lives in the re-authentication test. */
const REAUTH_MS = 800;

Deno.test("SASL re-authentication: kafkajs keeps one connection past connections.max.reauth.ms; librdkafka 2.0 reconnects", async () => {
  await withSaslBroker({ "connections-max-reauth-ms": String(REAUTH_MS) }, async (t) => {
    // kafkajs re-authenticates before a request once its session is within the threshold of its end.
    const kafka = kafkajs(t, {
      mechanism: "scram-sha-256",
      username: "alice",
      password: "alice-secret",
    }, {
      reauthenticationThreshold: REAUTH_MS / 2,
    });
    const producer = kafka.producer();
    await producer.connect();
    const startedMs = Date.now();
    let sent = 0;
    try {
      // Produce until the sessions have been renewed twice (bounded by a deadline, not a sleep).
      while (
        (await t.saslCounters()).reauthentications < 2 || Date.now() - startedMs < 2 * REAUTH_MS
      ) {
        assert(Date.now() - startedMs < 20_000, "no re-authentication within 20 s");
        await producer.send({ topic: "ra", messages: [{ value: `r-${sent}` }] });
        sent++;
      }
    } finally {
      await producer.disconnect();
    }
    const counters = await t.saslCounters();
    assertEquals(counters.expiredSessionsClosed, 0);
    assertEquals(counters.failedLogins, 0);

    // Debian's librdkafka 2.0.2 predates its KIP-368 support (2.2): the broker closes the
    // expired connection at its next request and the client logs in again on a new one.
    const loop = await runPython<
      { delivered: number; errors: string[]; client_errors: string[] }
    >("sasl_clients.py", {
      mode: "confluent_loop",
      bootstrap: t.bootstrap,
      topic: "ra",
      mechanism: "SCRAM-SHA-512",
      username: "bob",
      password: "bob-secret",
      seconds: (3 * REAUTH_MS) / 1000,
    });
    assertEquals(loop.errors, []);
    assert(!loop.client_errors.some((e) => /Authentication/i.test(e)), loop.client_errors[0]);
    assert(loop.delivered > 0);
    assert((await t.saslCounters()).expiredSessionsClosed >= 1);
    // Read back on the PLAINTEXT listener: a librdkafka 2.0 read of thousands of records
    // can outlast the 800 ms session and be cut off by the very expiry tested above.
    const plaintext = t.listeners.find((l) => l.securityProtocol === "PLAINTEXT")!;
    const got = await kcatConsume(`${plaintext.hostname}:${plaintext.port}`, { topic: "ra" });
    assertEquals(got.length, sent + loop.delivered);
  });
});
