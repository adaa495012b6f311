/**
 * {@linkcode concatBytes}: the one concatenation of byte arrays.
 *
 * @module
 */

/**
 * A new array holding `parts` back to back. Always a copy the caller owns,
 * also for a single part: a caller that may keep a lone part as it is (it
 * knows nobody else holds it) says so at its call site.
 */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let sizeBytes = 0;
  for (const part of parts) sizeBytes += part.length;
  const out = new Uint8Array(sizeBytes);
  let atBytes = 0;
  for (const part of parts) {
    out.set(part, atBytes);
    atBytes += part.length;
  }
  return out;
}
