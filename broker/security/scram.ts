/**
 * SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) as Kafka's
 * `ScramSaslServer` speaks them: the client's first message
 * `n,[a=authzid],n=user,r=nonce[,ext=value...]` (no channel binding: the
 * GS2 flag must be `n`), the server's `r=nonce,s=salt,i=iterations`, the
 * client's `c=biws,r=nonce,p=proof`, and the server's `v=signature`.
 *
 * Only what RFC 5802 calls the server's stored credential is kept: salt,
 * iteration count, StoredKey = H(HMAC(SaltedPassword, "Client Key")) and
 * ServerKey = HMAC(SaltedPassword, "Server Key"). The server never sees the
 * password nor SaltedPassword during a login; proofs are compared in
 * constant time.
 *
 * Departure from Kafka, on purpose: Kafka fails an unknown user at the
 * first message, which tells a scanner the name does not exist. Here an
 * unknown user gets a server-first message with a salt derived from a
 * per-process secret (stable per user) and fails at the proof after the
 * same work, with the same message a wrong password gets.
 *
 * @module
 */
import {
  constantTimeEqual,
  digest,
  fromBase64,
  type HashName,
  hmac,
  pbkdf2,
  randomBytes,
  toBase64,
  utf8,
  xor,
} from "./_crypto.ts";
import {
  authenticationFailed,
  exchangeOver,
  invalidCredentials,
  type SaslServer,
  type SaslStep,
} from "./sasl.ts";

/** The SCRAM mechanisms, by their SASL names. */
export type ScramMechanism = "SCRAM-SHA-256" | "SCRAM-SHA-512";

/** Both SCRAM mechanisms, in Kafka's order of preference for PLAIN checks. */
export const SCRAM_MECHANISMS: readonly ScramMechanism[] = ["SCRAM-SHA-256", "SCRAM-SHA-512"];

/** Kafka's `ScramMechanism` type codes (DescribeUserScramCredentials, AlterUserScramCredentials). */
export const SCRAM_MECHANISM_CODES: Readonly<Record<ScramMechanism, number>> = {
  "SCRAM-SHA-256": 1,
  "SCRAM-SHA-512": 2,
};

/** Kafka's least iteration count for a SCRAM credential (both mechanisms). */
export const SCRAM_ITERATIONS_MIN = 4096;
/** Kafka's largest iteration count for a SCRAM credential (both mechanisms). */
export const SCRAM_ITERATIONS_MAX = 16384;
/** Bytes of salt Denka generates. */
export const SCRAM_SALT_BYTES = 32;
/** Random bytes in the server's nonce (base64: 32 characters). */
const SERVER_NONCE_BYTES = 24;

/** The mechanism a Kafka type code names, or `undefined` (code 0 is UNKNOWN). */
export function scramMechanismFromCode(code: number): ScramMechanism | undefined {
  return SCRAM_MECHANISMS.find((m) => SCRAM_MECHANISM_CODES[m] === code);
}

/** The hash behind a mechanism. */
export function scramHash(mechanism: ScramMechanism): HashName {
  return mechanism === "SCRAM-SHA-256" ? "SHA-256" : "SHA-512";
}

/** A user's stored SCRAM credential for one mechanism (RFC 5802 section 5). */
export interface ScramCredential {
  readonly salt: Uint8Array<ArrayBuffer>;
  readonly storedKey: Uint8Array<ArrayBuffer>;
  readonly serverKey: Uint8Array<ArrayBuffer>;
  readonly iterations: number;
}

/** Finds a user's credential for a mechanism; `undefined` when there is none. */
export type ScramCredentialLookup = (
  user: string,
  mechanism: ScramMechanism,
) => ScramCredential | undefined;

/** SaltedPassword = Hi(password, salt, iterations): what a client (or `users add`) computes. */
export function scramSaltedPassword(
  mechanism: ScramMechanism,
  password: string,
  options: { salt: Uint8Array<ArrayBuffer>; iterations: number },
): Promise<Uint8Array<ArrayBuffer>> {
  return pbkdf2(scramHash(mechanism), utf8(password), options.salt, options.iterations);
}

/** ClientKey = HMAC(SaltedPassword, "Client Key"). */
export function scramClientKey(
  mechanism: ScramMechanism,
  saltedPassword: Uint8Array<ArrayBuffer>,
): Uint8Array<ArrayBuffer> {
  return hmac(scramHash(mechanism), saltedPassword, utf8("Client Key"));
}

/** The stored credential for a SaltedPassword (as AlterUserScramCredentials carries it). */
export function scramCredentialFromSaltedPassword(
  mechanism: ScramMechanism,
  saltedPassword: Uint8Array<ArrayBuffer>,
  options: { salt: Uint8Array<ArrayBuffer>; iterations: number },
): ScramCredential {
  const hash = scramHash(mechanism);
  const clientKey = scramClientKey(mechanism, saltedPassword);
  return {
    salt: options.salt.slice(),
    iterations: options.iterations,
    storedKey: digest(hash, clientKey),
    serverKey: hmac(hash, saltedPassword, utf8("Server Key")),
  };
}

/** A new credential for a password, with a fresh random salt. */
export async function scramCredentialFromPassword(
  mechanism: ScramMechanism,
  password: string,
  options: { iterations?: number; salt?: Uint8Array<ArrayBuffer> } = {},
): Promise<ScramCredential> {
  const salt = options.salt ?? randomBytes(SCRAM_SALT_BYTES);
  const iterations = options.iterations ?? SCRAM_ITERATIONS_MIN;
  const saltedPassword = await scramSaltedPassword(mechanism, password, { salt, iterations });
  return scramCredentialFromSaltedPassword(mechanism, saltedPassword, { salt, iterations });
}

/** Options of a {@linkcode ScramServer}. */
export interface ScramServerOptions {
  /** True during KIP-368 re-authentication (only changes the failure text). */
  readonly reauthentication?: boolean;
  /** The server nonce (tests only; default: 24 random bytes, base64). */
  readonly serverNonce?: string;
}

/** A parsed client-first message. */
interface ClientFirst {
  readonly gs2Header: string;
  readonly authorizationId: string;
  readonly user: string;
  readonly nonce: string;
  readonly bare: string;
  readonly extensions: ReadonlyMap<string, string>;
}

type State =
  | "RECEIVE_CLIENT_FIRST_MESSAGE"
  | "RECEIVE_CLIENT_FINAL_MESSAGE"
  | "COMPLETE"
  | "FAILED";

/** The server side of one SCRAM exchange on one connection. */
export class ScramServer implements SaslServer {
  readonly mechanism: ScramMechanism;
  readonly #lookup: ScramCredentialLookup;
  readonly #options: ScramServerOptions;
  #state: State = "RECEIVE_CLIENT_FIRST_MESSAGE";
  #clientFirst: ClientFirst | undefined;
  #serverFirst = "";
  #nonce = "";
  /** For an unknown user, random keys: the exchange goes on, costs the same, and fails at the proof. */
  #credential: ScramCredential | undefined;
  #knownUser = false;

  constructor(
    mechanism: ScramMechanism,
    lookup: ScramCredentialLookup,
    options: ScramServerOptions = {},
  ) {
    this.mechanism = mechanism;
    this.#lookup = lookup;
    this.#options = options;
  }

  /** Evaluates the client's next message (synchronous work: a few hashes). */
  evaluate(token: Uint8Array): Promise<SaslStep> {
    return Promise.resolve(this.evaluateSync(token));
  }

  /** {@linkcode evaluate} without the promise. */
  evaluateSync(token: Uint8Array): SaslStep {
    const state = this.#state;
    this.#state = "FAILED";
    let step: SaslStep;
    if (state === "RECEIVE_CLIENT_FIRST_MESSAGE") step = this.#clientFirstMessage(token);
    else if (state === "RECEIVE_CLIENT_FINAL_MESSAGE") step = this.#clientFinalMessage(token);
    else return exchangeOver(this.mechanism, state);
    if (step.kind === "challenge") this.#state = "RECEIVE_CLIENT_FINAL_MESSAGE";
    if (step.kind === "complete") this.#state = "COMPLETE";
    return step;
  }

  #fail(reason: string): SaslStep {
    return invalidCredentials(this.mechanism, reason, this.#options);
  }

  #clientFirstMessage(token: Uint8Array): SaslStep {
    const text = decodeUtf8(token);
    const first = text === undefined ? undefined : parseClientFirst(text);
    if (first === undefined) return this.#fail("Invalid SCRAM client first message format");
    if (first.extensions.get("tokenauth") === "true") {
      return this.#fail("Delegation token authentication is not supported");
    }
    if (first.authorizationId !== "" && first.authorizationId !== first.user) {
      return authenticationFailed(
        "Authentication failed: Client requested an authorization id that is different from username",
      );
    }
    const credential = this.#lookup(first.user, this.mechanism);
    if (credential !== undefined && credential.iterations < SCRAM_ITERATIONS_MIN) {
      return this.#fail(
        `Iterations ${credential.iterations} is less than the minimum ${SCRAM_ITERATIONS_MIN} for ${this.mechanism}`,
      );
    }
    const serverNonce = this.#options.serverNonce ?? toBase64(randomBytes(SERVER_NONCE_BYTES));
    this.#clientFirst = first;
    this.#knownUser = credential !== undefined;
    this.#credential = credential ?? unknownUserCredential(this.mechanism, first.user);
    this.#nonce = first.nonce + serverNonce;
    const { salt, iterations } = this.#credential;
    this.#serverFirst = `r=${this.#nonce},s=${toBase64(salt)},i=${iterations}`;
    return { kind: "challenge", bytes: utf8(this.#serverFirst) };
  }

  #clientFinalMessage(token: Uint8Array): SaslStep {
    const first = this.#clientFirst!;
    const text = decodeUtf8(token);
    const final = text === undefined ? undefined : parseClientFinal(text);
    if (final === undefined) return this.#fail("Invalid SCRAM client final message format");
    if (final.channelBinding !== toBase64(utf8(first.gs2Header))) {
      return this.#fail("Invalid channel binding in the final client message");
    }
    // Kafka checks that the nonce ends with the server-first one (`endsWith`), not equality:
    // librdkafka 2.0 sends its client nonce again in front of it, and Kafka accepts that.
    if (!final.nonce.endsWith(this.#nonce)) {
      return this.#fail("Invalid client nonce in the final client message.");
    }
    const credential = this.#credential!;
    this.#credential = undefined;
    const hash = scramHash(this.mechanism);
    const authMessage = utf8(`${first.bare},${this.#serverFirst},${final.withoutProof}`);
    const clientSignature = hmac(hash, credential.storedKey, authMessage);
    if (final.proof.length !== clientSignature.length) {
      return this.#fail("Invalid client credentials");
    }
    const computedStoredKey = digest(hash, xor(final.proof, clientSignature));
    if (!constantTimeEqual(computedStoredKey, credential.storedKey) || !this.#knownUser) {
      return this.#fail(
        this.#knownUser ? "Invalid client credentials" : `Unknown user "${first.user}"`,
      );
    }
    const serverSignature = hmac(hash, credential.serverKey, authMessage);
    return {
      kind: "complete",
      bytes: utf8(`v=${toBase64(serverSignature)}`),
      authorizationId: first.user,
    };
  }
}

const fatalDecoder = new TextDecoder("utf-8", { fatal: true });

function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return fatalDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/** RFC 5802 `saslname` decoded (`=2C` is `,`, `=3D` is `=`); `undefined` when malformed. */
export function decodeSaslName(name: string): string | undefined {
  if (name === "" || /[,\0]/.test(name) || /=(?!2C|3D)/.test(name)) return undefined;
  return name.replace(/=2C/g, ",").replace(/=3D/g, "=");
}

/** RFC 5802 `saslname` encoded. */
export function encodeSaslName(name: string): string {
  return name.replace(/=/g, "=3D").replace(/,/g, "=2C");
}

const PRINTABLE = /^[\x21-\x2b\x2d-\x7e]+$/;

function parseClientFirst(text: string): ClientFirst | undefined {
  const m = /^n,(a=[^,]*)?,(.*)$/s.exec(text);
  if (m === null) return undefined;
  const authorizationId = m[1] === undefined ? "" : decodeSaslName(m[1].slice(2));
  if (authorizationId === undefined) return undefined;
  const bare = m[2];
  const fields = bare.split(",");
  if (fields.length < 2 || !fields[0].startsWith("n=") || !fields[1].startsWith("r=")) {
    return undefined; // also refuses a mandatory extension (`m=`) before the user name
  }
  const user = decodeSaslName(fields[0].slice(2));
  const nonce = fields[1].slice(2);
  if (user === undefined || !PRINTABLE.test(nonce)) return undefined;
  const extensions = new Map<string, string>();
  for (const field of fields.slice(2)) {
    const eq = field.indexOf("=");
    if (eq <= 0) return undefined;
    extensions.set(field.slice(0, eq), field.slice(eq + 1));
  }
  const gs2Header = text.slice(0, text.length - bare.length);
  return { gs2Header, authorizationId, user, nonce, bare, extensions };
}

interface ClientFinal {
  readonly channelBinding: string;
  readonly nonce: string;
  readonly proof: Uint8Array<ArrayBuffer>;
  readonly withoutProof: string;
}

function parseClientFinal(text: string): ClientFinal | undefined {
  const proofAt = text.lastIndexOf(",p=");
  if (proofAt < 0) return undefined;
  const withoutProof = text.slice(0, proofAt);
  const proof = fromBase64(text.slice(proofAt + 3));
  const fields = withoutProof.split(",");
  if (proof === undefined || fields.length < 2) return undefined;
  if (!fields[0].startsWith("c=") || !fields[1].startsWith("r=")) return undefined;
  return { channelBinding: fields[0].slice(2), nonce: fields[1].slice(2), proof, withoutProof };
}

let fakeSaltKey: Uint8Array<ArrayBuffer> | undefined;

/**
 * A stand-in credential for a user without one: its salt is the same for
 * the same name while the process lives (a second probe sees the same
 * server-first message); its keys are random, so no proof matches.
 */
function unknownUserCredential(mechanism: ScramMechanism, user: string): ScramCredential {
  fakeSaltKey ??= randomBytes(32);
  const mac = hmac("SHA-256", fakeSaltKey, utf8(`${mechanism}\0${user}`));
  const keyBytes = mechanism === "SCRAM-SHA-256" ? 32 : 64;
  return {
    salt: mac.slice(0, SCRAM_SALT_BYTES),
    iterations: SCRAM_ITERATIONS_MIN,
    storedKey: randomBytes(keyBytes),
    serverKey: randomBytes(keyBytes),
  };
}
