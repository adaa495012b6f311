import { assert } from "../../util/assert.ts";
import { LoginThrottle } from "../security/login_throttle.ts";
import { JwtValidator } from "../security/jwt.ts";
import { hmacSigner, signJwt } from "../security/_test_jwt.ts";
import {
  type ScramCredential,
  scramCredentialFromPassword,
  type ScramMechanism,
} from "../security/scram.ts";
import { decodeBasic, HttpAuthenticator, LOGIN_CACHE_MS } from "./auth.ts";

/** A mutable credential table standing in for the broker's store. */
class Users {
  readonly map = new Map<string, ScramCredential>();
  async set(user: string, password: string, mechanism: ScramMechanism = "SCRAM-SHA-256") {
    this.map.set(`${user}/${mechanism}`, await scramCredentialFromPassword(mechanism, password));
  }
  lookup = (user: string, mechanism: ScramMechanism) => this.map.get(`${user}/${mechanism}`);
}

function basicHeader(user: string, password: string): string {
  return `Basic ${btoa(String.fromCharCode(...new TextEncoder().encode(`${user}:${password}`)))}`;
}

function authenticator(
  users: Users,
  options: { nowMs?: () => number; cacheEntriesMax?: number } = {},
) {
  const throttle = new LoginThrottle({ delayMs: 100 });
  return new HttpAuthenticator({ credentials: users.lookup, throttle, ...options });
}

Deno.test("HttpAuthenticator: Basic passes with the password behind the stored keys, else 401 with a delay", async () => {
  const users = new Users();
  await users.set("alice", "pw-a");
  await users.set("bob", "pw-b", "SCRAM-SHA-512");
  const auth = authenticator(users);
  assert.deepEqual(await auth.authenticate(basicHeader("alice", "pw-a"), "10.0.0.1"), {
    ok: true,
    principal: "User:alice",
    scheme: "Basic",
  });
  assert.equal((await auth.authenticate(basicHeader("bob", "pw-b"), "10.0.0.1")).ok, true);
  const wrong = await auth.authenticate(basicHeader("alice", "pw-b"), "10.0.0.2");
  assert.ok(!wrong.ok);
  assert.equal(wrong.delayMs, 100);
  assert.deepEqual(wrong.challenges, ['Basic realm="denka", charset="UTF-8"']);
  const again = await auth.authenticate(basicHeader("nobody", "pw-a"), "10.0.0.2");
  assert.ok(!again.ok && again.delayMs === 200, "a second failure from one address waits longer");
  const missing = await auth.authenticate(undefined, "10.0.0.3");
  assert.ok(!missing.ok && missing.delayMs === 0, "no credentials is a challenge, not a failure");
});

Deno.test("HttpAuthenticator: a remembered login ends when the user's credential changes or expires", async () => {
  const users = new Users();
  await users.set("alice", "old");
  let nowMs = 1_000_000;
  const auth = authenticator(users, { nowMs: () => nowMs });
  assert.equal((await auth.authenticate(basicHeader("alice", "old"), "h")).ok, true);
  assert.equal(auth.cachedLoginCount, 1);
  await users.set("alice", "new"); // AlterUserScramCredentials replaces the credential
  assert.equal((await auth.authenticate(basicHeader("alice", "old"), "h")).ok, false);
  assert.equal((await auth.authenticate(basicHeader("alice", "new"), "h")).ok, true);
  users.map.delete("alice/SCRAM-SHA-256");
  assert.equal((await auth.authenticate(basicHeader("alice", "new"), "h")).ok, false);
  await users.set("alice", "new");
  assert.equal((await auth.authenticate(basicHeader("alice", "new"), "h")).ok, true);
  nowMs += LOGIN_CACHE_MS;
  // Past its time the entry is dropped and the password checked again (still right).
  assert.equal((await auth.authenticate(basicHeader("alice", "new"), "h")).ok, true);
  assert.equal(auth.cachedLoginCount, 1);
});

Deno.test("HttpAuthenticator: remembered logins are bounded by cacheEntriesMax", async () => {
  const users = new Users();
  for (const name of ["a", "b", "c", "d"]) await users.set(name, `pw-${name}`);
  const auth = authenticator(users, { cacheEntriesMax: 3 });
  for (const name of ["a", "b", "c", "d"]) {
    assert.equal((await auth.authenticate(basicHeader(name, `pw-${name}`), "h")).ok, true);
    assert.ok(auth.cachedLoginCount <= 3);
  }
  assert.equal(auth.cachedLoginCount, 3);
});

Deno.test("HttpAuthenticator: bearer tokens need a validator; a refused one gets RFC 6750's challenge", async () => {
  const users = new Users();
  const secret = new TextEncoder().encode("0123456789abcdef0123456789abcdef");
  const withoutJwt = authenticator(users);
  const refused = await withoutJwt.authenticate("Bearer a.b.c", "h");
  assert.ok(!refused.ok);
  assert.deepEqual(refused.challenges, ['Basic realm="denka", charset="UTF-8"']);
  const auth = new HttpAuthenticator({
    credentials: users.lookup,
    jwtValidator: await JwtValidator.create({ hmacSecret: secret }),
    throttle: new LoginThrottle({ delayMs: 0 }),
  });
  const bad = await auth.authenticate("Bearer a.b.c", "h");
  assert.ok(!bad.ok);
  assert.deepEqual(bad.challenges, [
    'Basic realm="denka", charset="UTF-8"',
    'Bearer realm="denka", error="invalid_token"',
  ]);
  const none = await auth.authenticate(undefined, "h");
  assert.ok(!none.ok);
  assert.deepEqual(none.challenges, [
    'Basic realm="denka", charset="UTF-8"',
    'Bearer realm="denka"',
  ]);
});

Deno.test("decodeBasic() splits at the first colon, reads UTF-8, refuses malformed values", () => {
  const b64 = (text: string) => btoa(String.fromCharCode(...new TextEncoder().encode(text)));
  assert.deepEqual(decodeBasic(b64("alice:pa:ss")), { user: "alice", password: "pa:ss" });
  assert.deepEqual(decodeBasic(b64("zoë:pässwörd")), { user: "zoë", password: "pässwörd" });
  assert.deepEqual(decodeBasic(b64(":")), { user: "", password: "" });
  assert.equal(decodeBasic(b64("no-colon")), undefined);
  assert.equal(decodeBasic("not base64!"), undefined);
  assert.equal(decodeBasic(""), undefined);
  assert.equal(decodeBasic(btoa("\xff\xfe:x")), undefined); // not UTF-8
});

Deno.test("HttpAuthenticator: a remembered bearer token ends at its exp", async () => {
  const secret = new TextEncoder().encode("0123456789abcdef0123456789abcdef");
  let nowMs = 1_700_000_000_000;
  const auth = new HttpAuthenticator({
    credentials: new Users().lookup,
    jwtValidator: await JwtValidator.create({
      hmacSecret: secret,
      clockSkewSec: 0,
      nowMs: () => nowMs,
    }),
    throttle: new LoginThrottle({ delayMs: 0 }),
    nowMs: () => nowMs,
  });
  const token = await signJwt(await hmacSigner(secret), {
    sub: "svc",
    exp: nowMs / 1000 + 10,
  });
  assert.deepEqual(await auth.authenticate(`Bearer ${token}`, "h"), {
    ok: true,
    principal: "User:svc",
    scheme: "Bearer",
  });
  assert.equal(auth.cachedLoginCount, 1);
  nowMs += 9_000;
  assert.equal((await auth.authenticate(`Bearer ${token}`, "h")).ok, true);
  nowMs += 2_000;
  assert.equal((await auth.authenticate(`Bearer ${token}`, "h")).ok, false);
});
