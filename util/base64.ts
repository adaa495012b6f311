/**
 * Base64 for the whole broker (HTTP record keys and values, etcd's gateway,
 * SASL and JWTs): one encoder, one decoder, and the URL-safe forms.
 *
 * @module
 */

const CHUNK_BYTES = 0x8000;

/** Bytes as standard base64 with padding. */
export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += CHUNK_BYTES) {
    binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK_BYTES));
  }
  return btoa(binary);
}

/**
 * Standard base64 to bytes by the WHATWG forgiving-base64 rules of `atob` (padding optional,
 * ASCII white space ignored); `undefined` when `text` is not base64.
 */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    return undefined;
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Bytes as base64url without padding (JWT segments). */
export function toBase64Url(bytes: Uint8Array): string {
  return toBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Base64url without padding to bytes; `undefined` when malformed. */
export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined;
  return fromBase64(text.replace(/-/g, "+").replace(/_/g, "/"));
}
