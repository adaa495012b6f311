import { strict as assert } from "node:assert";
import { Errno, IoError } from "../ffi/port.ts";
import { GroupCommit } from "./flusher.ts";

function fakeLog(fail = false) {
  return {
    isClosed: false,
    flushes: 0,
    flush() {
      this.flushes++;
      if (fail) throw new IoError("fdatasync", Errno.EIO, "/x.log");
    },
  };
}

Deno.test("GroupCommit runs one flush per dirty log for every waiter of a pass", async () => {
  const passes: (() => void)[] = [];
  const commit = new GroupCommit({ schedule: (run) => passes.push(run) });
  const a = fakeLog();
  const b = fakeLog();
  const waits = [commit.durable(a), commit.durable(a), commit.durable(b), commit.durable(a)];
  commit.request(b);
  assert.equal(passes.length, 1); // one pass scheduled for all of them
  let settled = 0;
  for (const w of waits) void w.then(() => settled++);
  await Promise.resolve();
  assert.equal(settled, 0); // nothing resolves before the flush
  passes[0]();
  await Promise.all(waits);
  assert.equal(a.flushes, 1);
  assert.equal(b.flushes, 1);
  assert.deepEqual(commit.stats, { passes: 1, flushes: 2, waiters: 4, failures: 0 });
  void commit.durable(a);
  assert.equal(passes.length, 2); // the next append schedules a new pass
});

Deno.test("GroupCommit rejects the waiters of a failed flush only", async () => {
  const commit = new GroupCommit({ schedule: () => {} });
  const bad = fakeLog(true);
  const good = fakeLog();
  const failed = commit.durable(bad);
  const ok = commit.durable(good);
  commit.runPass();
  await assert.rejects(failed, IoError);
  await ok;
  assert.equal(commit.stats.failures, 1);
});

Deno.test("GroupCommit batches appends of one event-loop turn into one flush (setImmediate)", async () => {
  const commit = new GroupCommit();
  const log = fakeLog();
  await Promise.all(Array.from({ length: 50 }, () => commit.durable(log)));
  assert.equal(log.flushes, 1);
});
