import { assertEquals } from "./assert.ts";
import { fromBase64, fromBase64Url, toBase64, toBase64Url } from "./base64.ts";

Deno.test("toBase64() and fromBase64() round-trip every byte, also past one chunk", () => {
  const bytes = Uint8Array.from({ length: 0x8000 * 2 + 7 }, (_, i) => (i * 31) & 0xff);
  assertEquals(fromBase64(toBase64(bytes)), bytes);
  assertEquals(toBase64(new Uint8Array([0xfb, 0xff])), "+/8=");
  assertEquals(fromBase64("+/8"), new Uint8Array([0xfb, 0xff])); // forgiving: no padding
  assertEquals(fromBase64("not base64!"), undefined);
});

Deno.test("toBase64Url() and fromBase64Url() use the URL alphabet without padding", () => {
  const bytes = new Uint8Array([0xfb, 0xff, 0x01]);
  assertEquals(toBase64Url(bytes), "-_8B");
  assertEquals(fromBase64Url("-_8B"), bytes);
  assertEquals(fromBase64Url("+/8B"), undefined);
  assertEquals(fromBase64Url("a"), undefined);
});
