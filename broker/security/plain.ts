/**
 * SASL/PLAIN (RFC 4616) as Kafka's `PlainSaslServer` speaks it: one message
 * `authzid NUL user NUL password`, checked against the same stored SCRAM
 * keys that SCRAM logins use, so a password is kept nowhere in clear.
 *
 * The check derives SaltedPassword with the stored salt and iteration count
 * (PBKDF2, the login's whole cost: ~4096 HMACs), then compares
 * H(HMAC(SaltedPassword, "Client Key")) with StoredKey in constant time. A
 * SCRAM-SHA-256 credential is tried first, else SCRAM-SHA-512. An unknown
 * user costs the same PBKDF2 run, so response time does not tell whether a
 * user exists.
 *
 * @module
 */
import { constantTimeEqual, digest, randomBytes, utf8 } from "./_crypto.ts";
import {
  authenticationFailed,
  exchangeOver,
  invalidCredentials,
  type SaslServer,
  type SaslStep,
} from "./sasl.ts";
import {
  SCRAM_ITERATIONS_MIN,
  SCRAM_MECHANISMS,
  SCRAM_SALT_BYTES,
  scramClientKey,
  type ScramCredentialLookup,
  scramHash,
  scramSaltedPassword,
} from "./scram.ts";

/** The mechanism's SASL name. */
export const PLAIN_MECHANISM = "PLAIN";

/**
 * True when `password` is `user`'s, by the user's SCRAM-SHA-256 credential
 * or else SCRAM-SHA-512 one (also what HTTP Basic checks).
 */
export async function verifyPassword(
  lookup: ScramCredentialLookup,
  user: string,
  password: string,
): Promise<boolean> {
  for (const mechanism of SCRAM_MECHANISMS) {
    const credential = lookup(user, mechanism);
    if (credential === undefined || credential.iterations < SCRAM_ITERATIONS_MIN) continue;
    const salted = await scramSaltedPassword(mechanism, password, credential);
    const storedKey = digest(scramHash(mechanism), scramClientKey(mechanism, salted));
    return constantTimeEqual(storedKey, credential.storedKey);
  }
  // No credential: spend what a real check spends.
  const salt = randomBytes(SCRAM_SALT_BYTES);
  await scramSaltedPassword("SCRAM-SHA-256", password, { salt, iterations: SCRAM_ITERATIONS_MIN });
  return false;
}

/** The server side of one PLAIN login. */
export class PlainServer implements SaslServer {
  readonly mechanism = PLAIN_MECHANISM;
  readonly #lookup: ScramCredentialLookup;
  readonly #reauthentication: boolean;
  #state: "RECEIVE_RESPONSE" | "COMPLETE" | "FAILED" = "RECEIVE_RESPONSE";

  constructor(lookup: ScramCredentialLookup, options: { reauthentication?: boolean } = {}) {
    this.#lookup = lookup;
    this.#reauthentication = options.reauthentication === true;
  }

  /** Evaluates the client's one message. */
  async evaluate(token: Uint8Array): Promise<SaslStep> {
    if (this.#state !== "RECEIVE_RESPONSE") return exchangeOver(this.mechanism, this.#state);
    this.#state = "FAILED";
    const tokens = new TextDecoder().decode(token).split("\0");
    if (tokens.length !== 3) {
      return invalidCredentials(
        this.mechanism,
        `Invalid SASL/PLAIN response: expected 3 tokens, got ${tokens.length}`,
        { reauthentication: this.#reauthentication },
      );
    }
    const [authorizationId, user, password] = tokens;
    if (user === "") return authenticationFailed("Authentication failed: username not specified");
    if (password === "") {
      return authenticationFailed("Authentication failed: password not specified");
    }
    if (!await verifyPassword(this.#lookup, user, password)) {
      return authenticationFailed("Authentication failed: Invalid username or password");
    }
    if (authorizationId !== "" && authorizationId !== user) {
      return authenticationFailed(
        "Authentication failed: Client requested an authorization id that is different from username",
      );
    }
    this.#state = "COMPLETE";
    return { kind: "complete", bytes: new Uint8Array(0), authorizationId: user };
  }
}

/** A PLAIN client message (tests and tools). */
export function plainMessage(user: string, password: string, authorizationId = ""): Uint8Array {
  return utf8(`${authorizationId}\0${user}\0${password}`);
}
