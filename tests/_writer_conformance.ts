/**
 * The segment-writer conformance suite: every writer kind × every libc given,
 * through the writer alone and through `PartitionLog`. It names no test
 * runner: `tests/writer_conformance_test.ts` registers it with `Deno.test` on
 * the in-memory libc (with seeded faults) and the Deno binding, and
 * `tests/bun/writer_conformance.test.ts` with `bun:test` on the Bun binding.
 * Fault cases run on the in-memory libc only.
 *
 * @module
 */

import * as fs from "node:fs";
import * as os from "node:os";
import type { Register } from "../ffi/_libc_conformance.ts";
import { type MemoryLibc, memoryLibc } from "../ffi/memory.ts";
import type { Libc } from "../ffi/port.ts";
import type { WriterKind } from "../storage/segment_writer.ts";
import { assert } from "../util/assert.ts";
import { LOG_CASES } from "./_writer_conformance_log.ts";
import { WRITER_CASES } from "./_writer_conformance_writer.ts";

/** One test's libc and directory. */
export interface WriterEnv {
  readonly libc: Libc;
  /** The in-memory libc's test controls, or `undefined` for a real binding. */
  readonly memory: MemoryLibc | undefined;
  readonly dir: string;
  cleanup(): void;
}

/** A libc the suite runs on: its name in test titles, and a fresh env per test. */
export interface WriterLibc {
  readonly name: string;
  make(): WriterEnv;
}

/** The in-memory libc (seed 7), fresh for every test; the fault cases run on it. */
export function memoryWriterLibc(): WriterLibc {
  return {
    name: "memory",
    make: () => {
      const memory = memoryLibc({ seed: 7 });
      memory.mkdirp("/data");
      return { libc: memory, memory, dir: "/data", cleanup: () => {} };
    },
  };
}

/** A real binding over a fresh temporary directory per test. */
export function hostWriterLibc(name: string, libc: Libc): WriterLibc {
  return {
    name,
    make: () => {
      const dir = fs.mkdtempSync(`${os.tmpdir()}/denka_conformance_`);
      return {
        libc,
        memory: undefined,
        dir,
        cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
      };
    },
  };
}

/** Registers every case for every writer kind × every libc in `libcs`. */
export function writerConformance(libcs: readonly WriterLibc[], register: Register): void {
  for (const kind of KINDS) {
    for (const libc of libcs) {
      for (const c of [...WRITER_CASES, ...LOG_CASES]) {
        if (c.memoryOnly && libc.name !== "memory") continue;
        register(`[${kind} × ${libc.name}] ${c.name}`, async () => {
          const env = libc.make();
          try {
            await c.run(env, kind);
            if (env.memory !== undefined) {
              assert.equal(env.memory.openFdCount(), 0, "fd leak");
              assert.equal(env.memory.liveMappingCount(), 0, "mapping leak");
            }
          } finally {
            env.cleanup();
          }
        });
      }
    }
  }
}

/** One case: its title, whether it needs the in-memory libc's faults, and its body. */
export interface WriterCase {
  readonly name: string;
  readonly memoryOnly: boolean;
  run(env: WriterEnv, kind: WriterKind): void | Promise<void>;
}

const KINDS: WriterKind[] = ["pwrite", "mmap"];
