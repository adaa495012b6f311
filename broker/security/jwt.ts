/**
 * JSON Web Token validation for OAUTHBEARER logins, on WebCrypto: RS256 and
 * ES256 signatures against the keys of a JWKS file, HS256 against a shared
 * secret; then `exp` (required) and `nbf` with a clock skew, `iss` and `aud`
 * when configured, and the principal from `sub` or a configured claim.
 * Kafka's settings are `sasl.oauthbearer.jwks.endpoint.url` (here a file),
 * `sasl.oauthbearer.clock.skew.seconds` (default 30),
 * `sasl.oauthbearer.expected.issuer`, `sasl.oauthbearer.expected.audience`
 * and `sasl.oauthbearer.sub.claim.name` (default `sub`).
 *
 * `alg: none` and any algorithm not listed are refused; the algorithm comes
 * from the key (a JWKS key signs with RS256 or ES256 only, the shared secret
 * with HS256 only), so a token cannot choose HS256 with a public key as the
 * secret.
 *
 * @module
 */
import { Errno, IoError, type Libc } from "../../ffi/port.ts";
import { fromBase64Url, utf8 } from "./_crypto.ts";

/** A token longer than this is refused before any parsing. */
export const JWT_BYTES_MAX = 65536;
/** Kafka's default `sasl.oauthbearer.clock.skew.seconds`. */
export const JWT_CLOCK_SKEW_SEC_DEFAULT = 30;

/** A JWKS document: `{"keys": [...]}`. */
export interface JsonWebKeySet {
  readonly keys: readonly (JsonWebKey & { kid?: string })[];
}

/** Options of a {@linkcode JwtValidator}. */
export interface JwtValidatorOptions {
  /** Public keys for RS256 and ES256. */
  readonly jwks?: JsonWebKeySet;
  /** The shared secret for HS256. */
  readonly hmacSecret?: Uint8Array<ArrayBuffer>;
  readonly expectedIssuer?: string;
  /** At least one must be in the token's `aud`. */
  readonly expectedAudience?: readonly string[];
  readonly clockSkewSec?: number;
  /** The claim naming the principal (default `sub`). */
  readonly principalClaim?: string;
  /** The clock (tests). */
  readonly nowMs?: () => number;
}

/** What a validation found. */
export type JwtResult =
  | {
    readonly ok: true;
    readonly principal: string;
    readonly expiresAtMs: number;
    readonly claims: Record<string, unknown>;
  }
  | { readonly ok: false; readonly reason: string };

type Alg = "RS256" | "ES256" | "HS256";

interface VerifyKey {
  readonly kid: string | undefined;
  readonly alg: Alg;
  readonly key: CryptoKey;
}

const VERIFY_PARAMS: Record<Alg, AlgorithmIdentifier | EcdsaParams> = {
  RS256: "RSASSA-PKCS1-v1_5",
  ES256: { name: "ECDSA", hash: "SHA-256" },
  HS256: "HMAC",
};

/** Reads and parses a JWKS file; an error names the file. */
export function loadJwksFile(libc: Libc, path: string): JsonWebKeySet {
  let text: string;
  try {
    text = new TextDecoder().decode(libc.readFile(path));
  } catch (e) {
    if (e instanceof IoError && e.errno === Errno.ENOENT) {
      throw new Error(`JWKS file "${path}" does not exist.`);
    }
    throw e;
  }
  const parsed = JSON.parse(text);
  if (parsed === null || typeof parsed !== "object" || !Array.isArray(parsed.keys)) {
    throw new Error(`JWKS file "${path}" has no "keys" array.`);
  }
  return parsed as JsonWebKeySet;
}

/** Checks JWTs against configured keys and claims. */
export class JwtValidator {
  readonly #keys: readonly VerifyKey[];
  readonly #options: JwtValidatorOptions;

  private constructor(keys: VerifyKey[], options: JwtValidatorOptions) {
    this.#keys = keys;
    this.#options = options;
  }

  /** Imports the keys; JWKS keys that are neither RSA nor P-256 EC signing keys are skipped. */
  static async create(options: JwtValidatorOptions): Promise<JwtValidator> {
    const keys: VerifyKey[] = [];
    for (const [i, jwk] of (options.jwks?.keys ?? []).entries()) {
      let key: VerifyKey | undefined;
      try {
        key = await importJwk(jwk);
      } catch (e) {
        throw new Error(`Invalid JWKS key ${i} ("${jwk.kid ?? ""}"): ${(e as Error).message}`);
      }
      if (key !== undefined) keys.push(key);
    }
    if (options.hmacSecret !== undefined) {
      const params = { name: "HMAC", hash: "SHA-256" };
      const key = await crypto.subtle.importKey("raw", options.hmacSecret, params, false, [
        "verify",
      ]);
      keys.push({ kid: undefined, alg: "HS256", key });
    }
    if (keys.length === 0) {
      throw new Error("No JWT verification key: give a JWKS file or a secret.");
    }
    return new JwtValidator(keys, options);
  }

  /** Validates a compact JWS token. */
  async validate(token: string): Promise<JwtResult> {
    if (token.length > JWT_BYTES_MAX) return fail(`Token longer than ${JWT_BYTES_MAX} bytes`);
    const parts = token.split(".");
    if (parts.length !== 3) return fail("Token is not a compact JWS (three parts)");
    const header = jsonPart(parts[0]);
    const claims = jsonPart(parts[1]);
    const signature = fromBase64Url(parts[2]);
    if (header === undefined || claims === undefined || signature === undefined) {
      return fail("Token is not base64url-encoded JSON");
    }
    const alg = header.alg;
    const kid = typeof header.kid === "string" ? header.kid : undefined;
    const candidates = this.#keys.filter((k) =>
      k.alg === alg && (kid === undefined || k.kid === undefined || k.kid === kid)
    );
    if (candidates.length === 0) {
      return fail(`No key for algorithm "${alg}" and key id "${kid ?? ""}"`);
    }
    const signed = utf8(`${parts[0]}.${parts[1]}`);
    let verified = false;
    for (const k of candidates) {
      if (await crypto.subtle.verify(VERIFY_PARAMS[k.alg], k.key, signature, signed)) {
        verified = true;
        break;
      }
    }
    if (!verified) return fail("Invalid token signature");
    return this.#checkClaims(claims);
  }

  #checkClaims(claims: Record<string, unknown>): JwtResult {
    const o = this.#options;
    const nowSec = (o.nowMs?.() ?? Date.now()) / 1000;
    const skewSec = o.clockSkewSec ?? JWT_CLOCK_SKEW_SEC_DEFAULT;
    const { exp, nbf, iss, aud } = claims;
    if (typeof exp !== "number") return fail('Token has no numeric "exp" claim');
    if (nowSec > exp + skewSec) return fail(`Token expired at ${exp}`);
    if (nbf !== undefined && (typeof nbf !== "number" || nowSec < nbf - skewSec)) {
      return fail(`Token not valid before ${nbf}`);
    }
    if (o.expectedIssuer !== undefined && iss !== o.expectedIssuer) {
      return fail(`Token issuer "${iss}" is not "${o.expectedIssuer}"`);
    }
    if (o.expectedAudience !== undefined && o.expectedAudience.length > 0) {
      const audiences = Array.isArray(aud) ? aud : [aud];
      if (!audiences.some((a) => o.expectedAudience!.includes(a))) {
        return fail(`Token audience ${JSON.stringify(aud)} is not expected`);
      }
    }
    const claimName = o.principalClaim ?? "sub";
    const principal = claims[claimName];
    if (typeof principal !== "string" || principal === "") {
      return fail(`Token has no "${claimName}" claim naming the principal`);
    }
    return { ok: true, principal, expiresAtMs: exp * 1000, claims };
  }
}

function fail(reason: string): JwtResult {
  return { ok: false, reason };
}

function jsonPart(part: string): Record<string, unknown> | undefined {
  const bytes = fromBase64Url(part);
  if (bytes === undefined) return undefined;
  try {
    const value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    return value !== null && typeof value === "object" && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

async function importJwk(jwk: JsonWebKey & { kid?: string }): Promise<VerifyKey | undefined> {
  if (jwk.use !== undefined && jwk.use !== "sig") return undefined;
  const kid = typeof jwk.kid === "string" ? jwk.kid : undefined;
  const publicOnly = {
    ...jwk,
    d: undefined,
    p: undefined,
    q: undefined,
    dp: undefined,
    dq: undefined,
    qi: undefined,
  };
  delete publicOnly.key_ops;
  if (jwk.kty === "RSA" && (jwk.alg === undefined || jwk.alg === "RS256")) {
    const params = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
    const key = await crypto.subtle.importKey("jwk", stripUndefined(publicOnly), params, false, [
      "verify",
    ]);
    return { kid, alg: "RS256", key };
  }
  if (jwk.kty === "EC" && jwk.crv === "P-256" && (jwk.alg === undefined || jwk.alg === "ES256")) {
    const params = { name: "ECDSA", namedCurve: "P-256" };
    const key = await crypto.subtle.importKey("jwk", stripUndefined(publicOnly), params, false, [
      "verify",
    ]);
    return { kid, alg: "ES256", key };
  }
  return undefined;
}

function stripUndefined(jwk: JsonWebKey): JsonWebKey {
  return Object.fromEntries(Object.entries(jwk).filter(([, v]) => v !== undefined)) as JsonWebKey;
}
