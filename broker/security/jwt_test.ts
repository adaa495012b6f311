import { memoryLibc } from "../../ffi/memory.ts";
import { assert, assertEquals, assertThrows } from "../../util/assert.ts";
import { toBase64Url, utf8 } from "./_crypto.ts";
import { hmacSigner, newSigner, signJwt } from "./_test_jwt.ts";
import { JwtValidator, loadJwksFile } from "./jwt.ts";

const NOW_MS = 1_800_000_000_000;
const nowSec = NOW_MS / 1000;
const nowMs = () => NOW_MS;
const claims = (extra: Record<string, unknown> = {}) => ({
  sub: "alice",
  exp: nowSec + 600,
  ...extra,
});

async function reason(validator: JwtValidator, token: string): Promise<string> {
  const result = await validator.validate(token);
  assert(!result.ok, "the token was accepted");
  return result.reason;
}

for (const alg of ["RS256", "ES256"] as const) {
  Deno.test(`JwtValidator accepts an ${alg} token signed by a JWKS key, refuses another key's`, async () => {
    const signer = await newSigner(alg, "k1");
    const stranger = await newSigner(alg, "k1");
    const validator = await JwtValidator.create({ jwks: { keys: [signer.publicJwk] }, nowMs });
    const result = await validator.validate(await signJwt(signer, claims()));
    assert(result.ok);
    assertEquals(result.principal, "alice");
    assertEquals(result.expiresAtMs, (nowSec + 600) * 1000);
    assertEquals(
      await reason(validator, await signJwt(stranger, claims())),
      "Invalid token signature",
    );
  });
}

Deno.test("JwtValidator picks the JWKS key by kid", async () => {
  const a = await newSigner("ES256", "a");
  const b = await newSigner("RS256", "b");
  const validator = await JwtValidator.create({
    jwks: { keys: [a.publicJwk, b.publicJwk] },
    nowMs,
  });
  assert((await validator.validate(await signJwt(a, claims()))).ok);
  assert((await validator.validate(await signJwt(b, claims()))).ok);
  assertEquals(
    await reason(validator, await signJwt(a, claims(), { kid: "zzz" })),
    'No key for algorithm "ES256" and key id "zzz"',
  );
});

Deno.test("JwtValidator checks HS256 against the shared secret", async () => {
  const secret = utf8("a-shared-secret-of-enough-length!");
  const validator = await JwtValidator.create({ hmacSecret: secret, nowMs });
  assert((await validator.validate(await signJwt(await hmacSigner(secret), claims()))).ok);
  const wrong = await hmacSigner(utf8("another-secret-of-enough-length!!"));
  assertEquals(await reason(validator, await signJwt(wrong, claims())), "Invalid token signature");
});

Deno.test("JwtValidator refuses alg none and algorithm confusion", async () => {
  const rsa = await newSigner("RS256");
  const validator = await JwtValidator.create({ jwks: { keys: [rsa.publicJwk] }, nowMs });
  const body = toBase64Url(utf8(JSON.stringify(claims())));
  const none = `${toBase64Url(utf8('{"alg":"none"}'))}.${body}.`;
  assertEquals(await reason(validator, none), 'No key for algorithm "none" and key id ""');
  // HS256 signed with the RSA public key's bytes as the secret: no HS256 key is configured.
  const confused = await signJwt(await hmacSigner(utf8(JSON.stringify(rsa.publicJwk))), claims());
  assertEquals(await reason(validator, confused), 'No key for algorithm "HS256" and key id ""');
});

Deno.test("JwtValidator checks exp and nbf with the clock skew", async () => {
  const signer = await newSigner("ES256");
  const validator = await JwtValidator.create({
    jwks: { keys: [signer.publicJwk] },
    nowMs,
    clockSkewSec: 30,
  });
  const token = (extra: Record<string, unknown>) => signJwt(signer, claims(extra));
  assert((await validator.validate(await token({ exp: nowSec - 29 }))).ok);
  assertEquals(
    await reason(validator, await token({ exp: nowSec - 31 })),
    `Token expired at ${nowSec - 31}`,
  );
  assert((await validator.validate(await token({ nbf: nowSec + 29 }))).ok);
  assertEquals(
    await reason(validator, await token({ nbf: nowSec + 31 })),
    `Token not valid before ${nowSec + 31}`,
  );
  assertEquals(
    await reason(validator, await token({ exp: undefined })),
    'Token has no numeric "exp" claim',
  );
});

Deno.test("JwtValidator checks iss, aud and the principal claim when configured", async () => {
  const signer = await newSigner("ES256");
  const validator = await JwtValidator.create({
    jwks: { keys: [signer.publicJwk] },
    nowMs,
    expectedIssuer: "https://idp.example",
    expectedAudience: ["denka", "kafka"],
    principalClaim: "preferred_username",
  });
  const good = { iss: "https://idp.example", aud: ["other", "kafka"], preferred_username: "bob" };
  const result = await validator.validate(await signJwt(signer, claims(good)));
  assert(result.ok);
  assertEquals(result.principal, "bob");
  assert((await validator.validate(await signJwt(signer, claims({ ...good, aud: "denka" })))).ok);
  assertEquals(
    await reason(validator, await signJwt(signer, claims({ ...good, iss: "https://evil" }))),
    'Token issuer "https://evil" is not "https://idp.example"',
  );
  assertEquals(
    await reason(validator, await signJwt(signer, claims({ ...good, aud: "other" }))),
    'Token audience "other" is not expected',
  );
  assertEquals(
    await reason(validator, await signJwt(signer, claims({ ...good, preferred_username: "" }))),
    'Token has no "preferred_username" claim naming the principal',
  );
});

Deno.test("JwtValidator refuses malformed tokens without throwing", async () => {
  const validator = await JwtValidator.create({ hmacSecret: utf8("s"), nowMs });
  for (
    const token of [
      "",
      "a.b",
      "a.b.c.d",
      "!!.e30.",
      "e30.bm90anNvbg.",
      "W10.e30.",
      "x".repeat(70000),
    ]
  ) {
    assert(!(await validator.validate(token)).ok, token.slice(0, 20));
  }
});

Deno.test("loadJwksFile() reads a JWKS file, and says which file is wrong", async () => {
  const libc = memoryLibc({ seed: 1 });
  libc.mkdirp("/etc");
  const signer = await newSigner("RS256", "k");
  libc.writeFileAtomic("/etc/jwks.json", utf8(JSON.stringify({ keys: [signer.publicJwk] })));
  const validator = await JwtValidator.create({
    jwks: loadJwksFile(libc, "/etc/jwks.json"),
    nowMs,
  });
  assert((await validator.validate(await signJwt(signer, claims()))).ok);
  assertThrows(
    () => loadJwksFile(libc, "/etc/none.json"),
    /JWKS file "\/etc\/none.json" does not exist/,
  );
  libc.writeFileAtomic("/etc/bad.json", utf8("{}"));
  assertThrows(() => loadJwksFile(libc, "/etc/bad.json"), /has no "keys" array/);
});

Deno.test("JwtValidator.create() names a JWKS key it cannot import", async () => {
  const broken = { kty: "RSA", kid: "bad", e: "AQAB" };
  let message = "";
  try {
    await JwtValidator.create({ jwks: { keys: [broken] } });
  } catch (e) {
    message = (e as Error).message;
  }
  assert(message.startsWith('Invalid JWKS key 0 ("bad"): '), message);
});
