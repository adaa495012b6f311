/**
 * The client side of SCRAM (RFC 5802 / RFC 7677), as a broker logs in to
 * another broker's SASL listener (Kafka's `sasl.mechanism.inter.broker.protocol`
 * with SCRAM-SHA-256 or SCRAM-SHA-512): client-first, client-final with the
 * proof, and the server-final signature checked, so a listener that does not
 * know the credential cannot pass itself off as a broker of the cluster.
 *
 * The client never sends an authorization id (`n,,`) and no channel binding
 * (`c=biws`), as Kafka's clients do.
 *
 * @module
 */
import {
  constantTimeEqual,
  digest,
  fromBase64,
  hmac,
  randomBytes,
  toBase64,
  utf8,
  xor,
} from "./_crypto.ts";
import {
  encodeSaslName,
  SCRAM_ITERATIONS_MAX,
  scramClientKey,
  scramHash,
  type ScramMechanism,
  scramSaltedPassword,
} from "./scram.ts";

/** Bytes of randomness in the client nonce (base64: 24 characters). */
export const SCRAM_CLIENT_NONCE_BYTES = 18;

/** `c=` of the client-final message: base64 of the GS2 header `n,,`. */
const CHANNEL_BINDING = toBase64(utf8("n,,"));

/** One SCRAM login as a client: use each instance for one exchange. */
export class ScramClient {
  readonly #mechanism: ScramMechanism;
  readonly #user: string;
  readonly #password: string;
  readonly #nonce: string;
  #bare: string | undefined;
  #authMessage: string | undefined;
  #saltedPassword: Uint8Array<ArrayBuffer> | undefined;

  /** `options.nonce` is for tests (RFC 7677's example); the default is random. */
  constructor(
    mechanism: ScramMechanism,
    login: { username: string; password: string },
    options: { nonce?: string } = {},
  ) {
    this.#mechanism = mechanism;
    this.#user = login.username;
    this.#password = login.password;
    this.#nonce = options.nonce ?? toBase64(randomBytes(SCRAM_CLIENT_NONCE_BYTES));
  }

  /** The client-first message, `n,,n=USER,r=NONCE`. */
  firstMessage(): Uint8Array<ArrayBuffer> {
    this.#bare = `n=${encodeSaslName(this.#user)},r=${this.#nonce}`;
    return utf8(`n,,${this.#bare}`);
  }

  /**
   * The client-final message answering `serverFirst`; throws when the
   * server-first message is malformed, does not extend our nonce, or asks
   * for an iteration count outside 1..{@linkcode SCRAM_ITERATIONS_MAX}.
   */
  async finalMessage(serverFirst: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
    if (this.#bare === undefined) throw new Error("The client-first message was not sent.");
    const text = new TextDecoder().decode(serverFirst);
    const m = /^r=([\x21-\x2b\x2d-\x7e]+),s=([^,]+),i=(\d+)(,.*)?$/.exec(text);
    if (m === null) throw new Error(`Malformed SCRAM server-first message "${text}".`);
    if (!m[1].startsWith(this.#nonce) || m[1].length === this.#nonce.length) {
      throw new Error("The SCRAM server nonce does not extend the client nonce.");
    }
    const salt = fromBase64(m[2]);
    const iterations = Number(m[3]);
    if (salt === undefined || salt.length === 0) {
      throw new Error(`Bad SCRAM salt "${m[2]}".`);
    }
    if (!(iterations >= 1 && iterations <= SCRAM_ITERATIONS_MAX)) {
      throw new Error(`SCRAM iteration count "${m[3]}" is out of range.`);
    }
    this.#saltedPassword = await scramSaltedPassword(this.#mechanism, this.#password, {
      salt,
      iterations,
    });
    const withoutProof = `c=${CHANNEL_BINDING},r=${m[1]}`;
    this.#authMessage = `${this.#bare},${text},${withoutProof}`;
    const hash = scramHash(this.#mechanism);
    const clientKey = scramClientKey(this.#mechanism, this.#saltedPassword);
    const signature = hmac(hash, digest(hash, clientKey), utf8(this.#authMessage));
    return utf8(`${withoutProof},p=${toBase64(xor(clientKey, signature))}`);
  }

  /**
   * Checks the server-final message: resolves quietly when its `v=` proves
   * the server holds the credential, throws otherwise (also for `e=...`).
   */
  verifyServerFinal(serverFinal: Uint8Array): void {
    if (this.#authMessage === undefined || this.#saltedPassword === undefined) {
      throw new Error("The client-final message was not sent.");
    }
    const text = new TextDecoder().decode(serverFinal);
    if (text.startsWith("e=")) throw new Error(`The SCRAM server refused: "${text.slice(2)}".`);
    const m = /^v=([^,]*)(,.*)?$/.exec(text);
    const given = m === null ? undefined : fromBase64(m[1]);
    const hash = scramHash(this.#mechanism);
    const serverKey = hmac(hash, this.#saltedPassword, utf8("Server Key"));
    const expected = hmac(hash, serverKey, utf8(this.#authMessage));
    if (given === undefined || !constantTimeEqual(given, expected)) {
      throw new Error("The SCRAM server signature does not verify.");
    }
  }
}
