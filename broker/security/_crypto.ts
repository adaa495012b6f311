/**
 * The primitives the SASL mechanisms share: hashes, HMAC, PBKDF2, base64
 * and a constant-time comparison.
 *
 * PBKDF2 goes through WebCrypto, whose `deriveBits` runs off the JS thread
 * in Deno and Bun, so a PLAIN login's ~4096 HMACs do not stall the event
 * loop. The short hashes and HMACs of a SCRAM exchange go through
 * `node:crypto` (built into both runtimes), synchronously: measured on this
 * machine, one small HMAC-SHA-256 costs 44 us through WebCrypto
 * (`importKey` + `sign`, two promises) against 9.5 us in Deno and 1.2 us in
 * Bun through `createHmac`.
 *
 * @module
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import {
  fromBase64 as decodeBase64,
  fromBase64Url,
  toBase64,
  toBase64Url,
} from "../../util/base64.ts";

/** A WebCrypto hash name used by SCRAM and JWT. */
export type HashName = "SHA-256" | "SHA-512";

const encoder = new TextEncoder();

/** The UTF-8 bytes of `text`. */
export function utf8(text: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(text);
}

const NODE_HASH: Record<HashName, string> = { "SHA-256": "sha256", "SHA-512": "sha512" };

/** `H(bytes)`. */
export function digest(hash: HashName, bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(createHash(NODE_HASH[hash]).update(bytes).digest());
}

/** `HMAC(key, message)`. */
export function hmac(
  hash: HashName,
  key: Uint8Array,
  message: Uint8Array,
): Uint8Array<ArrayBuffer> {
  return new Uint8Array(createHmac(NODE_HASH[hash], key).update(message).digest());
}

/** PBKDF2 with HMAC-`hash` (RFC 5802's `Hi()`), one hash length of output. */
export async function pbkdf2(
  hash: HashName,
  password: Uint8Array<ArrayBuffer>,
  salt: Uint8Array<ArrayBuffer>,
  iterations: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const k = await crypto.subtle.importKey("raw", password, "PBKDF2", false, ["deriveBits"]);
  const bits = hash === "SHA-256" ? 256 : 512;
  return new Uint8Array(
    await crypto.subtle.deriveBits({ name: "PBKDF2", hash, salt, iterations }, k, bits),
  );
}

/** `a XOR b` (same length). */
export function xor(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] ^ b[i];
  return out;
}

/**
 * True when `a` and `b` hold the same bytes, in time that depends only on
 * their lengths (which are public: hash and key sizes).
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** `count` bytes from the system's secure random source. */
export function randomBytes(count: number): Uint8Array<ArrayBuffer> {
  return crypto.getRandomValues(new Uint8Array(count));
}

export { fromBase64Url, toBase64, toBase64Url };

/** Decodes strict standard base64 (alphabet and padding checked); `undefined` when it is not. */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  return decodeBase64(text);
}
