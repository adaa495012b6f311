/**
 * The segment-writer conformance suite (`tests/_writer_conformance.ts`) on
 * the in-memory libc and the Deno binding; `tests/bun/` runs it on Bun's.
 */
import { denoLibc } from "../ffi/deno.ts";
import { hostWriterLibc, memoryWriterLibc, writerConformance } from "./_writer_conformance.ts";

writerConformance([memoryWriterLibc(), hostWriterLibc("deno", denoLibc())], Deno.test);
