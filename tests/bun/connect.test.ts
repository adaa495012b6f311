/**
 * The outbound-connection suite (`ffi/_connect_conformance.ts`) on the Bun
 * binding, under `bun test` (`deno task test:bun`).
 *
 * @module
 */
import { test } from "bun:test";
import { connectConformance } from "../../ffi/_connect_conformance.ts";
import { bunRuntime } from "../../ffi/bun.ts";

connectConformance(bunRuntime(), test);
