import { assert, assertEquals, assertThrows } from "../../util/assert.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { ApiKey } from "../../protocol/messages/mod.ts";
import type { SendChunk } from "../../protocol/send_plan.ts";
import { FrameError } from "../connection.ts";
import { ANONYMOUS_PRINCIPAL } from "../connection.ts";
import { utf8 } from "./_crypto.ts";
import { newSigner, signJwt } from "./_test_jwt.ts";
import { ScramClient } from "./_test_scram_client.ts";
import { JwtValidator } from "./jwt.ts";
import { oauthBearerInitialResponse } from "./oauthbearer.ts";
import { plainMessage } from "./plain.ts";
import type { SaslConfig } from "./sasl_config.ts";
import { SaslAuthenticator } from "./sasl_authenticator.ts";
import { type SaslSession, sessionLifetimeMs } from "./sasl_session.ts";
import { type ScramCredential, scramCredentialFromPassword, type ScramMechanism } from "./scram.ts";

const START_MS = 1_800_000_000_000;

/** A connection that records what the session did to it. */
class FakeConnection {
  principal = ANONYMOUS_PRINCIPAL;
  readonly securityProtocol: string;
  readonly socket = { remoteAddress: "127.0.0.9:40000" };
  readonly sent: Uint8Array[] = [];
  readonly mutedMs: number[] = [];
  closedReason: string | undefined;
  constructor(securityProtocol = "SASL_PLAINTEXT") {
    this.securityProtocol = securityProtocol;
  }
  mute(durationMs: number): Promise<void> {
    this.mutedMs.push(durationMs);
    return Promise.resolve();
  }
  send(plan: readonly SendChunk[]): Promise<void> {
    for (const c of plan) if (c instanceof Uint8Array) this.sent.push(c);
    return Promise.resolve();
  }
  close(reason?: string): void {
    this.closedReason ??= reason ?? "closed";
  }
}

interface Setup {
  authenticator: SaslAuthenticator;
  clock: { nowMs: number };
  sign(claims: Record<string, unknown>): Promise<string>;
}

async function setup(overrides: Partial<SaslConfig> = {}): Promise<Setup> {
  const users = new Map<string, ScramCredential>();
  for (const m of ["SCRAM-SHA-256", "SCRAM-SHA-512"] as ScramMechanism[]) {
    users.set(`alice/${m}`, await scramCredentialFromPassword(m, "alice-pw"));
    users.set(`bob/${m}`, await scramCredentialFromPassword(m, "bob-pw"));
  }
  const clock = { nowMs: START_MS };
  const signer = await newSigner("ES256", "k1");
  const jwtValidator = await JwtValidator.create({
    jwks: { keys: [signer.publicJwk] },
    nowMs: () => clock.nowMs,
    clockSkewSec: 0,
  });
  const config: SaslConfig = {
    enabledMechanisms: undefined,
    oauthBearerJwksFile: undefined,
    oauthBearerSecretFile: undefined,
    oauthBearerExpectedIssuer: undefined,
    oauthBearerExpectedAudience: [],
    oauthBearerClockSkewSec: 0,
    oauthBearerSubClaimName: "sub",
    connectionsMaxReauthMs: 60_000,
    failedAuthenticationDelayMs: 100,
    ...overrides,
  };
  const authenticator = new SaslAuthenticator(config, {
    credentials: (user, m) => users.get(`${user}/${m}`),
    jwtValidator,
    nowMs: () => clock.nowMs,
  });
  return { authenticator, clock, sign: (claims) => signJwt(signer, claims) };
}

async function scramLogin(
  session: SaslSession,
  user: string,
  password: string,
  mechanism: ScramMechanism = "SCRAM-SHA-256",
) {
  assertEquals(session.handshake(mechanism, 1).errorCode, ErrorCode.NONE);
  const client = new ScramClient(mechanism, user, password);
  const first = await session.authenticate(client.firstMessage(), 2);
  if (first.errorCode !== ErrorCode.NONE) return first;
  const final = await session.authenticate(await client.finalMessage(first.authBytes), 2);
  if (final.errorCode === ErrorCode.NONE) assert(client.verifyServerFinal(final.authBytes));
  return final;
}

Deno.test("SaslAuthenticator gives sessions to SASL listeners' connections only", async () => {
  const { authenticator } = await setup();
  assertEquals(authenticator.sessionFor(new FakeConnection("PLAINTEXT")), undefined);
  assertEquals(authenticator.sessionFor(new FakeConnection("SSL")), undefined);
  const c = new FakeConnection("SASL_SSL");
  const session = authenticator.sessionFor(c);
  assert(session !== undefined);
  assert(authenticator.sessionFor(c) === session);
  assertEquals(authenticator.enabledMechanisms, [
    "PLAIN",
    "SCRAM-SHA-256",
    "SCRAM-SHA-512",
    "OAUTHBEARER",
  ]);
});

Deno.test("SaslSession.admit() serves only the SASL APIs and ApiVersions before a login", async () => {
  const { authenticator } = await setup();
  const session = authenticator.sessionFor(new FakeConnection())!;
  session.admit(ApiKey.ApiVersions);
  session.admit(ApiKey.SaslHandshake);
  session.admit(ApiKey.SaslAuthenticate);
  assertThrows(
    () => session.admit(ApiKey.Metadata),
    (e: unknown) =>
      e instanceof FrameError &&
      e.message === "Unexpected Kafka request of type METADATA during SASL handshake.",
  );
  assertThrows(() => session.admit(ApiKey.Produce), FrameError);
});

Deno.test("SaslSession logs in with SCRAM: principal set, lifetime from connections.max.reauth.ms", async () => {
  const { authenticator } = await setup();
  const c = new FakeConnection();
  const session = authenticator.sessionFor(c)!;
  const done = await scramLogin(session, "alice", "alice-pw", "SCRAM-SHA-512");
  assertEquals(done.errorCode, ErrorCode.NONE);
  assertEquals(done.sessionLifetimeMs, 60_000);
  assertEquals(c.principal, "User:alice");
  assert(session.authenticated);
  session.admit(ApiKey.Metadata);
  session.afterResponse();
  assertEquals(c.closedReason, undefined);
});

Deno.test("SaslSession refuses a wrong password with Kafka's message, slows the address, closes", async () => {
  const { authenticator } = await setup();
  const delays: number[] = [];
  for (let i = 0; i < 2; i++) {
    const c = new FakeConnection();
    const session = authenticator.sessionFor(c)!;
    const refused = await scramLogin(session, "alice", "wrong");
    assertEquals(refused.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
    assertEquals(
      refused.errorMessage,
      "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256",
    );
    assertEquals(c.principal, ANONYMOUS_PRINCIPAL);
    assertEquals(c.closedReason, undefined); // the answer goes out first
    session.afterResponse();
    assert(c.closedReason !== undefined);
    delays.push(...c.mutedMs);
  }
  assertEquals(delays, [100, 200]);
  // A success from the address forgets its failures.
  const c = new FakeConnection();
  assertEquals((await scramLogin(authenticator.sessionFor(c)!, "bob", "bob-pw")).errorCode, 0);
  const again = new FakeConnection();
  await scramLogin(authenticator.sessionFor(again)!, "bob", "nope");
  assertEquals(again.mutedMs, [100]);
});

Deno.test("SaslSession answers an unknown mechanism with the enabled list, then closes", async () => {
  const { authenticator } = await setup({ enabledMechanisms: ["SCRAM-SHA-512"] });
  const c = new FakeConnection();
  const session = authenticator.sessionFor(c)!;
  const response = session.handshake("PLAIN", 1);
  assertEquals(response, {
    errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM,
    mechanisms: ["SCRAM-SHA-512"],
  });
  session.afterResponse();
  assert(c.closedReason !== undefined);
});

Deno.test("SaslSession answers SaslAuthenticate out of order with ILLEGAL_SASL_STATE", async () => {
  const { authenticator } = await setup();
  const early = new FakeConnection();
  const before = await authenticator.sessionFor(early)!.authenticate(utf8("x"), 1);
  assertEquals(before.errorCode, ErrorCode.ILLEGAL_SASL_STATE);
  assertEquals(
    before.errorMessage,
    "Unexpected Kafka request of type SASL_AUTHENTICATE during SASL handshake.",
  );
  authenticator.sessionFor(early)!.afterResponse();
  assert(early.closedReason !== undefined);

  const c = new FakeConnection();
  const session = authenticator.sessionFor(c)!;
  await scramLogin(session, "alice", "alice-pw");
  const after = await session.authenticate(utf8("x"), 1);
  assertEquals(after.errorCode, ErrorCode.ILLEGAL_SASL_STATE);
  assertEquals(
    after.errorMessage,
    "SaslAuthenticate request received after successful authentication",
  );
  session.afterResponse();
  assertEquals(c.closedReason, undefined);
});

Deno.test("SaslSession closes an expired session unless it re-authenticates as the same principal", async () => {
  const { authenticator, clock } = await setup();
  const c = new FakeConnection();
  const session = authenticator.sessionFor(c)!;
  await scramLogin(session, "alice", "alice-pw");
  assertEquals(session.expiresAtMs, START_MS + 60_000);
  clock.nowMs += 60_000;
  assertThrows(() => session.admit(ApiKey.Fetch), FrameError);
  session.admit(ApiKey.SaslHandshake);
  const again = await scramLogin(session, "alice", "alice-pw");
  assertEquals(again.errorCode, ErrorCode.NONE);
  assertEquals(session.expiresAtMs, clock.nowMs + 60_000);
  session.admit(ApiKey.Fetch);
  assertEquals(c.principal, "User:alice");
  assertEquals(authenticator.counters, {
    logins: 2,
    reauthentications: 1,
    failedLogins: 0,
    expiredSessionsClosed: 1,
  });

  const other = await scramLogin(session, "bob", "bob-pw");
  assertEquals(other.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
  assertEquals(
    other.errorMessage,
    "Cannot change principals during re-authentication from User:alice: User:bob",
  );
  assertEquals(c.principal, "User:alice");
  // A request pipelined behind the refused re-authentication is not served.
  assertThrows(() => session.admit(ApiKey.Fetch), FrameError);
  session.afterResponse();
  assert(c.closedReason !== undefined);
});

Deno.test("SaslSession refuses re-authentication with another mechanism", async () => {
  const { authenticator } = await setup();
  const c = new FakeConnection();
  const session = authenticator.sessionFor(c)!;
  await scramLogin(session, "alice", "alice-pw");
  assertEquals(session.handshake("PLAIN", 1).errorCode, ErrorCode.UNSUPPORTED_SASL_MECHANISM);
  session.afterResponse();
  assert(c.closedReason !== undefined);
});

Deno.test("SaslSession after handshake v0 takes bare tokens: PLAIN answers an empty frame", async () => {
  const { authenticator } = await setup();
  const c = new FakeConnection();
  const session = authenticator.sessionFor(c)!;
  assertEquals(session.handshake("PLAIN", 0).errorCode, ErrorCode.NONE);
  assert(session.expectsRawToken);
  await session.rawToken(plainMessage("bob", "bob-pw"));
  assertEquals(c.sent, [new Uint8Array(4)]);
  assertEquals(c.principal, "User:bob");
  assert(!session.expectsRawToken);
  session.admit(ApiKey.Produce);
  // A v0 login cannot re-authenticate (no session lifetime was ever told).
  assertEquals(session.handshake("PLAIN", 1).errorCode, ErrorCode.ILLEGAL_SASL_STATE);
});

Deno.test("SaslSession after handshake v0 closes on a failed bare token without answering", async () => {
  const { authenticator } = await setup();
  const c = new FakeConnection();
  const session = authenticator.sessionFor(c)!;
  session.handshake("PLAIN", 0);
  await session.rawToken(plainMessage("bob", "guess"));
  assertEquals(c.sent, []);
  assertEquals(c.mutedMs, [100]);
  assert(c.closedReason !== undefined);
});

Deno.test("SaslSession OAUTHBEARER: the token's exp bounds the session; an expired token is refused", async () => {
  const { authenticator, sign } = await setup();
  const c = new FakeConnection();
  const session = authenticator.sessionFor(c)!;
  session.handshake("OAUTHBEARER", 1);
  const token = await sign({ sub: "svc", exp: START_MS / 1000 + 30 });
  const done = await session.authenticate(oauthBearerInitialResponse(token), 1);
  assertEquals(done.errorCode, ErrorCode.NONE);
  assertEquals(done.sessionLifetimeMs, 30_000);
  assertEquals(c.principal, "User:svc");

  const late = new FakeConnection();
  const refused = authenticator.sessionFor(late)!;
  refused.handshake("OAUTHBEARER", 1);
  const old = await sign({ sub: "svc", exp: START_MS / 1000 - 1 });
  const challenge = await refused.authenticate(oauthBearerInitialResponse(old), 1);
  assertEquals(challenge.errorCode, ErrorCode.NONE);
  assertEquals(new TextDecoder().decode(challenge.authBytes), '{"status":"invalid_token"}');
  const final = await refused.authenticate(new Uint8Array([1]), 1);
  assertEquals(final.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
  assertEquals(final.errorMessage, '{"status":"invalid_token"}');
  assertEquals(late.principal, ANONYMOUS_PRINCIPAL);
});

Deno.test("sessionLifetimeMs() takes the shorter bound; none means the session does not expire", () => {
  assertEquals(sessionLifetimeMs(0, { credentialExpiresAtMs: undefined, nowMs: 0 }), undefined);
  assertEquals(sessionLifetimeMs(5000, { credentialExpiresAtMs: undefined, nowMs: 0 }), 5000);
  assertEquals(sessionLifetimeMs(0, { credentialExpiresAtMs: 7000, nowMs: 1000 }), 6000);
  assertEquals(sessionLifetimeMs(5000, { credentialExpiresAtMs: 7000, nowMs: 1000 }), 5000);
  assertEquals(sessionLifetimeMs(5000, { credentialExpiresAtMs: 500, nowMs: 1000 }), 0);
});

Deno.test("SaslAuthenticator refuses to enable OAUTHBEARER without token keys", () => {
  const config = {
    enabledMechanisms: ["OAUTHBEARER"],
    connectionsMaxReauthMs: 0,
    failedAuthenticationDelayMs: 100,
  } as unknown as SaslConfig;
  assertThrows(
    () => new SaslAuthenticator(config, { credentials: () => undefined }),
    /OAUTHBEARER needs a JWKS file or a shared secret/,
  );
});
