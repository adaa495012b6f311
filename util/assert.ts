/**
 * The one import site for assertions (`@std/assert` is JSR-only and JSR is
 * unreachable here; `node:assert/strict` is built into Deno and Bun). Swap
 * this file to move back to `@std/assert`.
 *
 * @module
 */
export { default as assert } from "node:assert/strict";
export {
  deepEqual as assertEquals,
  equal as assertStrictEquals,
  ok as assertOk,
  rejects as assertRejects,
  throws as assertThrows,
} from "node:assert/strict";
