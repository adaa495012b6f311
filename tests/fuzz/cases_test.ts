/** The fuzz cases themselves: every family builds for every generated API, frames are sized. */
import { assert, assertEquals } from "../../util/assert.ts";
import { API_MESSAGES } from "../../protocol/messages/mod.ts";
import { FAMILIES, makeCase } from "./cases.ts";

const ALL_APIS = API_MESSAGES.map((a) => ({
  apiKey: a.apiKey,
  minVersion: a.minVersion,
  maxVersion: a.maxVersion,
}));

Deno.test("makeCase() builds 5000 cases over every generated API and version, every family", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    const c = makeCase(7, i, ALL_APIS);
    seen.add(c.family);
    assertEquals(c.index, i);
    assert(c.bytes.length > 0, `case ${i} has no bytes`);
    if (c.family === "mutated" || c.family === "wellformed") {
      const size = new DataView(c.bytes.buffer, c.bytes.byteOffset).getInt32(0);
      assertEquals(size, c.bytes.length - 4, `case ${i} (${c.what}) is not one whole frame`);
    }
  }
  assertEquals([...seen].sort(), [...FAMILIES].sort());
});

Deno.test("makeCase() is a function of (seed, index) for the request families", () => {
  for (let i = 0; i < 300; i++) {
    const a = makeCase(11, i, ALL_APIS, ["mutated", "frame", "sequence"]);
    const b = makeCase(11, i, ALL_APIS, ["mutated", "frame", "sequence"]);
    if (a.what.includes("Produce")) continue; // record timestamps are the time of the run
    assertEquals([a.family, a.what, a.bytes], [b.family, b.what, b.bytes]);
  }
});
