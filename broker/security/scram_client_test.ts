import { assert, assertEquals, assertRejects, assertThrows } from "../../util/assert.ts";
import { fromBase64, utf8 } from "./_crypto.ts";
import { scramCredentialFromPassword, type ScramMechanism, ScramServer } from "./scram.ts";
import { ScramClient } from "./scram_client.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const RFC_SALT = "W22ZaJ0SNY7soEsUEjb6gQ==";
const RFC_CLIENT_NONCE = "rOprNGfwEbeRWgbNEkqO";
const RFC_SERVER_FIRST =
  "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";

function rfcClient(password = "pencil") {
  return new ScramClient("SCRAM-SHA-256", { username: "user", password }, {
    nonce: RFC_CLIENT_NONCE,
  });
}

Deno.test("ScramClient produces RFC 7677's SCRAM-SHA-256 client messages byte for byte", async () => {
  const client = rfcClient();
  assertEquals(text(client.firstMessage()), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  assertEquals(
    text(await client.finalMessage(utf8(RFC_SERVER_FIRST))),
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," +
      "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
  );
  client.verifyServerFinal(utf8("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="));
});

Deno.test("ScramClient.verifyServerFinal() throws on a wrong signature or an error", async () => {
  const client = rfcClient();
  client.firstMessage();
  await client.finalMessage(utf8(RFC_SERVER_FIRST));
  assertThrows(
    () => client.verifyServerFinal(utf8("v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")),
    /does not verify/,
  );
  assertThrows(() => client.verifyServerFinal(utf8("v=")), /does not verify/);
  assertThrows(() => client.verifyServerFinal(utf8("e=invalid-proof")), /invalid-proof/);
});

Deno.test("ScramClient.finalMessage() refuses a nonce it did not start, bad salt or iterations", async () => {
  for (
    const [serverFirst, message] of [
      [`r=other${RFC_CLIENT_NONCE}x,s=${RFC_SALT},i=4096`, "does not extend"],
      [`r=${RFC_CLIENT_NONCE},s=${RFC_SALT},i=4096`, "does not extend"],
      [`r=${RFC_CLIENT_NONCE}x,s=***,i=4096`, "Bad SCRAM salt"],
      [`r=${RFC_CLIENT_NONCE}x,s=${RFC_SALT},i=0`, "out of range"],
      [`r=${RFC_CLIENT_NONCE}x,s=${RFC_SALT},i=99999999`, "out of range"],
      ["garbage", "Malformed"],
    ]
  ) {
    const client = rfcClient();
    client.firstMessage();
    await assertRejects(() => client.finalMessage(utf8(serverFirst)), new RegExp(message));
  }
});

for (const mechanism of ["SCRAM-SHA-256", "SCRAM-SHA-512"] as ScramMechanism[]) {
  Deno.test(`ScramClient logs in to ScramServer with ${mechanism}, and a wrong password fails`, async () => {
    const credential = await scramCredentialFromPassword(mechanism, "s3cret", {
      salt: fromBase64(RFC_SALT)!,
      iterations: 4096,
    });
    const login = async (password: string) => {
      const server = new ScramServer(mechanism, (u) => u === "broker" ? credential : undefined);
      const client = new ScramClient(mechanism, { username: "broker", password });
      const first = await server.evaluate(client.firstMessage());
      assert(first.kind === "challenge");
      const final = await server.evaluate(await client.finalMessage(first.bytes));
      if (final.kind === "complete") client.verifyServerFinal(final.bytes);
      return final.kind;
    };
    assertEquals(await login("s3cret"), "complete");
    assertEquals(await login("wrong"), "failed");
  });
}
