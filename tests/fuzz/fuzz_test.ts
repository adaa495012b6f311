/**
 * The protocol fuzz suite in CI, the broker a subprocess either way: a Deno
 * broker with a fixed seed and one derived from the date, 25 s each; with
 * DENKA_TEST_RUNTIME=bun (the Bun pass of `.ci/run`), a Bun broker with the
 * seed of the day for 20 s. A failure names the seed and case and carries
 * the bytes; replay it with
 * `deno run -A tests/fuzz/main.ts --seed S --runtime R --case I`.
 */
import { FAMILIES } from "./cases.ts";
import { formatFailure, runFuzz } from "./run.ts";
import type { Runtime } from "./broker_child.ts";
import { TEST_RUNTIME } from "../interop/bun_broker.ts";

/** The seed every CI run covers. */
const FIXED_SEED = 10; // the issue number; the seed of the day is YYYYMMDD

/** YYYYMMDD of today (UTC): a new seed each day, the same all day. */
function dateSeed(): number {
  const d = new Date();
  return d.getUTCFullYear() * 10000 + (d.getUTCMonth() + 1) * 100 + d.getUTCDate();
}

async function fuzz(runtime: Runtime, seed: number, seconds: number): Promise<void> {
  const report = await runFuzz({ seed, seconds, runtime, families: FAMILIES, stopOnFatal: true });
  if (report.failures.length > 0) {
    const shown = report.failures.slice(0, 20).map(formatFailure).join("\n");
    throw new Error(
      `Fuzz (${runtime}, seed ${seed}) found ${report.failures.length} failure(s) in ${report.cases} cases; ` +
        `replay with: deno run -A tests/fuzz/main.ts --seed ${seed} --runtime ${runtime} --case <index>\n${shown}`,
    );
  }
  if (report.cases < 50) {
    throw new Error(`Fuzz (${runtime}, seed ${seed}) ran only ${report.cases} cases`);
  }
}

if (TEST_RUNTIME === "deno") {
  Deno.test(`fuzz: the Deno broker survives seed ${FIXED_SEED} for 25 s`, async () => {
    await fuzz("deno", FIXED_SEED, 25);
  });

  Deno.test(`fuzz: the Deno broker survives the seed of the day (${dateSeed()}) for 25 s`, async () => {
    await fuzz("deno", dateSeed(), 25);
  });
} else {
  Deno.test(`fuzz: the Bun broker survives the seed of the day (${dateSeed()}) for 20 s`, async () => {
    await fuzz("bun", dateSeed(), 20);
  });
}
