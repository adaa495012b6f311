/**
 * The segment-writer conformance suite (`tests/_writer_conformance.ts`) on
 * the Bun binding, under `bun test` (`deno task test:bun`).
 *
 * @module
 */
import { test } from "bun:test";
import { bunLibc } from "../../ffi/bun.ts";
import { hostWriterLibc, writerConformance } from "../_writer_conformance.ts";

writerConformance([hostWriterLibc("bun", bunLibc())], test);
