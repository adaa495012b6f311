/**
 * Authorization and bearer tokens on the HTTP API, over real loopback HTTP
 * against a real broker: the HTTP listener is started here with the
 * broker's SCRAM credentials, an ACL store in the data directory and a JWT
 * validator, as the broker wires them when an authorizer and OAUTHBEARER are
 * configured. A principal allowed READ on the topic prefix `orders-` reads
 * but cannot produce, create, alter or delete; topics and groups it may not
 * describe are hidden; bearer tokens are checked for signature, expiry and
 * audience.
 */
import { assert } from "../../util/assert.ts";
import { newSigner, signJwt } from "../../broker/security/_test_jwt.ts";
import {
  basic,
  bearer,
  SECURED_PASSWORDS as PASSWORDS,
  withSecuredHttp,
} from "./http_security_helpers.ts";

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  // deno-lint-ignore no-explicit-any
  readonly body: any;
}

async function send(
  method: string,
  url: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<Answer> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? headers : { ...headers, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const type = res.headers.get("content-type") ?? "";
  return {
    status: res.status,
    headers: res.headers,
    body: type.startsWith("application/json") ? JSON.parse(text) : text,
  };
}

const admin = basic("admin", PASSWORDS.admin);
const alice = basic("alice", PASSWORDS.alice);
const carol = basic("carol", PASSWORDS.carol);
const record = (data: string) => ({ value: { type: "JSON", data } });

Deno.test("HTTP ACLs: READ on a topic prefix reads but cannot produce, create, alter or delete", async () => {
  await withSecuredHttp(async ({ cluster }) => {
    for (const name of ["orders-1", "payroll"]) {
      const created = await send("POST", `${cluster}/topics`, admin, { topic_name: name });
      assert.equal(created.status, 201);
      const produced = await send("POST", `${cluster}/topics/${name}/records`, admin, record(name));
      assert.equal(produced.status, 200);
    }
    const read = await send("GET", `${cluster}/topics/orders-1/partitions/0/records`, alice);
    assert.equal(read.status, 200);
    assert.equal(atob(read.body.data[0].value), '"orders-1"');
    assert.equal((await send("GET", `${cluster}/topics/orders-1`, alice)).status, 200);

    const refusals: [string, string, unknown, string, string, string][] = [
      ["POST", "/topics/orders-1/records", record("x"), "WRITE", "TOPIC", "orders-1"],
      ["DELETE", "/topics/orders-1", undefined, "DELETE", "TOPIC", "orders-1"],
      ["PATCH", "/topics/orders-1", { partitions_count: 2 }, "ALTER", "TOPIC", "orders-1"],
      ["POST", "/topics", { topic_name: "orders-2" }, "CREATE", "TOPIC", "orders-2"],
      ["GET", "/topics/payroll/partitions/0/records", undefined, "READ", "TOPIC", "payroll"],
      ["GET", "/topics/payroll", undefined, "DESCRIBE", "TOPIC", "payroll"],
      // Refused before the look-up: a topic alice may not describe does not tell if it exists.
      ["GET", "/topics/no-such-topic", undefined, "DESCRIBE", "TOPIC", "no-such-topic"],
    ];
    for (const [method, path, body, operation, type, name] of refusals) {
      const answer = await send(method, `${cluster}${path}`, alice, body);
      assert.equal(answer.status, 403, `${method} ${path}`);
      assert.equal(answer.body.error_code, 40301);
      assert.equal(answer.body.operation, operation);
      assert.equal(answer.body.resource_type, type);
      assert.equal(answer.body.resource_name, name);
      assert.equal(
        answer.body.message,
        `Principal "User:alice" is not authorized to ${operation} ${type} "${name}".`,
      );
    }
    // A topic under the prefix that does not exist is 404: alice may describe it.
    assert.equal((await send("GET", `${cluster}/topics/orders-9`, alice)).status, 404);
    // Nothing was written, altered or deleted.
    const p = await send("GET", `${cluster}/topics/orders-1/partitions`, admin);
    assert.equal(p.body.data.length, 1);
    assert.equal(p.body.data[0].high_watermark, 1);
    // The topic list shows what alice may describe, and everything to the super user.
    const names = async (headers: Record<string, string>) =>
      (await send("GET", `${cluster}/topics`, headers)).body.data
        .map((t: { topic_name: string }) => t.topic_name).sort();
    assert.deepEqual(await names(alice), ["orders-1"]);
    assert.deepEqual(await names(admin), ["orders-1", "payroll"]);
    // CREATE on the CLUSTER allows any topic; without WRITE, carol still cannot produce.
    const created = await send("POST", `${cluster}/topics`, carol, { topic_name: "carols" });
    assert.equal(created.status, 201);
    const carolWrite = await send("POST", `${cluster}/topics/carols/records`, carol, record("c"));
    assert.equal(carolWrite.status, 403);
  });
});

Deno.test("HTTP ACLs: groups and /metrics show only what the principal may describe", async () => {
  await withSecuredHttp(async ({ url, cluster, broker }) => {
    for (const id of ["alice-group", "other-group"]) broker.groups.group(id, true);
    const groups = async (headers: Record<string, string>) =>
      (await send("GET", `${cluster}/consumer-groups`, headers)).body.data
        .map((g: { consumer_group_id: string }) => g.consumer_group_id);
    assert.deepEqual(await groups(alice), ["alice-group"]);
    assert.deepEqual(await groups(admin), ["alice-group", "other-group"]);
    assert.equal((await send("GET", `${cluster}/consumer-groups/alice-group`, alice)).status, 200);
    const other = await send("GET", `${cluster}/consumer-groups/other-group`, alice);
    assert.equal(other.status, 403);
    assert.equal(other.body.resource_type, "GROUP");
    // /metrics names every topic and group: DESCRIBE on the CLUSTER.
    assert.equal((await send("GET", `${url}/metrics`, alice)).status, 403);
    assert.equal((await send("GET", `${url}/metrics`, carol)).status, 200);
    assert.equal((await send("GET", `${url}/health/ready`, alice)).status, 200);
  });
});

Deno.test("HTTP bearer JWT: a valid token is its sub's principal; expired, wrong audience or forged refused", async () => {
  await withSecuredHttp(async ({ cluster, signer }) => {
    await send("POST", `${cluster}/topics`, admin, { topic_name: "orders-7" });
    const nowSec = Math.floor(Date.now() / 1000);
    const claims = { sub: "alice", aud: "denka", exp: nowSec + 600 };
    const token = await signJwt(signer, claims);
    const read = `${cluster}/topics/orders-7/partitions/0/records`;
    assert.equal((await send("GET", read, bearer(token))).status, 200);
    const write = await send(
      "POST",
      `${cluster}/topics/orders-7/records`,
      bearer(token),
      record("x"),
    );
    assert.equal(write.status, 403);
    assert.equal(
      write.body.message,
      'Principal "User:alice" is not authorized to WRITE TOPIC "orders-7".',
    );

    const forger = await newSigner("ES256", "k1");
    const refused = {
      expired: await signJwt(signer, { ...claims, exp: nowSec - 60 }),
      "wrong audience": await signJwt(signer, { ...claims, aud: "someone-else" }),
      forged: await signJwt(forger, claims),
      garbage: "a.b.c",
    };
    for (const [what, bad] of Object.entries(refused)) {
      const answer = await send("GET", read, bearer(bad));
      assert.equal(answer.status, 401, what);
      const challenge = answer.headers.get("www-authenticate") ?? "";
      assert.ok(challenge.includes('Bearer realm="denka", error="invalid_token"'), challenge);
      assert.ok(challenge.includes('Basic realm="denka"'), challenge);
    }
  });
});
