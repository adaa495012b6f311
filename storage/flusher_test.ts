import { assert } from "../util/assert.ts";
import { Errno, IoError } from "../ffi/port.ts";
import { GroupCommit } from "./flusher.ts";

/** A log whose flushes stay in flight until `finish()` settles the oldest one. */
function fakeLog(fail = false) {
  const running: (() => void)[] = [];
  return {
    isClosed: false,
    flushes: 0,
    get running(): number {
      return running.length;
    },
    flushAsync(): Promise<void> {
      this.flushes++;
      return new Promise<void>((resolve, reject) => {
        running.push(() =>
          fail ? reject(new IoError("fdatasync", Errno.EIO, "/x.log")) : resolve()
        );
      });
    },
    finish(): void {
      const next = running.shift();
      assert.ok(next !== undefined, "no flush in flight");
      next();
    },
  };
}

/** Lets promise callbacks (and the microtask that starts a flush) run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

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
  passes[0]();
  await settle();
  assert.equal(a.running + b.running, 2); // both logs flush at once
  assert.equal(settled, 0); // nothing resolves before its flush
  a.finish();
  b.finish();
  await Promise.all(waits);
  assert.equal(a.flushes, 1);
  assert.equal(b.flushes, 1);
  assert.deepEqual(commit.stats, { passes: 1, flushes: 2, waiters: 4, failures: 0 });
  void commit.durable(a);
  assert.equal(passes.length, 2); // the next append schedules a new pass
});

Deno.test("GroupCommit: appends during a flush wait for the next one, which covers them all", async () => {
  const passes: (() => void)[] = [];
  const commit = new GroupCommit({ schedule: (run) => passes.push(run) });
  const log = fakeLog();
  const first = commit.durable(log);
  passes.shift()!();
  await settle();
  assert.equal(log.running, 1);
  let laterDone = 0;
  const later = [commit.durable(log), commit.durable(log), commit.durable(log)];
  for (const w of later) void w.then(() => laterDone++);
  passes.shift()!(); // a pass while the first flush runs starts nothing for this log
  await settle();
  assert.equal(log.flushes, 1);
  log.finish();
  await first;
  assert.equal(laterDone, 0); // the first flush does not cover appends made during it
  assert.equal(passes.length, 1); // its end schedules the pass for the waiters behind it
  passes.shift()!();
  await settle();
  assert.equal(log.flushes, 2);
  log.finish();
  await Promise.all(later);
  assert.equal(laterDone, 3);
});

Deno.test("GroupCommit rejects the waiters of a failed flush only", async () => {
  const commit = new GroupCommit({ schedule: () => {} });
  const bad = fakeLog(true);
  const good = fakeLog();
  const failed = commit.durable(bad);
  const ok = commit.durable(good);
  commit.runPass();
  await settle();
  bad.finish();
  good.finish();
  await assert.rejects(failed, IoError);
  await ok;
  assert.equal(commit.stats.failures, 1);
});

Deno.test("GroupCommit batches appends of one event-loop turn into one flush (setImmediate)", async () => {
  const commit = new GroupCommit();
  const log = fakeLog();
  const waits = Array.from({ length: 50 }, () => commit.durable(log));
  while (log.running === 0) await settle();
  log.finish();
  await Promise.all(waits);
  assert.equal(log.flushes, 1);
});

Deno.test("GroupCommit.drain() resolves once every pending and running flush has settled", async () => {
  const commit = new GroupCommit({ schedule: () => {} });
  const log = fakeLog();
  let resolved = 0;
  void commit.durable(log).then(() => resolved++);
  const drained = commit.drain();
  await settle();
  assert.equal(resolved, 0);
  void commit.durable(log).then(() => resolved++); // arrives while the first flush runs
  log.finish();
  while (log.running === 0) await settle();
  assert.equal(resolved, 1);
  log.finish();
  await drained;
  assert.equal(resolved, 2);
  assert.equal(commit.pendingCount, 0);
});

Deno.test("GroupCommit hands a flush error that is not an IoError to onError, and rejects its waiters", async () => {
  const errors: unknown[] = [];
  const flusher = new GroupCommit({ schedule: (run) => run(), onError: (e) => errors.push(e) });
  const log = {
    isClosed: false,
    flushAsync: () => Promise.reject(new TypeError("fd is not a number")),
  };
  await assert.rejects(() => flusher.durable(log), TypeError);
  await flusher.drain();
  await Promise.resolve();
  assert.equal(errors.length, 1);
  assert.equal(flusher.stats.failures, 1);
});
