/**
 * The client side of SCRAM (RFC 5802), for tests and the benchmark only: it
 * plays the part a Kafka client plays against {@linkcode ScramServer}.
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
  scramClientKey,
  scramHash,
  type ScramMechanism,
  scramSaltedPassword,
} from "./scram.ts";
import type { SaslServer, SaslStep } from "./sasl.ts";

/** A scripted SCRAM client. */
export class ScramClient {
  readonly #mechanism: ScramMechanism;
  readonly #user: string;
  readonly #password: string;
  readonly #nonce: string;
  readonly #authorizationId: string;
  #bare = "";
  #authMessage = "";
  #saltedPassword: Uint8Array<ArrayBuffer> | undefined;

  constructor(
    mechanism: ScramMechanism,
    user: string,
    password: string,
    options: {
      nonce?: string;
      authorizationId?: string;
      saltedPassword?: Uint8Array<ArrayBuffer>;
    } = {},
  ) {
    this.#mechanism = mechanism;
    this.#user = user;
    this.#password = password;
    this.#nonce = options.nonce ?? toBase64(randomBytes(18));
    this.#authorizationId = options.authorizationId ?? "";
    this.#saltedPassword = options.saltedPassword;
  }

  /** `n,,n=user,r=nonce` (with `a=` when an authorization id was given). */
  firstMessage(extensions = ""): Uint8Array {
    this.#bare = `n=${encodeSaslName(this.#user)},r=${this.#nonce}${extensions}`;
    const authzid = this.#authorizationId === ""
      ? ""
      : `a=${encodeSaslName(this.#authorizationId)}`;
    return utf8(`n,${authzid},${this.#bare}`);
  }

  /** The client-final message answering the server-first one. */
  async finalMessage(serverFirst: Uint8Array): Promise<Uint8Array> {
    const text = new TextDecoder().decode(serverFirst);
    const m = /^r=([^,]+),s=([^,]+),i=(\d+)$/.exec(text);
    if (m === null || !m[1].startsWith(this.#nonce)) throw new Error(`Bad server-first "${text}".`);
    const salt = fromBase64(m[2])!;
    const iterations = Number(m[3]);
    this.#saltedPassword ??= await scramSaltedPassword(this.#mechanism, this.#password, {
      salt,
      iterations,
    });
    const authzid = this.#authorizationId === ""
      ? ""
      : `a=${encodeSaslName(this.#authorizationId)}`;
    const withoutProof = `c=${toBase64(utf8(`n,${authzid},`))},r=${m[1]}`;
    this.#authMessage = `${this.#bare},${text},${withoutProof}`;
    const hash = scramHash(this.#mechanism);
    const clientKey = scramClientKey(this.#mechanism, this.#saltedPassword);
    const storedKey = digest(hash, clientKey);
    const signature = hmac(hash, storedKey, utf8(this.#authMessage));
    return utf8(`${withoutProof},p=${toBase64(xor(clientKey, signature))}`);
  }

  /** True when the server-final message proves the server knows the credential. */
  verifyServerFinal(serverFinal: Uint8Array): boolean {
    const text = new TextDecoder().decode(serverFinal);
    if (!text.startsWith("v=")) return false;
    const hash = scramHash(this.#mechanism);
    const serverKey = hmac(hash, this.#saltedPassword!, utf8("Server Key"));
    const expected = hmac(hash, serverKey, utf8(this.#authMessage));
    return constantTimeEqual(fromBase64(text.slice(2)) ?? new Uint8Array(), expected);
  }
}

/** Runs a whole login of `client` against `server`; the server's last step. */
export async function scramLogin(server: SaslServer, client: ScramClient): Promise<SaslStep> {
  const first = await server.evaluate(client.firstMessage());
  if (first.kind !== "challenge") return first;
  const final = await server.evaluate(await client.finalMessage(first.bytes));
  if (final.kind === "complete" && !client.verifyServerFinal(final.bytes)) {
    throw new Error("The server's signature does not verify.");
  }
  return final;
}
