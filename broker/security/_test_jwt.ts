/**
 * Signing JWTs with WebCrypto keys, for tests only.
 *
 * @module
 */
import { toBase64Url, utf8 } from "./_crypto.ts";

/** A signing key of one algorithm, with its public JWK. */
export interface TestSigner {
  readonly alg: "RS256" | "ES256" | "HS256";
  readonly kid: string | undefined;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JsonWebKey & { kid?: string };
}

/** A fresh RS256 or ES256 key pair. */
export async function newSigner(alg: "RS256" | "ES256", kid?: string): Promise<TestSigner> {
  const params = alg === "RS256"
    ? {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    }
    : { name: "ECDSA", namedCurve: "P-256" };
  const pair = await crypto.subtle.generateKey(params, true, ["sign", "verify"]) as CryptoKeyPair;
  const publicJwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
  return {
    alg,
    kid,
    privateKey: pair.privateKey,
    publicJwk: kid === undefined ? publicJwk : { ...publicJwk, kid },
  };
}

/** An HS256 signer for a shared secret. */
export async function hmacSigner(secret: Uint8Array<ArrayBuffer>): Promise<TestSigner> {
  const key = await crypto.subtle.importKey(
    "raw",
    secret,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return { alg: "HS256", kid: undefined, privateKey: key, publicJwk: {} };
}

/** A compact JWS of `claims` signed by `signer` (`header` fields override the defaults). */
export async function signJwt(
  signer: TestSigner,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
): Promise<string> {
  const h = {
    alg: signer.alg,
    typ: "JWT",
    ...(signer.kid === undefined ? {} : { kid: signer.kid }),
    ...header,
  };
  const input = `${toBase64Url(utf8(JSON.stringify(h)))}.${
    toBase64Url(utf8(JSON.stringify(claims)))
  }`;
  const params = signer.alg === "RS256"
    ? "RSASSA-PKCS1-v1_5"
    : signer.alg === "ES256"
    ? { name: "ECDSA", hash: "SHA-256" }
    : "HMAC";
  const signature = new Uint8Array(
    await crypto.subtle.sign(params, signer.privateKey, utf8(input)),
  );
  return `${input}.${toBase64Url(signature)}`;
}
