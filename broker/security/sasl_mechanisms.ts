/**
 * The SASL mechanisms Denka's server side speaks, and the one place that
 * builds the server for a mechanism a client names in SaslHandshake (Kafka's
 * `sasl.enabled.mechanisms` decides which are offered; a mechanism not
 * enabled is UNSUPPORTED_SASL_MECHANISM, answered with the enabled list).
 *
 * @module
 */
import type { JwtValidator } from "./jwt.ts";
import { OAUTHBEARER_MECHANISM, OAuthBearerServer } from "./oauthbearer.ts";
import { PLAIN_MECHANISM, PlainServer } from "./plain.ts";
import type { SaslServer } from "./sasl.ts";
import {
  SCRAM_MECHANISMS,
  type ScramCredentialLookup,
  type ScramMechanism,
  ScramServer,
} from "./scram.ts";

/** Every mechanism Denka implements, by its SASL name. */
export const SASL_MECHANISMS: readonly string[] = [
  PLAIN_MECHANISM,
  ...SCRAM_MECHANISMS,
  OAUTHBEARER_MECHANISM,
];

/** What the mechanisms check credentials against. */
export interface SaslServerDeps {
  /** SCRAM credentials (SCRAM and PLAIN). */
  readonly credentials: ScramCredentialLookup;
  /** Token validation (OAUTHBEARER); without it OAUTHBEARER cannot be enabled. */
  readonly jwtValidator?: JwtValidator;
  /** True for a KIP-368 re-authentication. */
  readonly reauthentication?: boolean;
}

/**
 * The mechanisms of a `sasl.enabled.mechanisms` list that Denka cannot
 * serve with `deps`, each with the reason (empty: all can be enabled).
 */
export function unservableMechanisms(
  enabled: readonly string[],
  deps: { jwtValidator?: JwtValidator },
): string[] {
  return enabled.flatMap((m) => {
    if (!SASL_MECHANISMS.includes(m)) return [`"${m}" is not a SASL mechanism Denka implements`];
    if (m === OAUTHBEARER_MECHANISM && deps.jwtValidator === undefined) {
      return ["OAUTHBEARER needs a JWKS file or a shared secret to check tokens"];
    }
    return [];
  });
}

/** A server for `mechanism` if it is enabled, else `undefined` (UNSUPPORTED_SASL_MECHANISM). */
export function createSaslServer(
  mechanism: string,
  enabled: readonly string[],
  deps: SaslServerDeps,
): SaslServer | undefined {
  if (!enabled.includes(mechanism)) return undefined;
  const options = { reauthentication: deps.reauthentication };
  if (mechanism === PLAIN_MECHANISM) return new PlainServer(deps.credentials, options);
  if ((SCRAM_MECHANISMS as readonly string[]).includes(mechanism)) {
    return new ScramServer(mechanism as ScramMechanism, deps.credentials, options);
  }
  if (mechanism === OAUTHBEARER_MECHANISM && deps.jwtValidator !== undefined) {
    return new OAuthBearerServer(deps.jwtValidator, options);
  }
  return undefined;
}
