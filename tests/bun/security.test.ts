/**
 * The security core under Bun (`deno task test:bun`): its crypto comes from
 * the runtime (WebCrypto PBKDF2, ECDSA and RSA; `node:crypto` HMAC, hashes
 * and `timingSafeEqual`), so the RFC 7677 vector, SCRAM and PLAIN logins
 * and JWT checks run here as well as under Deno.
 *
 * @module
 */
import { test } from "bun:test";
import { memoryLibc } from "../../ffi/memory.ts";
import { fromBase64, utf8 } from "../../broker/security/_crypto.ts";
import { newSigner, signJwt } from "../../broker/security/_test_jwt.ts";
import { ScramClient, scramLogin } from "../../broker/security/_test_scram_client.ts";
import { ScramCredentialStore } from "../../broker/security/credentials.ts";
import { JwtValidator } from "../../broker/security/jwt.ts";
import {
  oauthBearerInitialResponse,
  OAuthBearerServer,
} from "../../broker/security/oauthbearer.ts";
import { plainMessage, PlainServer } from "../../broker/security/plain.ts";
import {
  scramCredentialFromPassword,
  scramSaltedPassword,
  ScramServer,
} from "../../broker/security/scram.ts";
import { assert } from "../../util/assert.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

test("ScramServer answers RFC 7677's test vector under Bun", async () => {
  const credential = await scramCredentialFromPassword("SCRAM-SHA-256", "pencil", {
    salt: fromBase64("W22ZaJ0SNY7soEsUEjb6gQ==")!,
    iterations: 4096,
  });
  const server = new ScramServer("SCRAM-SHA-256", () => credential, {
    serverNonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
  });
  const first = await server.evaluate(utf8("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"));
  assert.equal(first.kind, "challenge");
  const final = await server.evaluate(utf8(
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," +
      "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
  ));
  assert(final.kind === "complete");
  assert.equal(text(final.bytes), "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
});

test("SCRAM and PLAIN logins against the credential store under Bun", async () => {
  const libc = memoryLibc({ seed: 1 });
  libc.mkdirp("/d");
  const store = ScramCredentialStore.open(libc, "/d");
  const salt = crypto.getRandomValues(new Uint8Array(32));
  const saltedPassword = await scramSaltedPassword("SCRAM-SHA-512", "pw", {
    salt,
    iterations: 4096,
  });
  store.alter([], [{ name: "alice", mechanism: 2, iterations: 4096, salt, saltedPassword }]);
  const lookup = (u: string, m: "SCRAM-SHA-256" | "SCRAM-SHA-512") => store.get(u, m);
  const ok = await scramLogin(
    new ScramServer("SCRAM-SHA-512", lookup),
    new ScramClient("SCRAM-SHA-512", "alice", "pw"),
  );
  assert.equal(ok.kind, "complete");
  const bad = await scramLogin(
    new ScramServer("SCRAM-SHA-512", lookup),
    new ScramClient("SCRAM-SHA-512", "alice", "px"),
  );
  assert.equal(bad.kind, "failed");
  assert.equal(
    (await new PlainServer(lookup).evaluate(plainMessage("alice", "pw"))).kind,
    "complete",
  );
  assert.equal(
    (await new PlainServer(lookup).evaluate(plainMessage("alice", "px"))).kind,
    "failed",
  );
});

test("JWT RS256 and ES256 tokens and OAUTHBEARER under Bun", async () => {
  const rsa = await newSigner("RS256", "r");
  const ec = await newSigner("ES256", "e");
  const validator = await JwtValidator.create({ jwks: { keys: [rsa.publicJwk, ec.publicJwk] } });
  const exp = Math.floor(Date.now() / 1000) + 60;
  for (const signer of [rsa, ec]) {
    const step = await new OAuthBearerServer(validator)
      .evaluate(oauthBearerInitialResponse(await signJwt(signer, { sub: "svc", exp })));
    assert(step.kind === "complete");
    assert.equal(step.authorizationId, "svc");
  }
  const stranger = await newSigner("ES256", "e");
  const refused = await validator.validate(await signJwt(stranger, { sub: "svc", exp }));
  assert.equal(refused.ok, false);
});
