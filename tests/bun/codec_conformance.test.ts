/**
 * The codec conformance suite (`ffi/_codec_conformance.ts`) against the Bun
 * binding's codec libraries, under `bun test` (`deno task test:bun`).
 *
 * @module
 */
import { test } from "bun:test";
import { codecConformance } from "../../ffi/_codec_conformance.ts";
import { loadNativeCompressors, loadNativeDecoders } from "../../ffi/load.ts";

codecConformance(
  { name: "bun", decoders: loadNativeDecoders(), compressors: loadNativeCompressors() },
  test,
);
