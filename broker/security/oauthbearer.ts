/**
 * SASL/OAUTHBEARER (RFC 7628) as Kafka's `OAuthBearerSaslServer` speaks
 * it: the client's initial response
 * `n,[a=authzid],\x01auth=Bearer <jwt>\x01[key=value\x01...]\x01`, the token
 * checked by a {@linkcode JwtValidator}. A token that does not validate is
 * answered, as RFC 7628 section 3.2.2 and Kafka do, with a JSON challenge
 * `{"status":"invalid_token"}`; the client then sends a lone `\x01` and the
 * exchange fails with that JSON as the error message.
 *
 * @module
 */
import { utf8 } from "./_crypto.ts";
import type { JwtValidator } from "./jwt.ts";
import { decodeSaslName } from "./scram.ts";
import {
  authenticationFailed,
  exchangeOver,
  invalidCredentials,
  type SaslServer,
  type SaslStep,
} from "./sasl.ts";

/** The mechanism's SASL name. */
export const OAUTHBEARER_MECHANISM = "OAUTHBEARER";
/** RFC 7628's separator (`kvsep`, Control-A). */
const KVSEP = "\x01";
/** Kafka's error status for a token that does not validate. */
const INVALID_TOKEN_JSON = '{"status":"invalid_token"}';

/** A parsed client initial response. */
export interface OAuthBearerInitialResponse {
  readonly authorizationId: string;
  readonly token: string;
  /** Key-value pairs other than `auth` (Kafka's SASL extensions). */
  readonly extensions: ReadonlyMap<string, string>;
}

/**
 * Parses a client initial response; a string saying what is wrong when it
 * is malformed (Kafka's texts).
 */
export function parseOAuthBearerInitialResponse(text: string): OAuthBearerInitialResponse | string {
  // deno-lint-ignore no-control-regex -- RFC 7628's separator is Control-A.
  const m = /^n,(?:a=([^,]*))?,\x01((?:[A-Za-z]+=[\x21-\x7e \t\r\n]+\x01)*)\x01$/.exec(text);
  if (m === null) return "Invalid OAUTHBEARER client first message";
  const authorizationId = m[1] === undefined ? "" : decodeSaslName(m[1]);
  if (authorizationId === undefined) return "Invalid OAUTHBEARER client first message";
  const pairs = new Map<string, string>();
  for (const kv of m[2].split(KVSEP).slice(0, -1)) {
    const eq = kv.indexOf("=");
    pairs.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  const auth = pairs.get("auth");
  if (auth === undefined) return "Invalid OAUTHBEARER client first message: 'auth' not specified";
  pairs.delete("auth");
  const a = /^(\w+) +([-_.a-zA-Z0-9]+)$/.exec(auth);
  if (a === null) return "Invalid OAUTHBEARER client first message: invalid 'auth' format";
  if (a[1].toLowerCase() !== "bearer") {
    return `Invalid scheme in OAUTHBEARER client first message: ${a[1]}`;
  }
  return { authorizationId, token: a[2], extensions: pairs };
}

/** An OAUTHBEARER client initial response (tests and tools). */
export function oauthBearerInitialResponse(token: string, authorizationId = ""): Uint8Array {
  const authzid = authorizationId === "" ? "" : `a=${authorizationId}`;
  return utf8(`n,${authzid},${KVSEP}auth=Bearer ${token}${KVSEP}${KVSEP}`);
}

/** The server side of one OAUTHBEARER login. */
export class OAuthBearerServer implements SaslServer {
  readonly mechanism = OAUTHBEARER_MECHANISM;
  readonly #validator: JwtValidator;
  readonly #reauthentication: boolean;
  #state: "RECEIVE_INITIAL_RESPONSE" | "RECEIVE_ERROR_ACK" | "COMPLETE" | "FAILED" =
    "RECEIVE_INITIAL_RESPONSE";
  #errorReason = "";

  constructor(validator: JwtValidator, options: { reauthentication?: boolean } = {}) {
    this.#validator = validator;
    this.#reauthentication = options.reauthentication === true;
  }

  /** Evaluates the client's next message. */
  async evaluate(token: Uint8Array): Promise<SaslStep> {
    const state = this.#state;
    this.#state = "FAILED";
    if (state === "RECEIVE_ERROR_ACK") {
      if (token.length === 1 && token[0] === 1) {
        return { kind: "failed", errorMessage: INVALID_TOKEN_JSON, reason: this.#errorReason };
      }
      return this.#fail("Expected %x01 after the error challenge");
    }
    if (state !== "RECEIVE_INITIAL_RESPONSE") return exchangeOver(this.mechanism, state);
    const parsed = parseOAuthBearerInitialResponse(new TextDecoder().decode(token));
    if (typeof parsed === "string") return this.#fail(parsed);
    const result = await this.#validator.validate(parsed.token);
    if (!result.ok) {
      this.#state = "RECEIVE_ERROR_ACK";
      this.#errorReason = result.reason;
      return { kind: "challenge", bytes: utf8(INVALID_TOKEN_JSON) };
    }
    if (parsed.authorizationId !== "" && parsed.authorizationId !== result.principal) {
      return authenticationFailed(
        `Authentication failed: Client requested an authorization id (${parsed.authorizationId}) that is different from the token's principal name (${result.principal})`,
      );
    }
    this.#state = "COMPLETE";
    return {
      kind: "complete",
      bytes: new Uint8Array(0),
      authorizationId: result.principal,
      credentialExpiresAtMs: result.expiresAtMs,
    };
  }

  #fail(reason: string): SaslStep {
    return invalidCredentials(this.mechanism, reason, { reauthentication: this.#reauthentication });
  }
}
