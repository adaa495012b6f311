import { assertEquals, assertThrows } from "../../util/assert.ts";
import { ConfigError, parseConfigText, resolveConfig } from "../config.ts";
import { resolveSaslConfig, SaslConfigError } from "./sasl_config.ts";

Deno.test("resolveSaslConfig() defaults: Kafka's values, the mechanism list left to the broker", () => {
  assertEquals(resolveSaslConfig({}), {
    enabledMechanisms: undefined,
    oauthBearerJwksFile: undefined,
    oauthBearerSecretFile: undefined,
    oauthBearerExpectedIssuer: undefined,
    oauthBearerExpectedAudience: [],
    oauthBearerClockSkewSec: 30,
    oauthBearerSubClaimName: "sub",
    connectionsMaxReauthMs: 0,
    failedAuthenticationDelayMs: 100,
  });
});

Deno.test("resolveSaslConfig() reads lists, a file: URL and integers", () => {
  const c = resolveSaslConfig({
    "sasl-enabled-mechanisms": " SCRAM-SHA-512, OAUTHBEARER ",
    "sasl-oauthbearer-jwks-endpoint-url": "file:///etc/denka/jwks%20keys.json",
    "sasl-oauthbearer-expected-audience": "a,b",
    "connections-max-reauth-ms": "3600000",
  });
  assertEquals(c.enabledMechanisms, ["SCRAM-SHA-512", "OAUTHBEARER"]);
  assertEquals(c.oauthBearerJwksFile, "/etc/denka/jwks keys.json");
  assertEquals(c.oauthBearerExpectedAudience, ["a", "b"]);
  assertEquals(c.connectionsMaxReauthMs, 3_600_000);
  assertEquals(
    resolveSaslConfig({ "sasl-oauthbearer-jwks-endpoint-url": "/k.json" })
      .oauthBearerJwksFile,
    "/k.json",
  );
});

Deno.test("resolveSaslConfig() refuses a remote JWKS endpoint and a bad integer", () => {
  assertThrows(
    () => resolveSaslConfig({ "sasl-oauthbearer-jwks-endpoint-url": "https://idp/jwks" }),
    (e: unknown) => e instanceof SaslConfigError && /must be a local file/.test(e.message),
  );
  assertThrows(
    () => resolveSaslConfig({ "connections-max-reauth-ms": "-1" }),
    (e: unknown) =>
      e instanceof SaslConfigError &&
      e.message ===
        'Option "connections-max-reauth-ms" must be an integer in 0..2147483647, got "-1".',
  );
});

Deno.test("resolveConfig() takes the SASL options by Kafka's keys in a config file", () => {
  const file = parseConfigText(
    [
      "sasl.enabled.mechanisms=SCRAM-SHA-256",
      "connections.max.reauth.ms=60000",
      "connection.failed.authentication.delay.ms=250",
      "sasl.oauthbearer.expected.issuer=https://idp",
    ].join("\n"),
    false,
  );
  const c = resolveConfig([file]);
  assertEquals(c.sasl.enabledMechanisms, ["SCRAM-SHA-256"]);
  assertEquals(c.sasl.connectionsMaxReauthMs, 60_000);
  assertEquals(c.sasl.failedAuthenticationDelayMs, 250);
  assertEquals(c.sasl.oauthBearerExpectedIssuer, "https://idp");
  assertThrows(
    () => resolveConfig([{ options: { "connections-max-reauth-ms": "x" }, topics: {} }]),
    ConfigError,
  );
});
