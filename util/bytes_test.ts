import { assert } from "./assert.ts";
import { concatBytes } from "./bytes.ts";

Deno.test("concatBytes() joins parts in order, subarrays by their own window", () => {
  const backing = Uint8Array.of(9, 1, 2, 9);
  assert.deepEqual(
    concatBytes([Uint8Array.of(7), backing.subarray(1, 3), new Uint8Array(0), Uint8Array.of(3)]),
    Uint8Array.of(7, 1, 2, 3),
  );
  assert.deepEqual(concatBytes([]), new Uint8Array(0));
});

Deno.test("concatBytes() returns a copy the caller owns, also of a single part", () => {
  const part = Uint8Array.of(1, 2, 3);
  const joined = concatBytes([part]);
  assert.deepEqual(joined, part);
  joined[0] = 99;
  assert.equal(part[0], 1, "the part is untouched");
  assert.notEqual(joined.buffer, part.buffer);
});
