import { assert } from "../util/assert.ts";
import { memoryLibc } from "../ffi/memory.ts";
import {
  LEADER_EPOCH_CHECKPOINT_FILE_NAME,
  LeaderEpochCache,
  parseCheckpoint,
  UNDEFINED_EPOCH,
} from "./leader_epoch_cache.ts";

const DIR = "/d/t-0";
const PATH = `${DIR}/${LEADER_EPOCH_CHECKPOINT_FILE_NAME}`;
const bounds = (logEndOffset: number, logStartOffset = 0) => ({ logStartOffset, logEndOffset });

function fileText(libc: ReturnType<typeof memoryLibc>): string {
  return new TextDecoder().decode(libc.readFile(PATH));
}

Deno.test("LeaderEpochCache.assign() keeps newer epochs only and writes Kafka's checkpoint format", () => {
  const libc = memoryLibc();
  libc.mkdirp(DIR);
  const cache = LeaderEpochCache.open(libc, DIR, bounds(0));
  assert.equal(cache.latestEpoch, UNDEFINED_EPOCH);
  cache.assign(0, 0);
  cache.assign(0, 5); // same epoch: ignored
  cache.assign(2, 10);
  cache.assign(1, 12); // older epoch: ignored
  assert.deepEqual(cache.entries, [{ epoch: 0, startOffset: 0 }, { epoch: 2, startOffset: 10 }]);
  assert.equal(fileText(libc), "0\n2\n0 0\n2 10\n");
  assert.equal(cache.startOffsetOf(2), 10);
  assert.equal(cache.startOffsetOf(1), undefined);
});

Deno.test("LeaderEpochCache.endOffsetFor() answers as Kafka's endOffsetFor", () => {
  const libc = memoryLibc();
  libc.mkdirp(DIR);
  const cache = LeaderEpochCache.open(libc, DIR, bounds(0));
  assert.deepEqual(cache.endOffsetFor(0, 0), { epoch: -1, endOffset: -1 }); // empty
  cache.assign(1, 0);
  cache.assign(3, 10);
  cache.assign(5, 20);
  assert.deepEqual(cache.endOffsetFor(5, 33), { epoch: 5, endOffset: 33 }); // latest: log end
  assert.deepEqual(cache.endOffsetFor(3, 33), { epoch: 3, endOffset: 20 });
  assert.deepEqual(cache.endOffsetFor(4, 33), { epoch: 3, endOffset: 20 }); // floor epoch
  assert.deepEqual(cache.endOffsetFor(0, 33), { epoch: 0, endOffset: 0 }); // older than all
  assert.deepEqual(cache.endOffsetFor(7, 33), { epoch: -1, endOffset: -1 }); // unknown newer
  assert.deepEqual(cache.endOffsetFor(UNDEFINED_EPOCH, 33), { epoch: -1, endOffset: -1 });
});

Deno.test("LeaderEpochCache truncates from the end and the start, and open() trims to the log", () => {
  const libc = memoryLibc();
  libc.mkdirp(DIR);
  const cache = LeaderEpochCache.open(libc, DIR, bounds(0));
  cache.assign(1, 0);
  cache.assign(2, 10);
  cache.assign(3, 20);
  cache.truncateFromEnd(20);
  assert.deepEqual(cache.entries.map((e) => e.epoch), [1, 2]);
  cache.truncateFromStart(12);
  assert.deepEqual(cache.entries, [{ epoch: 2, startOffset: 12 }]);
  assert.equal(fileText(libc), "0\n1\n2 12\n");
  cache.assign(4, 30);
  // Restart with a log that ends at 25: the epoch starting at 30 is gone.
  const reopened = LeaderEpochCache.open(libc, DIR, bounds(25, 12));
  assert.deepEqual(reopened.entries, [{ epoch: 2, startOffset: 12 }]);
  assert.equal(fileText(libc), "0\n1\n2 12\n");
});

Deno.test("parseCheckpoint() refuses a wrong version, a count that does not match, a bad line", () => {
  assert.deepEqual(parseCheckpoint("0\n1\n4 100\n"), [{ epoch: 4, startOffset: 100 }]);
  assert.throws(() => parseCheckpoint("1\n0\n"));
  assert.throws(() => parseCheckpoint("0\n2\n4 100\n"));
  assert.throws(() => parseCheckpoint("0\n1\n4 x\n"));
  const libc = memoryLibc();
  libc.mkdirp(DIR);
  libc.writeFileAtomic(PATH, new TextEncoder().encode("garbage"));
  assert.deepEqual(LeaderEpochCache.open(libc, DIR, bounds(10)).entries, []);
});
