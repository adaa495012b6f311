/**
 * The serveHttp conformance suite (`ffi/_http_conformance.ts`) on the Bun
 * binding, under `bun test` (`deno task test:bun`).
 *
 * @module
 */
import { test } from "bun:test";
import { httpServeConformance } from "../../ffi/_http_conformance.ts";
import { bunRuntime } from "../../ffi/bun.ts";

httpServeConformance({
  name: "bun",
  runtime: bunRuntime(),
  fetchTrusting: (url, caPem) =>
    fetch(url, { tls: { ca: caPem } } as RequestInit & { tls: { ca: string } }),
}, test);
