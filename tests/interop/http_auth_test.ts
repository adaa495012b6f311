/**
 * Authentication of the HTTP API over real loopback HTTP(S), on brokers
 * started with `--http-auth required`: nothing is readable without
 * credentials, Basic passwords are checked against the SCRAM keys users were
 * created with (`denka users add`), failed logins are slowed down, no
 * password reaches the data directory, `/metrics` and `/health/*` are open
 * or closed by `--http-ops-auth`, and HTTPS serves with a test CA's
 * certificate.
 */
import { assert } from "../../util/assert.ts";
import type { BrokerHandle, StartBrokerOptions } from "../../mod.ts";
import { makeDataDir, startTestBroker } from "./harness.ts";
import {
  addUser,
  basic,
  containsBytes,
  filesUnder,
  makeCertificates,
} from "./http_security_helpers.ts";

const ALICE_PASSWORD = "alice-Secret-9f3c";
const BOB_PASSWORD = "bob-Secret-55e1";

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

async function send(
  method: string,
  url: string,
  headers: Record<string, string> = {},
  body?: unknown,
  client?: Deno.HttpClient,
): Promise<Answer> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? headers : { ...headers, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    client,
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** Runs `fn` against a broker over a data dir holding users alice (SHA-256) and bob (SHA-512). */
async function withUsersBroker(
  options: Omit<StartBrokerOptions, "port" | "dataDir">,
  fn: (broker: BrokerHandle, dataDir: string) => Promise<void>,
): Promise<void> {
  const dataDir = await makeDataDir();
  try {
    await addUser(dataDir, "alice", ALICE_PASSWORD, "SCRAM-SHA-256");
    await addUser(dataDir, "bob", BOB_PASSWORD, "SCRAM-SHA-512");
    const broker = await startTestBroker(dataDir, { http: { port: 0 }, ...options });
    try {
      await fn(broker, dataDir);
    } finally {
      await broker.close();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
}

Deno.test("HTTP API with --http-auth required: nothing is readable without credentials", async () => {
  await withUsersBroker({ httpAuth: "required" }, async (broker) => {
    const url = broker.httpUrl!;
    const cluster = `${url}/v3/clusters/${broker.config.clusterId}`;
    const alice = basic("alice", ALICE_PASSWORD);
    const created = await send("POST", `${cluster}/topics`, alice, {
      topic_name: "auth-secret",
      partitions_count: 1,
    });
    assert.equal(created.status, 201, created.text);
    const produced = await send("POST", `${cluster}/topics/auth-secret/records`, alice, {
      value: { type: "JSON", data: "classified" },
    });
    assert.equal(produced.status, 200, produced.text);

    const paths = [
      "/",
      "/console/app.js",
      "/v3/clusters",
      `/v3/clusters/${broker.config.clusterId}`,
      `/v3/clusters/${broker.config.clusterId}/topics`,
      `/v3/clusters/${broker.config.clusterId}/topics/auth-secret`,
      `/v3/clusters/${broker.config.clusterId}/topics/auth-secret/partitions`,
      `/v3/clusters/${broker.config.clusterId}/topics/auth-secret/partitions/0/records?offset=0`,
      `/v3/clusters/${broker.config.clusterId}/consumer-groups`,
      "/denka/v1/throughput",
      "/metrics",
      "/health/ready",
      "/no/such/route",
    ];
    for (const path of paths) {
      const answer = await send("GET", `${url}${path}`);
      assert.equal(answer.status, 401, `GET ${path} without credentials`);
      assert.ok(!answer.text.includes("auth-secret"), `GET ${path} leaks the topic name`);
      assert.ok(!answer.text.includes("classified"), `GET ${path} leaks a record`);
      const challenge = answer.headers.get("www-authenticate") ?? "";
      assert.ok(challenge.includes('Basic realm="denka"'), `GET ${path}: "${challenge}"`);
    }
    const writes: [string, string, unknown][] = [
      ["POST", `${cluster}/topics/auth-secret/records`, { value: { type: "JSON", data: 1 } }],
      ["POST", `${cluster}/topics`, { topic_name: "auth-other" }],
      ["PATCH", `${cluster}/topics/auth-secret`, { partitions_count: 3 }],
      ["DELETE", `${cluster}/topics/auth-secret`, undefined],
    ];
    for (const [method, target, body] of writes) {
      const answer = await send(method, target, {}, body);
      assert.equal(answer.status, 401, `${method} ${target} without credentials`);
    }
    // Nothing above changed anything.
    const partitions = await send("GET", `${cluster}/topics/auth-secret/partitions`, alice);
    const [p0] = JSON.parse(partitions.text).data;
    assert.equal(p0.high_watermark, 1);
    const topics = JSON.parse((await send("GET", `${cluster}/topics`, alice)).text);
    assert.deepEqual(topics.data.map((t: { topic_name: string }) => t.topic_name), [
      "auth-secret",
    ]);
    assert.equal(JSON.parse(partitions.text).data.length, 1);
  });
});

Deno.test("HTTP Basic: the right password of a SCRAM-SHA-256 or -512 user passes, a wrong one is refused and slowed down", async () => {
  await withUsersBroker({ httpAuth: "required" }, async (broker, dataDir) => {
    const topics = `${broker.httpUrl}/v3/clusters/${broker.config.clusterId}/topics`;
    assert.equal((await send("GET", topics, basic("alice", ALICE_PASSWORD))).status, 200);
    assert.equal((await send("GET", topics, basic("bob", BOB_PASSWORD))).status, 200);
    const refused = [
      basic("alice", BOB_PASSWORD),
      basic("alice", `${ALICE_PASSWORD}x`),
      basic("bob", ""),
      basic("mallory", ALICE_PASSWORD),
      { authorization: "Basic !!!" },
      { authorization: "Digest username=alice" },
      { authorization: "Bearer not-a-token" }, // no token validator configured
    ];
    const timed = async (headers: Record<string, string>) => {
      const startedMs = performance.now();
      const answer = await send("GET", topics, headers);
      return { answer, delayMs: performance.now() - startedMs };
    };
    for (const headers of refused) {
      const { answer, delayMs } = await timed(headers);
      assert.equal(answer.status, 401, headers.authorization);
      assert.match(JSON.parse(answer.text).message, /Authentication failed/);
      // Kafka's connection.failed.authentication.delay.ms (100 ms) before the answer.
      assert.ok(delayMs >= 100, `${headers.authorization}: answered after ${delayMs} ms`);
      // A success from the address forgets its failures.
      assert.equal((await send("GET", topics, basic("alice", ALICE_PASSWORD))).status, 200);
    }
    // Failures in a row from one address double the delay.
    const delaysMs: number[] = [];
    for (let i = 0; i < 3; i++) delaysMs.push((await timed(basic("alice", "wrong"))).delayMs);
    assert.ok(delaysMs[1] >= 200, `second failure in a row answered after ${delaysMs[1]} ms`);
    assert.ok(delaysMs[2] >= 400, `third failure in a row answered after ${delaysMs[2]} ms`);

    // The users' passwords are nowhere in the data directory, in clear or in base64.
    const needles = [ALICE_PASSWORD, BOB_PASSWORD].flatMap((p) => [p, btoa(p)])
      .map((text) => new TextEncoder().encode(text));
    const files = await filesUnder(dataDir);
    assert.ok(files.some((f) => f.path.endsWith("denka-scram-credentials.json")));
    for (const file of files) {
      for (const needle of needles) {
        assert.ok(!containsBytes(file.bytes, needle), `a password is in "${file.path}"`);
      }
    }
  });
});

Deno.test("/metrics and /health/* are open with --http-ops-auth none and closed by default", async () => {
  await withUsersBroker({ httpAuth: "required", httpOpsAuth: "none" }, async (broker) => {
    const url = broker.httpUrl!;
    for (const path of ["/metrics", "/health/live", "/health/ready"]) {
      assert.equal((await send("GET", `${url}${path}`)).status, 200, path);
    }
    assert.equal((await send("GET", `${url}/v3/clusters`)).status, 401);
    assert.equal((await send("GET", `${url}/`)).status, 401);
  });
  await withUsersBroker({ httpAuth: "required" }, async (broker) => {
    const url = broker.httpUrl!;
    for (const path of ["/metrics", "/health/live", "/health/ready"]) {
      assert.equal((await send("GET", `${url}${path}`)).status, 401, path);
      const withAlice = await send("GET", `${url}${path}`, basic("alice", ALICE_PASSWORD));
      assert.equal(withAlice.status, 200, path);
    }
  });
});

Deno.test("HTTPS with --http-tls: a test CA's certificate, Basic credentials over TLS, no plain HTTP", async () => {
  const certs = await makeCertificates();
  const client = Deno.createHttpClient({ caCerts: [certs.caPem] });
  try {
    await withUsersBroker({
      httpAuth: "required",
      httpTls: true,
      tls: { certFile: certs.certFile, keyFile: certs.keyFile },
    }, async (broker) => {
      const url = broker.httpUrl!;
      assert.ok(url.startsWith("https://127.0.0.1:"), url);
      const topics = `${url}/v3/clusters/${broker.config.clusterId}/topics`;
      const ok = await send("GET", topics, basic("alice", ALICE_PASSWORD), undefined, client);
      assert.equal(ok.status, 200);
      const none = await send("GET", topics, {}, undefined, client);
      assert.equal(none.status, 401);
      // A client that does not trust the test CA refuses the certificate.
      await assert.rejects(() => fetch(topics).then((r) => r.body?.cancel()));
      // Plain HTTP to the HTTPS port gets no HTTP answer.
      await assert.rejects(() =>
        fetch(topics.replace("https://", "http://")).then((r) => r.body?.cancel())
      );
    });
  } finally {
    client.close();
    await Deno.remove(certs.dir, { recursive: true });
  }
});
