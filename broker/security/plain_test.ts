import { assert, assertEquals } from "../../util/assert.ts";
import { utf8 } from "./_crypto.ts";
import { plainMessage, PlainServer, verifyPassword } from "./plain.ts";
import { type ScramCredential, scramCredentialFromPassword, type ScramMechanism } from "./scram.ts";

async function usersWith(entries: [string, ScramMechanism, string][]) {
  const map = new Map<string, ScramCredential>();
  for (const [user, m, pw] of entries) {
    map.set(`${user}/${m}`, await scramCredentialFromPassword(m, pw));
  }
  return (user: string, m: ScramMechanism) => map.get(`${user}/${m}`);
}

Deno.test("PlainServer logs in with the password behind a stored SCRAM key", async () => {
  const lookup = await usersWith([["alice", "SCRAM-SHA-256", "pw-a"], [
    "bob",
    "SCRAM-SHA-512",
    "pw-b",
  ]]);
  const alice = await new PlainServer(lookup).evaluate(plainMessage("alice", "pw-a"));
  assert(alice.kind === "complete");
  assertEquals(alice.authorizationId, "alice");
  assertEquals(alice.bytes.length, 0);
  const bob = await new PlainServer(lookup).evaluate(plainMessage("bob", "pw-b", "bob"));
  assertEquals(bob.kind, "complete");
});

Deno.test("PlainServer answers Kafka's messages for every refusal", async () => {
  const lookup = await usersWith([["alice", "SCRAM-SHA-256", "pw-a"]]);
  const message = async (token: Uint8Array) => {
    const step = await new PlainServer(lookup).evaluate(token);
    assert(step.kind === "failed");
    return step.errorMessage;
  };
  assertEquals(
    await message(plainMessage("alice", "wrong")),
    "Authentication failed: Invalid username or password",
  );
  assertEquals(
    await message(plainMessage("nobody", "pw-a")),
    "Authentication failed: Invalid username or password",
  );
  assertEquals(
    await message(plainMessage("", "x")),
    "Authentication failed: username not specified",
  );
  assertEquals(
    await message(plainMessage("alice", "")),
    "Authentication failed: password not specified",
  );
  assertEquals(
    await message(plainMessage("alice", "pw-a", "admin")),
    "Authentication failed: Client requested an authorization id that is different from username",
  );
  assertEquals(
    await message(utf8("alice\0pw-a")),
    "Authentication failed during authentication due to invalid credentials with SASL mechanism PLAIN",
  );
  assertEquals(
    await message(utf8("\0a\0b\0c")),
    "Authentication failed during authentication due to invalid credentials with SASL mechanism PLAIN",
  );
});

Deno.test("PlainServer accepts one message only", async () => {
  const lookup = await usersWith([["alice", "SCRAM-SHA-256", "pw-a"]]);
  const server = new PlainServer(lookup);
  assertEquals((await server.evaluate(plainMessage("alice", "pw-a"))).kind, "complete");
  assertEquals((await server.evaluate(plainMessage("alice", "pw-a"))).kind, "failed");
});

Deno.test("verifyPassword() prefers the SCRAM-SHA-256 credential, else SCRAM-SHA-512", async () => {
  const lookup = await usersWith([
    ["carol", "SCRAM-SHA-256", "for-256"],
    ["carol", "SCRAM-SHA-512", "for-512"],
    ["dave", "SCRAM-SHA-512", "only-512"],
  ]);
  assertEquals(await verifyPassword(lookup, "carol", "for-256"), true);
  assertEquals(await verifyPassword(lookup, "carol", "for-512"), false);
  assertEquals(await verifyPassword(lookup, "dave", "only-512"), true);
  assertEquals(await verifyPassword(lookup, "dave", "only-51"), false);
  assertEquals(await verifyPassword(lookup, "erin", "anything"), false);
});
