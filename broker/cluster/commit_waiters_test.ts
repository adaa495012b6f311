import { assert } from "../../util/assert.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { CommitWaiters } from "./commit_waiters.ts";

Deno.test("CommitWaiters answers those the high watermark reached, fails the rest on failAll()", async () => {
  const waiters = new CommitWaiters();
  const first = waiters.wait(5, 60_000);
  const second = waiters.wait(9, 60_000);
  waiters.complete(7, () => ErrorCode.NONE);
  assert.equal(await first, ErrorCode.NONE);
  assert.equal(waiters.size, 1);
  waiters.complete(8, () => ErrorCode.NONE); // still below 9
  assert.equal(waiters.size, 1);
  waiters.failAll(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  assert.equal(await second, ErrorCode.NOT_LEADER_OR_FOLLOWER);
  assert.equal(waiters.size, 0);
});

Deno.test("CommitWaiters.wait() times out with REQUEST_TIMED_OUT", async () => {
  const waiters = new CommitWaiters();
  assert.equal(await waiters.wait(1, 0), ErrorCode.REQUEST_TIMED_OUT);
  assert.equal(waiters.size, 0);
});
