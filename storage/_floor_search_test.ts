import { assertEquals } from "../util/assert.ts";
import { floorSearch } from "./_floor_search.ts";

Deno.test("floorSearch() finds the last key at or below the target, or fromIndex - 1", () => {
  const keys = [2, 4, 4, 8, 16];
  const at = (i: number) => keys[i];
  assertEquals(floorSearch(0, keys.length, 1, at), -1);
  assertEquals(floorSearch(0, keys.length, 2, at), 0);
  assertEquals(floorSearch(0, keys.length, 4, at), 2); // the last of equal keys
  assertEquals(floorSearch(0, keys.length, 7, at), 2);
  assertEquals(floorSearch(0, keys.length, 100, at), 4);
  assertEquals(floorSearch(3, keys.length, 7, at), 2); // below the range: fromIndex - 1
  assertEquals(floorSearch(3, keys.length, 9, at), 3);
  assertEquals(floorSearch(0, 0, 9, at), -1); // empty
});

Deno.test("floorSearch() agrees with a linear scan on every target", () => {
  const keys = Array.from({ length: 200 }, (_, i) => i * 3 + (i % 7 === 0 ? 1 : 0));
  for (let target = -2; target < 620; target++) {
    let linear = -1;
    for (let i = 0; i < keys.length; i++) if (keys[i] <= target) linear = i;
    assertEquals(floorSearch(0, keys.length, target, (i) => keys[i]), linear, `target ${target}`);
  }
});
