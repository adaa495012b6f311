import { assert, assertEquals } from "../../util/assert.ts";
import { linkSignals } from "./_linked_signal.ts";

Deno.test("linkSignals() aborts when any source aborts, and not after dispose()", () => {
  const a = new AbortController();
  const b = new AbortController();
  const linked = linkSignals([a.signal, b.signal]);
  assert(!linked.signal.aborted);
  b.abort();
  assert(linked.signal.aborted);

  const c = new AbortController();
  const unlinked = linkSignals([c.signal]);
  unlinked.dispose();
  c.abort();
  assertEquals(unlinked.signal.aborted, false);
});

Deno.test("linkSignals() of an already aborted source is aborted at once", () => {
  const a = new AbortController();
  a.abort();
  assert(linkSignals([new AbortController().signal, a.signal]).signal.aborted);
});
