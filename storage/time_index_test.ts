import { assert } from "../util/assert.ts";
import { memoryLibc } from "../ffi/memory.ts";
import { IndexCorruptError } from "./_index_file.ts";
import { TimeIndex } from "./time_index.ts";

function setup() {
  const libc = memoryLibc();
  libc.mkdirp("/d");
  return (writable = true) =>
    TimeIndex.open(libc, "/d/0.timeindex", { baseOffset: 500, maxIndexBytes: 120, writable });
}

Deno.test("TimeIndex.maybeAppend() appends only when the timestamp grows", () => {
  const index = setup()();
  index.maybeAppend(100, 510);
  index.maybeAppend(100, 520);
  index.maybeAppend(90, 530);
  index.maybeAppend(200, 540);
  assert.equal(index.entryCount, 2);
  assert.deepEqual(index.lastEntry(), { timestampMs: 200, offset: 540 });
  assert.throws(() => index.maybeAppend(300, 530)); // offsets must not go back
  index.close();
});

Deno.test("TimeIndex.lookup() returns the largest entry at or below the timestamp", () => {
  const index = setup()();
  assert.deepEqual(index.lookup(1e12), { timestampMs: -1, offset: 500 });
  index.maybeAppend(1_700_000_000_000, 510);
  index.maybeAppend(1_700_000_000_500, 520);
  assert.deepEqual(index.lookup(1_699_999_999_999), { timestampMs: -1, offset: 500 });
  assert.deepEqual(index.lookup(1_700_000_000_000), {
    timestampMs: 1_700_000_000_000,
    offset: 510,
  });
  assert.deepEqual(index.lookup(1_700_000_000_499), {
    timestampMs: 1_700_000_000_000,
    offset: 510,
  });
  assert.deepEqual(index.lookup(1_800_000_000_000), {
    timestampMs: 1_700_000_000_500,
    offset: 520,
  });
  index.close();
});

Deno.test("TimeIndex ignores appends once full and reopens trimmed or untrimmed", () => {
  const open = setup();
  const index = open();
  for (let i = 1; i <= 12; i++) index.maybeAppend(i * 10, 500 + i);
  assert.equal(index.entryCount, 10);
  assert.ok(index.isFull);
  index.close();
  const untrimmed = open();
  assert.equal(untrimmed.entryCount, 10);
  untrimmed.truncateTo(504);
  assert.equal(untrimmed.entryCount, 3);
  untrimmed.trimToValidSize();
  untrimmed.close();
  const trimmed = open(false);
  assert.equal(trimmed.entryCount, 3);
  trimmed.sanityCheck(504);
  assert.throws(() => trimmed.sanityCheck(503), IndexCorruptError);
  trimmed.close();
});
