/**
 * The HTTP listener's security from the broker's settings: HTTPS with the
 * same PEM certificate and key as the Kafka TLS listeners (`--http-tls`,
 * `--tls-cert`, `--tls-key`), and whether calls need credentials
 * (`--http-auth`, `--http-ops-auth`). Unset, `--http-auth` follows the Kafka
 * side: required as soon as an authorizer or a SASL listener is configured,
 * else none (the API as it was before security); `--http-ops-auth` follows
 * `--http-auth`.
 *
 * @module
 */
import { Errno, IoError, type Libc, type TlsCertifiedKeyPem } from "../../ffi/port.ts";
import type { LogRateLimiter } from "../../util/log.ts";
import type { BrokerConfig } from "../config.ts";
import type { JwtValidator } from "../security/jwt.ts";
import { LoginThrottle } from "../security/login_throttle.ts";
import type { ScramCredentialLookup } from "../security/scram.ts";
import type { HttpAuthorizer, HttpSecurity } from "./access.ts";
import { HttpAuthenticator } from "./auth.ts";

/** Whether HTTP calls need credentials. */
export interface HttpAuthMode {
  /** Every route but the open ops routes. */
  readonly authRequired: boolean;
  /** `/metrics` and `/health/*`. */
  readonly opsAuthRequired: boolean;
}

/** `--http-auth` and `--http-ops-auth` with their defaults applied. */
export function resolveHttpAuth(
  config: Pick<BrokerConfig, "httpAuth" | "httpOpsAuth">,
  kafkaSide: { readonly authorizerConfigured: boolean; readonly saslListener: boolean },
): HttpAuthMode {
  const securedKafka = kafkaSide.authorizerConfigured || kafkaSide.saslListener;
  const authRequired = (config.httpAuth ?? (securedKafka ? "required" : "none")) === "required";
  const opsAuthRequired = authRequired && (config.httpOpsAuth ?? "required") === "required";
  return { authRequired, opsAuthRequired };
}

/** The certificate and key HTTPS serves, read now; `undefined` without `--http-tls`. */
export function loadHttpTls(
  libc: Libc,
  config: Pick<BrokerConfig, "httpTls" | "tlsCertFile" | "tlsKeyFile">,
): TlsCertifiedKeyPem | undefined {
  if (!config.httpTls) return undefined;
  return {
    certPem: readPem(libc, config.tlsCertFile!, "tls-cert"),
    keyPem: readPem(libc, config.tlsKeyFile!, "tls-key"),
  };
}

function readPem(libc: Libc, path: string, option: string): string {
  let bytes: Uint8Array;
  try {
    bytes = libc.readFile(path);
  } catch (e) {
    if (e instanceof IoError && e.errno === Errno.ENOENT) {
      throw new Error(`The "${option}" file "${path}" does not exist.`);
    }
    throw e;
  }
  const text = new TextDecoder().decode(bytes);
  if (!text.includes("-----BEGIN ")) {
    throw new Error(`The "${option}" file "${path}" holds no PEM block.`);
  }
  return text;
}

/** What the HTTP API checks callers against: the broker's own stores. */
export interface HttpSecurityDeps {
  /** The broker's SCRAM credentials (Basic passwords are checked against them). */
  readonly credentials: ScramCredentialLookup;
  /** The OAUTHBEARER token validator, when one is configured (bearer tokens). */
  readonly jwtValidator: JwtValidator | undefined;
  /** The broker's ACL authorizer, when one is configured. */
  readonly authorizer: HttpAuthorizer | undefined;
  /** Failed-login delays; default: a throttle of the HTTP listener's own. */
  readonly throttle?: LoginThrottle;
  /** Where refused logins are logged, rate-limited. */
  readonly log: LogRateLimiter;
}

/** The security the HTTP server applies. */
export function createHttpSecurity(mode: HttpAuthMode, deps: HttpSecurityDeps): HttpSecurity {
  const throttle = deps.throttle ?? new LoginThrottle({ log: deps.log });
  return {
    authenticator: mode.authRequired
      ? new HttpAuthenticator({
        credentials: deps.credentials,
        jwtValidator: deps.jwtValidator,
        throttle,
      })
      : undefined,
    opsAuthRequired: mode.opsAuthRequired,
    authorizer: deps.authorizer,
  };
}
