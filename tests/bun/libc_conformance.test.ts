/**
 * The libc conformance suite (`ffi/_libc_conformance.ts`) against the Bun
 * binding, under `bun test` (`deno task test:bun`), plus what is Bun's own:
 * `ffi/load.ts` picks the Bun binding.
 *
 * @module
 */
import { test } from "bun:test";
import { hostLibcSubject, libcConformance } from "../../ffi/_libc_conformance.ts";
import { bunLibc, bunRuntime } from "../../ffi/bun.ts";
import { loadLibc, loadRuntime } from "../../ffi/load.ts";
import { assert } from "../../util/assert.ts";

libcConformance({ name: "bun", newSubject: () => hostLibcSubject(bunLibc(), bunRuntime()) }, test);

test("loadLibc() and loadRuntime() pick the Bun binding", () => {
  assert.equal(loadLibc().kind, "bun");
  assert.equal(loadRuntime().name, "bun");
});
