/**
 * SASL on the Kafka listeners, broker-wide: the enabled mechanisms, what
 * they check credentials against (the SCRAM credential store; a
 * {@linkcode JwtValidator} for OAUTHBEARER), the failed-login throttle, and
 * one {@linkcode SaslSession} per connection of a SASL_PLAINTEXT or SASL_SSL
 * listener, made at its first request. Connections of other listeners have
 * no session and are never asked to authenticate.
 *
 * @module
 */
import type { Libc } from "../../ffi/port.ts";
import { ConfigError } from "../config.ts";
import type { LogRateLimiter } from "../../util/log.ts";
import { utf8 } from "./_crypto.ts";
import { JwtValidator, loadJwksFile } from "./jwt.ts";
import { LoginThrottle } from "./login_throttle.ts";
import { OAUTHBEARER_MECHANISM } from "./oauthbearer.ts";
import { PLAIN_MECHANISM } from "./plain.ts";
import type { SaslConfig } from "./sasl_config.ts";
import { createSaslServer, unservableMechanisms } from "./sasl_mechanisms.ts";
import {
  type SaslConnection,
  type SaslCounters,
  SaslSession,
  type SaslSessionShared,
} from "./sasl_session.ts";
import { SCRAM_MECHANISMS, type ScramCredentialLookup } from "./scram.ts";

/** The mechanisms offered when `sasl.enabled.mechanisms` is not set (OAUTHBEARER added with a key). */
export const SASL_ENABLED_MECHANISMS_DEFAULT: readonly string[] = [
  PLAIN_MECHANISM,
  ...SCRAM_MECHANISMS,
];

/** The connection fields that decide whether it authenticates (`Connection`'s). */
export interface SaslListenerConnection extends SaslConnection {
  readonly securityProtocol: string;
}

/** What a {@linkcode SaslAuthenticator} checks credentials against and reports through. */
export interface SaslAuthenticatorDeps {
  /** SCRAM credentials (SCRAM logins and PLAIN). */
  readonly credentials: ScramCredentialLookup;
  /** Where failed logins are logged, rate-limited. */
  readonly log?: LogRateLimiter;
  /** OAUTHBEARER's token checks ({@linkcode loadJwtValidator}); without it OAUTHBEARER is off. */
  readonly jwtValidator?: JwtValidator;
  readonly nowMs?: () => number;
}

/** SASL for every connection of the broker's SASL listeners. */
export class SaslAuthenticator implements SaslSessionShared {
  readonly enabledMechanisms: readonly string[];
  readonly connectionsMaxReauthMs: number;
  readonly throttle: LoginThrottle;
  readonly counters: SaslCounters = {
    logins: 0,
    reauthentications: 0,
    failedLogins: 0,
    expiredSessionsClosed: 0,
  };
  readonly #credentials: ScramCredentialLookup;
  readonly #jwtValidator: JwtValidator | undefined;
  readonly #nowMs: () => number;
  readonly #sessions = new WeakMap<SaslListenerConnection, SaslSession>();

  /** Throws a {@linkcode ConfigError} when an enabled mechanism cannot be served. */
  constructor(config: SaslConfig, deps: SaslAuthenticatorDeps) {
    const jwtValidator = deps.jwtValidator;
    this.enabledMechanisms = config.enabledMechanisms ??
      [...SASL_ENABLED_MECHANISMS_DEFAULT, ...(jwtValidator ? [OAUTHBEARER_MECHANISM] : [])];
    this.connectionsMaxReauthMs = config.connectionsMaxReauthMs;
    this.#credentials = deps.credentials;
    this.#jwtValidator = jwtValidator;
    this.#nowMs = deps.nowMs ?? Date.now;
    this.throttle = new LoginThrottle({
      delayMs: config.failedAuthenticationDelayMs,
      nowMs: this.#nowMs,
      log: deps.log,
    });
    const problems = unservableMechanisms(this.enabledMechanisms, { jwtValidator });
    if (problems.length > 0) {
      throw new ConfigError(`Option "sasl-enabled-mechanisms": ${problems.join("; ")}.`);
    }
  }

  /** The connection's session; `undefined` on a listener without SASL. */
  sessionFor(connection: SaslListenerConnection): SaslSession | undefined {
    const protocol = connection.securityProtocol;
    if (protocol !== "SASL_PLAINTEXT" && protocol !== "SASL_SSL") return undefined;
    let session = this.#sessions.get(connection);
    if (session === undefined) {
      session = new SaslSession(connection, this);
      this.#sessions.set(connection, session);
    }
    return session;
  }

  createServer(mechanism: string, reauthentication: boolean) {
    return createSaslServer(mechanism, this.enabledMechanisms, {
      credentials: this.#credentials,
      jwtValidator: this.#jwtValidator,
      reauthentication,
    });
  }

  nowMs(): number {
    return this.#nowMs();
  }
}

/**
 * The OAUTHBEARER token validator the options describe (a JWKS file, a
 * shared secret), or `undefined` when neither is set.
 */
export async function loadJwtValidator(
  config: SaslConfig,
  libc: Libc,
): Promise<JwtValidator | undefined> {
  if (config.oauthBearerJwksFile === undefined && config.oauthBearerSecretFile === undefined) {
    return undefined;
  }
  try {
    const jwks = config.oauthBearerJwksFile === undefined
      ? undefined
      : loadJwksFile(libc, config.oauthBearerJwksFile);
    const hmacSecret = config.oauthBearerSecretFile === undefined
      ? undefined
      : readSecret(libc, config.oauthBearerSecretFile);
    return await JwtValidator.create({
      jwks,
      hmacSecret,
      expectedIssuer: config.oauthBearerExpectedIssuer,
      expectedAudience: config.oauthBearerExpectedAudience,
      clockSkewSec: config.oauthBearerClockSkewSec,
      principalClaim: config.oauthBearerSubClaimName,
    });
  } catch (e) {
    throw new ConfigError(`OAUTHBEARER token keys: ${(e as Error).message}`);
  }
}

/** The shared secret: the file's bytes without a trailing newline; at least 32 bytes (HS256). */
function readSecret(libc: Libc, path: string): Uint8Array<ArrayBuffer> {
  const text = new TextDecoder().decode(libc.readFile(path)).replace(/\r?\n$/, "");
  const secret = utf8(text);
  if (secret.length < 32) {
    throw new Error(
      `The secret in "${path}" has ${secret.length} bytes; HS256 needs at least 32.`,
    );
  }
  return secret;
}
