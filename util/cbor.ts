/**
 * The one import site for CBOR. It takes cbor-x's pure-JS build: the default
 * Node entry loads the native `cbor-extract` addon, which kills a Deno process
 * (`symbol lookup error`) when it decodes a long non-ASCII string.
 *
 * @module
 */
export { decode, Decoder, encode, Encoder } from "cbor-x/encode";
