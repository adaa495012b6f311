import { assert, assertEquals } from "../util/assert.ts";
import { crc32c, crc32cJs, useNativeCrc32c } from "../protocol/record_batch.ts";
import { denoCrc32c } from "./deno.ts";

const native = denoCrc32c();

function sample(sizeBytes: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(sizeBytes);
  let x = seed;
  for (let i = 0; i < sizeBytes; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

Deno.test({
  name: "denoCrc32c() (ISA-L) matches the JS CRC-32C on every length, offset and continuation",
  ignore: native === undefined,
  fn() {
    const bytes = sample(70_000, 7);
    // The check value of CRC-32C ("123456789" -> 0xe3069283).
    assertEquals(native!(new TextEncoder().encode("123456789"), 0), 0xe3069283);
    for (const length of [0, 1, 15, 16, 17, 255, 256, 257, 4096, 65_537]) {
      for (const offset of [0, 1, 3]) {
        const view = bytes.subarray(offset, offset + length);
        assertEquals(
          native!(view, 0),
          crc32cJs(bytes, offset, offset + length),
          `${length}@${offset}`,
        );
      }
    }
    const first = native!(bytes.subarray(0, 1000), 0);
    assertEquals(native!(bytes.subarray(1000, 70_000), first), crc32cJs(bytes));
  },
});

Deno.test({
  name: "crc32c() routes large ranges to the installed native CRC and small ones to JS",
  ignore: native === undefined,
  fn() {
    const bytes = sample(10_000, 3);
    let calls = 0;
    useNativeCrc32c((view, crc) => {
      calls++;
      return native!(view, crc);
    });
    try {
      assertEquals(crc32c(bytes, 10, 9_000), crc32cJs(bytes, 10, 9_000));
      assertEquals(calls, 1);
      assertEquals(crc32c(bytes, 0, 100), crc32cJs(bytes, 0, 100));
      assertEquals(calls, 1);
    } finally {
      useNativeCrc32c(undefined);
    }
    assert(crc32c(bytes) === crc32cJs(bytes));
  },
});
