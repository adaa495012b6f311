import { assertEquals } from "../util/assert.ts";
import { sidesInRound } from "./compare.ts";
import { compareWithTarget, renderMarkdown, summarize } from "./report.ts";
import type { Cell } from "./workloads.ts";

const D = "deno/pwrite/sendfile";

function cell(workload: string, variant: string, round: number, mbs: number, p99Ms?: number): Cell {
  return {
    workload,
    variant,
    round,
    bytesPerSec: mbs * 1e6,
    recordsPerSec: 0,
    errors: 0,
    ...(p99Ms === undefined ? {} : { p50Ms: p99Ms / 4, p99Ms }),
  };
}

Deno.test("compareWithTarget() gives both sides and Denka / target per round", () => {
  const cells = [
    cell("w1", D, 1, 100),
    cell("w1", "target", 1, 50),
    cell("w1", D, 2, 90),
    cell("w1", "target", 2, 100),
    cell("w1", D, 3, 120),
    cell("w1", "target", 3, 100),
    cell("w5", D, 1, 10, 4),
    cell("w5", "target", 1, 10, 2),
    cell("only-denka", D, 1, 10),
  ];
  const [w1, w5, ...rest] = compareWithTarget(cells);
  assertEquals(rest, [], "a workload without a target cell is not compared");
  assertEquals(w1.workload, "w1");
  assertEquals(w1.denka, D);
  assertEquals(w1.bytesPerSec.ratio, { median: 1.2, min: 0.9, max: 2, n: 3 });
  assertEquals(w1.bytesPerSec.target?.median, 100e6);
  assertEquals(w1.p99Ms, undefined);
  assertEquals(w5.bytesPerSec.ratio?.median, 1);
  assertEquals(w5.p99Ms?.ratio?.median, 2);
  assertEquals(w5.p50Ms?.denka?.median, 1);
});

Deno.test("renderMarkdown() shows the Denka / target table and leaves out the suite's targets", () => {
  const cells = [cell("w1", D, 1, 100), cell("w1", "target", 1, 80)];
  const markdown = renderMarkdown({
    startedAt: "2026-12-04T00:00:00.000Z",
    durationSec: 1,
    options: { quick: true, rounds: 1, target: null, compare: "127.0.0.1:9092" },
    machine: {},
    notes: [],
    summary: summarize(cells),
  });
  assertEquals(markdown.includes("| w1 | 100 | 80 | 1.25 |"), true, markdown);
  assertEquals(markdown.includes("## Targets"), false);
  assertEquals(markdown.includes("## Same-round ratios"), false);
});

Deno.test("sidesInRound() alternates which side goes first", () => {
  assertEquals(sidesInRound(["denka", "target"], 0), ["denka", "target"]);
  assertEquals(sidesInRound(["denka", "target"], 1), ["target", "denka"]);
  assertEquals(sidesInRound(["denka", "target"], 2), ["denka", "target"]);
  assertEquals(sidesInRound(["target"], 1), ["target"]);
});
