import { assert, assertEquals } from "../../util/assert.ts";
import { digest, fromBase64, hmac, utf8, xor } from "./_crypto.ts";
import { ScramClient, scramLogin } from "./_test_scram_client.ts";
import {
  scramClientKey,
  type ScramCredential,
  scramCredentialFromPassword,
  type ScramMechanism,
  scramMechanismFromCode,
  scramSaltedPassword,
  ScramServer,
} from "./scram.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

function lookupOf(users: Record<string, ScramCredential>) {
  return (user: string) => users[user];
}

Deno.test("ScramServer answers RFC 7677's SCRAM-SHA-256 test vector byte for byte", async () => {
  const credential = await scramCredentialFromPassword("SCRAM-SHA-256", "pencil", {
    salt: fromBase64("W22ZaJ0SNY7soEsUEjb6gQ==")!,
    iterations: 4096,
  });
  const server = new ScramServer("SCRAM-SHA-256", lookupOf({ user: credential }), {
    serverNonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
  });
  const first = await server.evaluate(utf8("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"));
  assert(first.kind === "challenge");
  assertEquals(
    text(first.bytes),
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
  );
  const final = await server.evaluate(utf8(
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," +
      "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
  ));
  assert(final.kind === "complete");
  assertEquals(text(final.bytes), "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  assertEquals(final.authorizationId, "user");
});

for (const mechanism of ["SCRAM-SHA-256", "SCRAM-SHA-512"] as ScramMechanism[]) {
  Deno.test(`ScramServer logs in a client with the right password (${mechanism})`, async () => {
    const users = { "a,b=c": await scramCredentialFromPassword(mechanism, "s3cret") };
    const server = new ScramServer(mechanism, lookupOf(users));
    const step = await scramLogin(server, new ScramClient(mechanism, "a,b=c", "s3cret"));
    assert(step.kind === "complete");
    assertEquals(step.authorizationId, "a,b=c");
    // The exchange is over: anything more fails.
    assertEquals((await server.evaluate(utf8("c=biws"))).kind, "failed");
  });

  Deno.test(`ScramServer refuses a wrong password with Kafka's message (${mechanism})`, async () => {
    const users = { alice: await scramCredentialFromPassword(mechanism, "right") };
    const step = await scramLogin(
      new ScramServer(mechanism, lookupOf(users)),
      new ScramClient(mechanism, "alice", "wrong"),
    );
    assert(step.kind === "failed");
    assertEquals(
      step.errorMessage,
      `Authentication failed during authentication due to invalid credentials with SASL mechanism ${mechanism}`,
    );
    assertEquals(step.reason, "Invalid client credentials");
  });
}

Deno.test("ScramServer fails an unknown user at the proof, like a wrong password", async () => {
  const server = new ScramServer("SCRAM-SHA-256", () => undefined);
  const client = new ScramClient("SCRAM-SHA-256", "ghost", "x");
  const first = await server.evaluate(client.firstMessage());
  assert(first.kind === "challenge");
  assert(/^r=[^,]+,s=[A-Za-z0-9+/=]+,i=4096$/.test(text(first.bytes)));
  // The fake salt is stable for a name, so probing twice shows nothing.
  const again = await new ScramServer("SCRAM-SHA-256", () => undefined)
    .evaluate(new ScramClient("SCRAM-SHA-256", "ghost", "x").firstMessage());
  assert(again.kind === "challenge");
  assertEquals(text(again.bytes).split(",")[1], text(first.bytes).split(",")[1]);
  const final = await server.evaluate(await client.finalMessage(first.bytes));
  assert(final.kind === "failed");
  assertEquals(final.reason, 'Unknown user "ghost"');
  assertEquals(
    final.errorMessage,
    "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256",
  );
});

Deno.test("ScramServer refuses tokenauth, channel binding, and malformed messages", async () => {
  const users = { bob: await scramCredentialFromPassword("SCRAM-SHA-256", "pw") };
  const lookup = lookupOf(users);
  const refused = async (message: string) => {
    const step = await new ScramServer("SCRAM-SHA-256", lookup).evaluate(utf8(message));
    assertEquals(step.kind, "failed", message);
    return step;
  };
  const token = await refused("n,,n=bob,r=abc,tokenauth=true");
  assert(token.kind === "failed" && /Delegation token/.test(token.reason));
  await refused("p=tls-unique,,n=bob,r=abc");
  await refused("y,,n=bob,r=abc");
  await refused("n,,m=ext,n=bob,r=abc");
  await refused("n,,n=bo=b,r=abc");
  await refused("n,,n=bob");
  await refused("n,,n=bob,r=");
  await refused("garbage");
  const bad = await new ScramServer("SCRAM-SHA-256", lookup).evaluate(new Uint8Array([0xff, 0xfe]));
  assertEquals(bad.kind, "failed");
  // An unknown extension is ignored, as Kafka ignores it.
  const ok = await new ScramServer("SCRAM-SHA-256", lookup).evaluate(utf8("n,,n=bob,r=abc,foo=1"));
  assertEquals(ok.kind, "challenge");
});

Deno.test("ScramServer checks the final message's channel binding, nonce and proof", async () => {
  const users = { bob: await scramCredentialFromPassword("SCRAM-SHA-512", "pw") };
  const attempt = async (edit: (final: string) => string) => {
    const server = new ScramServer("SCRAM-SHA-512", lookupOf(users));
    const client = new ScramClient("SCRAM-SHA-512", "bob", "pw");
    const first = await server.evaluate(client.firstMessage());
    assert(first.kind === "challenge");
    return server.evaluate(utf8(edit(text(await client.finalMessage(first.bytes)))));
  };
  assertEquals((await attempt((f) => f)).kind, "complete");
  assertEquals((await attempt((f) => f.replace("c=biws", "c=eSws"))).kind, "failed");
  assertEquals((await attempt((f) => f.replace(/,r=([^,]+)/, ",r=$1x"))).kind, "failed");
  assertEquals((await attempt((f) => f.replace(/,r=[^,]{4}/, ",r="))).kind, "failed");
  assertEquals((await attempt((f) => f.replace(/p=.*/, "p=AAAA"))).kind, "failed");
  assertEquals((await attempt((f) => f.replace(/p=.*/, "p=!!"))).kind, "failed");
  assertEquals((await attempt((f) => f.replace(/,p=.*/, ""))).kind, "failed");
  const flipped = await attempt((f) => {
    const proof = fromBase64(f.slice(f.indexOf(",p=") + 3))!;
    proof[0] ^= 1;
    return f.slice(0, f.indexOf(",p=") + 3) + btoa(String.fromCharCode(...proof));
  });
  assertEquals(flipped.kind, "failed");
});

Deno.test("ScramServer honours an authorization id only when it is the user", async () => {
  const users = { bob: await scramCredentialFromPassword("SCRAM-SHA-256", "pw") };
  const same = await scramLogin(
    new ScramServer("SCRAM-SHA-256", lookupOf(users)),
    new ScramClient("SCRAM-SHA-256", "bob", "pw", { authorizationId: "bob" }),
  );
  assertEquals(same.kind, "complete");
  const other = await scramLogin(
    new ScramServer("SCRAM-SHA-256", lookupOf(users)),
    new ScramClient("SCRAM-SHA-256", "bob", "pw", { authorizationId: "admin" }),
  );
  assert(other.kind === "failed");
  assertEquals(
    other.errorMessage,
    "Authentication failed: Client requested an authorization id that is different from username",
  );
});

Deno.test("ScramServer refuses a stored credential below 4096 iterations", async () => {
  const weak = await scramCredentialFromPassword("SCRAM-SHA-256", "pw", { iterations: 1000 });
  const step = await new ScramServer("SCRAM-SHA-256", () => weak)
    .evaluate(new ScramClient("SCRAM-SHA-256", "bob", "pw").firstMessage());
  assert(step.kind === "failed");
  assertEquals(step.reason, "Iterations 1000 is less than the minimum 4096 for SCRAM-SHA-256");
});

Deno.test("scramMechanismFromCode() maps Kafka's codes", () => {
  assertEquals(scramMechanismFromCode(1), "SCRAM-SHA-256");
  assertEquals(scramMechanismFromCode(2), "SCRAM-SHA-512");
  assertEquals(scramMechanismFromCode(0), undefined);
  assertEquals(scramMechanismFromCode(3), undefined);
});

Deno.test("ScramServer accepts a final nonce that ends with the server's (librdkafka 2.0's form)", async () => {
  const users = { bob: await scramCredentialFromPassword("SCRAM-SHA-256", "pw") };
  const server = new ScramServer("SCRAM-SHA-256", lookupOf(users));
  const first = await server.evaluate(utf8("n,,n=bob,r=cn0nce"));
  assert(first.kind === "challenge");
  const serverFirst = text(first.bytes);
  const [, nonce, salt, iterations] = /^r=([^,]+),s=([^,]+),i=(\d+)$/.exec(serverFirst)!;
  const salted = await scramSaltedPassword("SCRAM-SHA-256", "pw", {
    salt: fromBase64(salt)!,
    iterations: Number(iterations),
  });
  const clientKey = scramClientKey("SCRAM-SHA-256", salted);
  const withoutProof = `c=biws,r=cn0nce${nonce}`; // the client nonce once more in front
  const authMessage = utf8(`n=bob,r=cn0nce,${serverFirst},${withoutProof}`);
  const signature = hmac("SHA-256", digest("SHA-256", clientKey), authMessage);
  const proof = btoa(String.fromCharCode(...xor(clientKey, signature)));
  const final = await server.evaluate(utf8(`${withoutProof},p=${proof}`));
  assertEquals(final.kind, "complete");
});
