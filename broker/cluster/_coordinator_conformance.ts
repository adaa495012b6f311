/**
 * One suite for every {@linkcode Coordinator} adapter (Hono's `runTest`
 * pattern): `memory_coordinator_test.ts` runs it on the in-memory adapter,
 * `etcd_test.ts` on a real etcd. A harness gives each case fresh clients
 * under a root prefix of its own, and a way to wait for an event for at most
 * so much time: virtual time on the memory adapter's clock, real time (with
 * a deadline) on etcd. No case sleeps; each waits on a promise, a watch
 * event or a lease's `lost`.
 *
 * @module
 */
import { assert, assertEquals } from "../../util/assert.ts";
import {
  type Coordinator,
  CoordinatorError,
  decodeJson,
  decodeText,
  encodeJson,
  encodeText,
  fencedBy,
  type KeyValue,
  type WatchBatch,
  type WatchEvent,
} from "./coordinator.ts";

/** What a case gets from the adapter under test. */
export interface CoordinatorHarness {
  /** A new client (one broker) of the same store, under this case's root prefix. */
  connect(): Promise<Coordinator>;
  /**
   * Resolves with `promise` once it settles, letting at most `maxMs` of the
   * adapter's time pass (the memory clock is advanced; etcd's runs by
   * itself); fails the case with `label` after that.
   */
  until<T>(promise: Promise<T>, label: string, maxMs: number): Promise<T>;
  /** Compacts the store's history before `revision`. */
  compact(revision: number): Promise<void>;
  /** Closes every client it made. */
  close(): Promise<void>;
}

/** One case of the suite. */
export interface ConformanceCase {
  readonly name: string;
  readonly fn: (h: CoordinatorHarness) => Promise<void>;
}

/** Generous bound on waits that only take a network round trip or two. */
const QUICK_MS = 5_000;

const text = encodeText;

/** The partition state the controller keeps per partition (Kafka's znode payload). */
interface PartitionState {
  leader: number;
  leaderEpoch: number;
  isr: number[];
  controllerEpoch: number;
}

/** Reads from a watch until `count` events arrived, or it ends. */
async function collect(
  h: CoordinatorHarness,
  watch: AsyncIterableIterator<WatchBatch>,
  count: number,
  label: string,
  maxMs = QUICK_MS,
): Promise<{ events: WatchEvent[]; compacted: number | undefined }> {
  const events: WatchEvent[] = [];
  while (events.length < count) {
    const next = await h.until(watch.next(), label, maxMs);
    if (next.done) return { events, compacted: undefined };
    if (next.value.kind === "compacted") {
      return { events, compacted: next.value.compactRevision };
    }
    events.push(...next.value.events);
  }
  return { events, compacted: undefined };
}

function summary(events: readonly WatchEvent[]): string[] {
  return events.map((e) => `${e.type} ${e.kv.key}=${decodeText(e.kv.value)}`);
}

/** The cases. */
export const coordinatorConformanceCases: readonly ConformanceCase[] = [
  {
    name: "put(), get() and range() keep etcd's revisions and versions",
    fn: async (h) => {
      const c = await h.connect();
      const first = await c.put("topics/a", text("1"));
      const second = await c.put("topics/a", text("2"));
      await c.put("topics/b", text("3"));
      assert(second.revision > first.revision);
      const a = await c.get("topics/a");
      assertEquals(decodeText(a!.value), "2");
      assertEquals([a!.createRevision, a!.modRevision, a!.version], [
        first.revision,
        second.revision,
        2,
      ]);
      assertEquals(await c.get("topics/none"), undefined);
      const listed = await c.range("topics/");
      assertEquals(listed.kvs.map((kv) => kv.key), ["topics/a", "topics/b"]);
      assert(listed.revision >= second.revision + 1);
      const deleted = await c.delete("topics/", { prefix: true });
      assert(deleted.succeeded);
      assertEquals((await c.range("topics/")).kvs, []);
    },
  },
  {
    name: "txn() compare-and-swap on a mod revision succeeds once and reports the winner",
    fn: async (h) => {
      const c = await h.connect();
      const key = "partitions/t/0/state";
      const initial: PartitionState = {
        leader: 1,
        leaderEpoch: 0,
        isr: [1, 2],
        controllerEpoch: 1,
      };
      const created = await c.put(key, encodeJson(initial), {
        guard: [{ key, target: "absent" }],
      });
      assert(created.succeeded);
      const again = await c.put(key, encodeJson(initial), { guard: [{ key, target: "absent" }] });
      assertEquals(again.succeeded, false);
      const shrunk = { ...initial, isr: [1] };
      const swap = await c.txn({
        compares: [{ key, target: "modRevision", equals: created.revision }],
        ops: [{ op: "put", key, value: encodeJson(shrunk) }],
      });
      assert(swap.succeeded);
      const stale = await c.txn({
        compares: [{ key, target: "modRevision", equals: created.revision }],
        ops: [{ op: "put", key, value: encodeJson({ ...initial, leader: 2 }) }],
      });
      assert(!stale.succeeded);
      assertEquals(stale.current.length, 1);
      assertEquals(stale.current[0].modRevision, swap.revision);
      assertEquals(decodeJson<PartitionState>(stale.current[0].value), shrunk);
      assertEquals(decodeJson((await c.get(key))!.value), shrunk);
    },
  },
  {
    name: "fenced writes of a deposed controller fail once a new controller wins",
    fn: async (h) => {
      const c1 = await h.connect();
      const c2 = await h.connect();
      const lease1 = await c1.grantLease(10_000);
      const lease2 = await c2.grantLease(10_000);
      const first = await h.until(c1.campaign("controller", text("1"), lease1), "c1", QUICK_MS);
      const write = (c: Coordinator, value: string, leadership = first) =>
        c.put("topics/t", text(value), { guard: [fencedBy(leadership)] });
      assert((await write(c1, "by 1")).succeeded);
      const second = c2.campaign("controller", text("2"), lease2);
      await c1.revokeLease(lease1);
      const won = await h.until(second, "c2 wins", QUICK_MS);
      assert(won.revision > first.revision, "the controller epoch grows");
      const deposed = await write(c1, "late write by 1");
      assertEquals(deposed.succeeded, false);
      assert((await write(c2, "by 2", won)).succeeded);
      assertEquals(decodeText((await c2.get("topics/t"))!.value), "by 2");
      assertEquals((await h.until(lease1.lost, "lost", QUICK_MS)).reason, "revoked");
    },
  },
  {
    name: "an expired lease removes the broker registration and notifies its holder",
    fn: async (h) => {
      const broker = await h.connect();
      const controller = await h.connect();
      const lease = await broker.grantLease(1_000, { keepAlive: false });
      assert(lease.ttlMs >= 1_000);
      await broker.put("brokers/ids/1", encodeJson({ host: "127.0.0.1", port: 9092 }), {
        leaseId: lease.id,
      });
      const listed = await controller.range("brokers/ids/");
      assertEquals(listed.kvs.map((kv: KeyValue) => kv.leaseId), [lease.id]);
      const watch = controller.watch("brokers/ids/", listed.revision + 1);
      const lost = await h.until(lease.lost, "lease lost", lease.ttlMs + QUICK_MS);
      assertEquals(lost.reason, "expired");
      const { events } = await collect(h, watch, 1, "registration deleted");
      assertEquals(summary(events), ["delete brokers/ids/1="]);
      assertEquals(decodeJson(events[0].prevKv!.value), { host: "127.0.0.1", port: 9092 });
      await watch.return!();
      const keepAlive = await broker.keepAlive(lease);
      assertEquals(keepAlive.alive, false);
    },
  },
  {
    name: "a kept-alive lease outlives its TTL while an unkept one expires",
    fn: async (h) => {
      const c = await h.connect();
      const kept = await c.grantLease(1_000);
      const unkept = await c.grantLease(1_000, { keepAlive: false });
      await c.put("brokers/ids/1", text("kept"), { leaseId: kept.id });
      await c.put("brokers/ids/2", text("unkept"), { leaseId: unkept.id });
      const from = (await c.range("brokers/ids/")).revision + 1;
      const watch = c.watch("brokers/ids/", from);
      // The unkept lease's key vanishing proves a whole TTL has passed.
      const { events } = await collect(h, watch, 1, "unkept expiry", unkept.ttlMs + QUICK_MS);
      assertEquals(summary(events), ["delete brokers/ids/2="]);
      await watch.return!();
      assertEquals(kept.isLost, false);
      assertEquals(decodeText((await c.get("brokers/ids/1"))!.value), "kept");
      const manual = await c.keepAlive(kept);
      assert(manual.alive && manual.ttlMs >= 1_000);
      assertEquals((await c.range("brokers/ids/")).kvs.map((kv) => kv.key), ["brokers/ids/1"]);
    },
  },
  {
    name: "revoking the leader's lease hands leadership to the next candidate",
    fn: async (h) => {
      const c1 = await h.connect();
      const c2 = await h.connect();
      const observer = await h.connect();
      const lease1 = await c1.grantLease(10_000);
      const lease2 = await c2.grantLease(10_000);
      const l1 = await h.until(c1.campaign("controller", text("broker-1"), lease1), "c1", QUICK_MS);
      const observed = observer.observe("controller");
      const firstSeen = await h.until(observed.next(), "observe first", QUICK_MS);
      assertEquals(decodeText(firstSeen.value!.value), "broker-1");
      assertEquals(firstSeen.value!.revision, l1.revision);
      let c2Won = false;
      const campaign2 = c2.campaign("controller", text("broker-2"), lease2).then((l) => {
        c2Won = true;
        return l;
      });
      assertEquals(decodeText((await observer.leader("controller"))!.value), "broker-1");
      assertEquals(c2Won, false);
      await c1.revokeLease(lease1);
      const l2 = await h.until(campaign2, "c2 wins", QUICK_MS);
      assertEquals(l2.leaseId, lease2.id);
      const next = await h.until(observed.next(), "observe handover", QUICK_MS);
      assertEquals(decodeText(next.value!.value), "broker-2");
      assertEquals(next.value!.key, l2.key);
      const current = await observer.leader("controller");
      assertEquals([current!.key, current!.revision], [l2.key, l2.revision]);
      await observed.return!();
      await c2.resign(l2);
      assertEquals(await observer.leader("controller"), undefined);
    },
  },
  {
    name: "an aborted campaign withdraws its candidacy",
    fn: async (h) => {
      const c1 = await h.connect();
      const c2 = await h.connect();
      const lease1 = await c1.grantLease(10_000);
      const lease2 = await c2.grantLease(10_000);
      await h.until(c1.campaign("controller", text("1"), lease1), "c1", QUICK_MS);
      const from = (await c1.range("controller/")).revision + 1;
      const watch = c1.watch("controller/", from);
      const abort = new AbortController();
      const pending = c2.campaign("controller", text("2"), lease2, { signal: abort.signal });
      const outcome = pending.then(() => "won", (e) => e);
      const created = await collect(h, watch, 1, "candidate key written");
      assertEquals(created.events.map((e) => [e.type, e.kv.leaseId]), [["put", lease2.id]]);
      abort.abort();
      const error = await h.until(outcome, "campaign aborted", QUICK_MS);
      assert(error instanceof CoordinatorError, String(error));
      assertEquals(error.reason, "aborted");
      const withdrawn = await collect(h, watch, 1, "candidate key withdrawn");
      assertEquals(summary(withdrawn.events), [`delete ${created.events[0].kv.key}=`]);
      await watch.return!();
      assertEquals((await c1.range("controller/")).kvs.map((kv) => kv.leaseId), [lease1.id]);
    },
  },
  {
    name: "watch() delivers every event in order from a revision, history then live",
    fn: async (h) => {
      const c = await h.connect();
      const start = (await c.range("")).revision + 1;
      await c.put("cfg/a", text("1"));
      await c.put("cfg/b", text("2"));
      await c.txn({
        compares: [],
        ops: [{ op: "put", key: "cfg/c", value: text("3") }, { op: "delete", key: "cfg/a" }],
      });
      await c.put("other/x", text("ignored"));
      const watch = c.watch("cfg/", start);
      const history = await collect(h, watch, 4, "history");
      await c.put("cfg/b", text("4"));
      await c.delete("cfg/b");
      const live = await collect(h, watch, 2, "live");
      const events = [...history.events, ...live.events];
      assertEquals(summary(events), [
        "put cfg/a=1",
        "put cfg/b=2",
        "put cfg/c=3",
        "delete cfg/a=",
        "put cfg/b=4",
        "delete cfg/b=",
      ]);
      const revisions = events.map((e) => e.kv.modRevision);
      assertEquals(revisions[2], revisions[3], "one txn, one revision");
      for (let i = 1; i < revisions.length; i++) assert(revisions[i] >= revisions[i - 1]);
      assertEquals(decodeText(events[4].prevKv!.value), "2");
      await watch.return!();
      // A watch may start at a future revision: nothing before it arrives.
      const now = (await c.range("")).revision;
      const future = c.watch("cfg/", now + 2);
      await c.put("cfg/skipped", text("at now + 1"));
      await c.put("cfg/seen", text("at now + 2"));
      assertEquals(summary((await collect(h, future, 1, "future")).events), [
        "put cfg/seen=at now + 2",
      ]);
      await future.return!();
    },
  },
  {
    name: "a watch behind a compaction reports the gap and resumes after a re-list",
    fn: async (h) => {
      const c = await h.connect();
      const start = (await c.range("")).revision + 1;
      for (let i = 0; i < 5; i++) await c.put(`isr/${i}`, text(`${i}`));
      const revision = (await c.range("")).revision;
      await h.compact(revision);
      const behind = c.watch("isr/", start);
      const gap = await h.until(behind.next(), "compacted", QUICK_MS);
      assertEquals(gap.value, { kind: "compacted", compactRevision: revision });
      assertEquals((await h.until(behind.next(), "ended", QUICK_MS)).done, true);
      const relisted = await c.range("isr/");
      assertEquals(relisted.kvs.length, 5);
      const resumed = c.watch("isr/", relisted.revision + 1);
      await c.put("isr/5", text("5"));
      const { events } = await collect(h, resumed, 1, "after re-list");
      assertEquals(summary(events), ["put isr/5=5"]);
      await resumed.return!();
    },
  },
  {
    name: "a gone lease: keepAlive() says so and put() refuses it",
    fn: async (h) => {
      const c = await h.connect();
      const lease = await c.grantLease(5_000);
      await c.revokeLease(lease);
      assertEquals((await c.keepAlive(lease)).alive, false);
      await c.revokeLease(lease);
      const refused = await c.put("brokers/ids/9", text("x"), { leaseId: lease.id }).catch((e) =>
        e
      );
      assert(refused instanceof CoordinatorError, String(refused));
      assertEquals(refused.reason, "lease_not_found");
      assertEquals(await c.get("brokers/ids/9"), undefined);
    },
  },
  {
    name: "a campaign on a gone lease is refused with lease_not_found",
    fn: async (h) => {
      const c = await h.connect();
      const lease = await c.grantLease(5_000);
      await c.revokeLease(lease);
      const refused = await h.until(
        c.campaign("controller", text("1"), lease).catch((e) => e),
        "campaign refused",
        QUICK_MS,
      );
      assert(refused instanceof CoordinatorError, String(refused));
      assertEquals(refused.reason, "lease_not_found", refused.message);
      assertEquals(await c.leader("controller"), undefined);
    },
  },
  {
    name: "producer id blocks taken by racing brokers with compare-and-swap never overlap",
    fn: async (h) => {
      const brokers = [await h.connect(), await h.connect(), await h.connect()];
      const key = "latest_producer_id_block";
      const blockSize = 1000;
      const take = async (c: Coordinator, brokerId: number): Promise<number> => {
        for (;;) {
          const current = await c.get(key);
          const start = current === undefined
            ? 0
            : decodeJson<{ blockEnd: number }>(current.value).blockEnd + 1;
          const block = {
            version: 1,
            broker: brokerId,
            blockStart: start,
            blockEnd: start + blockSize - 1,
          };
          const result = await c.put(key, encodeJson(block), {
            guard: [
              current === undefined
                ? { key, target: "absent" }
                : { key, target: "modRevision", equals: current.modRevision },
            ],
          });
          if (result.succeeded) return start;
        }
      };
      const starts = await h.until(
        Promise.all(brokers.flatMap((c, i) => [take(c, i), take(c, i), take(c, i)])),
        "blocks",
        QUICK_MS,
      );
      assertEquals(
        [...starts].sort((a, b) => a - b),
        [0, 1, 2, 3, 4, 5, 6, 7, 8].map((i) => i * 1000),
      );
    },
  },
];
