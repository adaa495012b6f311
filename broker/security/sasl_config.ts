/**
 * The SASL options of the Kafka listeners, by Kafka's names:
 * `sasl.enabled.mechanisms`, the `sasl.oauthbearer.*` token checks,
 * `connections.max.reauth.ms` (KIP-368) and
 * `connection.failed.authentication.delay.ms`. Parsed here from the raw
 * option values the broker's config resolver collected, so the broker's
 * config table only lists them ({@linkcode SASL_OPTION_DEFS}).
 *
 * Kafka's default mechanism list is GSSAPI, which Denka does not speak; the
 * default here is PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512, plus OAUTHBEARER
 * when a JWKS file or a shared secret is configured to check tokens with.
 *
 * @module
 */
import { CONNECTION_FAILED_AUTHENTICATION_DELAY_MS_DEFAULT } from "./login_throttle.ts";
import { JWT_CLOCK_SKEW_SEC_DEFAULT } from "./jwt.ts";

/** SASL settings, as the broker's config carries them. */
export interface SaslConfig {
  /** `sasl.enabled.mechanisms` as given; `undefined` means the default list. */
  readonly enabledMechanisms: readonly string[] | undefined;
  /** `sasl.oauthbearer.jwks.endpoint.url`: a local JWKS file (a path or a `file:` URL). */
  readonly oauthBearerJwksFile: string | undefined;
  /** A file holding the HS256 shared secret (Denka's own; Kafka has no such key). */
  readonly oauthBearerSecretFile: string | undefined;
  /** `sasl.oauthbearer.expected.issuer`. */
  readonly oauthBearerExpectedIssuer: string | undefined;
  /** `sasl.oauthbearer.expected.audience` (comma-separated in the option). */
  readonly oauthBearerExpectedAudience: readonly string[];
  /** `sasl.oauthbearer.clock.skew.seconds`. */
  readonly oauthBearerClockSkewSec: number;
  /** `sasl.oauthbearer.sub.claim.name`. */
  readonly oauthBearerSubClaimName: string;
  /** `connections.max.reauth.ms`: a session's longest life (0: none, Kafka's default). */
  readonly connectionsMaxReauthMs: number;
  /** `connection.failed.authentication.delay.ms`: the first failed login's delay. */
  readonly failedAuthenticationDelayMs: number;
}

/** One option as the broker's option table lists it (`broker/config.ts`). */
export interface SaslOptionDef {
  readonly name: string;
  readonly kind: "string" | "int";
  readonly defaultValue?: string;
  readonly kafkaKey?: string;
  readonly doc: string;
}

/** The SASL options for the broker's option table. */
export const SASL_OPTION_DEFS: readonly SaslOptionDef[] = [
  {
    name: "sasl-enabled-mechanisms",
    kind: "string",
    kafkaKey: "sasl.enabled.mechanisms",
    doc:
      "SASL mechanisms offered on SASL listeners, comma-separated (default PLAIN,SCRAM-SHA-256,SCRAM-SHA-512, plus OAUTHBEARER when a JWKS file or secret is set)",
  },
  {
    name: "sasl-oauthbearer-jwks-endpoint-url",
    kind: "string",
    kafkaKey: "sasl.oauthbearer.jwks.endpoint.url",
    doc: "JWKS file whose keys check OAUTHBEARER tokens (RS256, ES256): a path or a file: URL",
  },
  {
    name: "sasl-oauthbearer-secret-file",
    kind: "string",
    doc: "file holding the shared secret that checks HS256 OAUTHBEARER tokens",
  },
  {
    name: "sasl-oauthbearer-expected-issuer",
    kind: "string",
    kafkaKey: "sasl.oauthbearer.expected.issuer",
    doc: "the iss claim OAUTHBEARER tokens must carry",
  },
  {
    name: "sasl-oauthbearer-expected-audience",
    kind: "string",
    kafkaKey: "sasl.oauthbearer.expected.audience",
    doc: "comma-separated audiences; a token's aud must name one of them",
  },
  {
    name: "sasl-oauthbearer-clock-skew-seconds",
    kind: "int",
    defaultValue: String(JWT_CLOCK_SKEW_SEC_DEFAULT),
    kafkaKey: "sasl.oauthbearer.clock.skew.seconds",
    doc: "clock difference allowed when checking a token's exp and nbf",
  },
  {
    name: "sasl-oauthbearer-sub-claim-name",
    kind: "string",
    defaultValue: "sub",
    kafkaKey: "sasl.oauthbearer.sub.claim.name",
    doc: "the token claim naming the principal",
  },
  {
    name: "connections-max-reauth-ms",
    kind: "int",
    defaultValue: "0",
    kafkaKey: "connections.max.reauth.ms",
    doc:
      "longest life of a SASL session; a client must re-authenticate (KIP-368) before it ends or its connection is closed (0: sessions last as long as their credential)",
  },
  {
    name: "connection-failed-authentication-delay-ms",
    kind: "int",
    defaultValue: String(CONNECTION_FAILED_AUTHENTICATION_DELAY_MS_DEFAULT),
    kafkaKey: "connection.failed.authentication.delay.ms",
    doc:
      "delay before a failed login is answered and its connection closed; doubles with each further failure from the same address, up to 5 s",
  },
];

/** Why a SASL option cannot be used (the config resolver turns it into its ConfigError). */
export class SaslConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SaslConfigError";
  }
}

/** The SASL settings from resolved raw option values (defaults already filled in). */
export function resolveSaslConfig(opts: Readonly<Record<string, string | undefined>>): SaslConfig {
  const list = (name: string): string[] =>
    (opts[name] ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
  const enabled = opts["sasl-enabled-mechanisms"];
  return {
    enabledMechanisms: enabled === undefined ? undefined : list("sasl-enabled-mechanisms"),
    oauthBearerJwksFile: jwksFile(opts["sasl-oauthbearer-jwks-endpoint-url"]),
    oauthBearerSecretFile: nonEmpty(opts["sasl-oauthbearer-secret-file"]),
    oauthBearerExpectedIssuer: nonEmpty(opts["sasl-oauthbearer-expected-issuer"]),
    oauthBearerExpectedAudience: list("sasl-oauthbearer-expected-audience"),
    oauthBearerClockSkewSec: int(opts, "sasl-oauthbearer-clock-skew-seconds"),
    oauthBearerSubClaimName: nonEmpty(opts["sasl-oauthbearer-sub-claim-name"]) ?? "sub",
    connectionsMaxReauthMs: int(opts, "connections-max-reauth-ms"),
    failedAuthenticationDelayMs: int(opts, "connection-failed-authentication-delay-ms"),
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  const v = value?.trim();
  return v === undefined || v === "" ? undefined : v;
}

/** A JWKS location: a path or a `file:` URL; remote endpoints are not fetched. */
function jwksFile(value: string | undefined): string | undefined {
  const v = nonEmpty(value);
  if (v === undefined) return undefined;
  if (v.startsWith("file:")) return decodeURIComponent(new URL(v).pathname);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) {
    throw new SaslConfigError(
      `Option "sasl-oauthbearer-jwks-endpoint-url" must be a local file (a path or a file: URL), got "${v}".`,
    );
  }
  return v;
}

function int(opts: Readonly<Record<string, string | undefined>>, name: string): number {
  const raw = opts[name] ?? SASL_OPTION_DEFS.find((d) => d.name === name)?.defaultValue;
  const n = Number(raw);
  if (!/^\d+$/.test(raw?.trim() ?? "") || n > 2147483647) {
    throw new SaslConfigError(
      `Option "${name}" must be an integer in 0..2147483647, got "${raw}".`,
    );
  }
  return n;
}
