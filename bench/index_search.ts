/**
 * Kafka's warm-section index search against a plain binary search over the
 * whole index, on a full 10 MiB offset index (1,310,720 entries) mapped from
 * a real file: tail lookups (the last 100 entries, where nearly every
 * consumer fetch lands) and uniform random lookups.
 *
 * Usage: `deno run -A bench/index_search.ts` (or `bun bench/index_search.ts`).
 *
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadLibc } from "../ffi/load.ts";
import { IndexFile } from "../storage/_index_file.ts";
import { floorSearch } from "../storage/_floor_search.ts";

const ENTRY_BYTES = 8;
const INDEX_BYTES = 10 * 1024 * 1024;
const LOOKUPS = 2_000_000;
const ROUNDS = 5;

const libc = await loadLibc();
const dir = mkdtempSync(join(tmpdir(), "denka-index-bench-"));
try {
  const file = IndexFile.open(libc, join(dir, "0.index"), {
    entrySizeBytes: ENTRY_BYTES,
    maxIndexBytes: INDEX_BYTES,
    writable: true,
    isEmptyEntry: (v, p) => v.getUint32(p) === 0 && v.getUint32(p + 4) === 0,
  });
  for (let i = 0; i < file.maxEntryCount; i++) {
    const p = file.appendEntry();
    file.view.setUint32(p, (i + 1) * 10);
    file.view.setUint32(p + 4, (i + 1) * 4096);
  }
  const count = file.entryCount;
  const keyAt = (v: DataView, p: number) => v.getUint32(p);
  const warm = (target: number) => file.floorEntry(target, keyAt);
  const whole = (target: number) => {
    const view = file.view;
    return floorSearch(0, count, target, (i) => view.getUint32(i * ENTRY_BYTES));
  };
  const tail = Array.from({ length: 1024 }, (_, i) => (count - 1 - (i % 100)) * 10 + 5);
  const random = Array.from({ length: 1024 }, () => Math.floor(Math.random() * count * 10));
  const run = (search: (t: number) => number, targets: number[]) => {
    let sink = 0;
    const started = performance.now();
    for (let i = 0; i < LOOKUPS; i++) sink += search(targets[i & 1023]);
    const ns = (performance.now() - started) * 1e6 / LOOKUPS;
    if (sink === -1) console.log(sink);
    return ns;
  };
  for (const [name, targets] of [["tail", tail], ["random", random]] as const) {
    const w: number[] = [];
    const b: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      w.push(run(warm, targets));
      b.push(run(whole, targets));
    }
    const median = (xs: number[]) => xs.sort((x, y) => x - y)[xs.length >> 1];
    console.log(
      `${name}: warm section ${median(w).toFixed(1)} ns, whole index ${
        median(b).toFixed(1)
      } ns per lookup (median of ${ROUNDS} x ${LOOKUPS}, ${count} entries)`,
    );
  }
  file.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
