import { assert, assertEquals } from "../../util/assert.ts";
import { utf8 } from "./_crypto.ts";
import { newSigner, signJwt, type TestSigner } from "./_test_jwt.ts";
import { JwtValidator } from "./jwt.ts";
import {
  oauthBearerInitialResponse,
  OAuthBearerServer,
  parseOAuthBearerInitialResponse,
} from "./oauthbearer.ts";

const NOW_MS = 1_800_000_000_000;

async function setup(): Promise<{ signer: TestSigner; validator: JwtValidator }> {
  const signer = await newSigner("ES256", "k");
  const validator = await JwtValidator.create({
    jwks: { keys: [signer.publicJwk] },
    nowMs: () => NOW_MS,
  });
  return { signer, validator };
}

Deno.test("OAuthBearerServer logs in with a valid token; sub is the principal", async () => {
  const { signer, validator } = await setup();
  const exp = NOW_MS / 1000 + 60;
  const token = await signJwt(signer, { sub: "svc-orders", exp });
  const step = await new OAuthBearerServer(validator).evaluate(oauthBearerInitialResponse(token));
  assert(step.kind === "complete");
  assertEquals(step.authorizationId, "svc-orders");
  assertEquals(step.credentialExpiresAtMs, exp * 1000);
  assertEquals(step.bytes.length, 0);
});

Deno.test("OAuthBearerServer answers an expired token with RFC 7628's JSON, then fails", async () => {
  const { signer, validator } = await setup();
  const token = await signJwt(signer, { sub: "a", exp: NOW_MS / 1000 - 3600 });
  const server = new OAuthBearerServer(validator);
  const challenge = await server.evaluate(oauthBearerInitialResponse(token));
  assert(challenge.kind === "challenge");
  assertEquals(new TextDecoder().decode(challenge.bytes), '{"status":"invalid_token"}');
  const final = await server.evaluate(new Uint8Array([1]));
  assert(final.kind === "failed");
  assertEquals(final.errorMessage, '{"status":"invalid_token"}');
  assert(/expired/.test(final.reason));
});

Deno.test("OAuthBearerServer refuses an authorization id other than the token's principal", async () => {
  const { signer, validator } = await setup();
  const token = await signJwt(signer, { sub: "a", exp: NOW_MS / 1000 + 60 });
  const same = await new OAuthBearerServer(validator).evaluate(
    oauthBearerInitialResponse(token, "a"),
  );
  assertEquals(same.kind, "complete");
  const other = await new OAuthBearerServer(validator).evaluate(
    oauthBearerInitialResponse(token, "root"),
  );
  assert(other.kind === "failed");
  assertEquals(
    other.errorMessage,
    "Authentication failed: Client requested an authorization id (root) that is different from the token's principal name (a)",
  );
});

Deno.test("OAuthBearerServer fails a malformed initial response with Kafka's generic message", async () => {
  const { validator } = await setup();
  for (
    const message of [
      "n,,auth=Bearer x",
      "y,,\x01auth=Bearer x\x01\x01",
      "n,,\x01auth=Basic eA\x01\x01",
      "",
    ]
  ) {
    const step = await new OAuthBearerServer(validator).evaluate(utf8(message));
    assert(step.kind === "failed", JSON.stringify(message));
    assertEquals(
      step.errorMessage,
      "Authentication failed during authentication due to invalid credentials with SASL mechanism OAUTHBEARER",
    );
  }
});

Deno.test("parseOAuthBearerInitialResponse() reads authzid, token and extensions", () => {
  const parsed = parseOAuthBearerInitialResponse(
    "n,a=bob,\x01host=broker\x01auth=bearer abc.def-_.ghi\x01traceId=42\x01\x01",
  );
  assert(typeof parsed !== "string");
  assertEquals(parsed.authorizationId, "bob");
  assertEquals(parsed.token, "abc.def-_.ghi");
  assertEquals([...parsed.extensions], [["host", "broker"], ["traceId", "42"]]);
  assertEquals(
    parseOAuthBearerInitialResponse("n,,\x01host=x\x01\x01"),
    "Invalid OAUTHBEARER client first message: 'auth' not specified",
  );
  assertEquals(
    parseOAuthBearerInitialResponse("n,,\x01auth=Bearer\x01\x01"),
    "Invalid OAUTHBEARER client first message: invalid 'auth' format",
  );
});
