/**
 * The one import site for command-line parsing (`@std/cli` is JSR-only and
 * JSR is unreachable here; `node:util` `parseArgs` is built into Deno and
 * Bun). Swap this file to move back to `@std/cli`.
 *
 * @module
 */
export { parseArgs } from "node:util";
