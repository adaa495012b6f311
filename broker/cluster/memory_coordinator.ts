/**
 * The in-memory coordinator: the same semantics as the etcd adapter
 * (revisions, compare-and-swap, leases, elections, watches with history and
 * compaction) on a clock the test controls, with seeded fault injection
 * ({@linkcode CoordinatorFaultRule}: lost lease, failed compare-and-swap,
 * watch gap by compaction, slow or unavailable calls).
 *
 * One {@linkcode MemoryCoordinatorServer} stands for an etcd cluster; each
 * {@linkcode MemoryCoordinatorServer.connect} is one broker's client with its
 * own leases, watches and `close()`. Nothing here sleeps: leases expire, slow
 * calls complete and keepalives go out when the clock is advanced.
 *
 * @module
 */
import { ManualClock } from "../groups/timers.ts";
import { AsyncQueue } from "./_async_queue.ts";
import {
  type CoordinatorFault,
  type CoordinatorFaultRule,
  CoordinatorFaults,
  type CoordinatorOp,
} from "./_coordinator_faults.ts";
import { MemoryStore } from "./_memory_store.ts";
import {
  checkRootPrefix,
  type Compare,
  type Coordinator,
  CoordinatorError,
  type DeleteOptions,
  type GrantLeaseOptions,
  type KeepAliveResult,
  type KeyValue,
  type LeaderInfo,
  type Leadership,
  type Lease,
  type LeaseId,
  leaseIdHex,
  type PutOptions,
  type RangeResult,
  type TxnOp,
  type TxnRequest,
  type TxnResult,
  type WatchBatch,
  type WatchEvent,
  type WatchOptions,
} from "./coordinator.ts";
import { type ClusterClock, LeaseKeeper } from "./lease_keeper.ts";

export type { CoordinatorFault, CoordinatorFaultRule, CoordinatorOp };

/** Options of {@linkcode MemoryCoordinatorServer}. */
export interface MemoryCoordinatorServerOptions {
  /** Seeds lease ids and fault probabilities (default 1). */
  readonly seed?: number;
  /** Default: a fresh `ManualClock`. */
  readonly clock?: ClusterClock;
  readonly faults?: readonly CoordinatorFaultRule[];
  /** The smallest lease TTL granted (default etcd's 2000 ms). */
  readonly minLeaseTtlMs?: number;
}

/** An in-memory etcd that clients connect to. */
export class MemoryCoordinatorServer {
  readonly clock: ClusterClock;
  readonly faults: CoordinatorFaults;
  readonly store: MemoryStore;

  constructor(options: MemoryCoordinatorServerOptions = {}) {
    const seed = options.seed ?? 1;
    this.clock = options.clock ?? new ManualClock();
    this.faults = new CoordinatorFaults(seed, options.faults);
    this.store = new MemoryStore(this.clock, { seed, minLeaseTtlMs: options.minLeaseTtlMs });
  }

  /** A client whose keys live under `rootPrefix`. */
  connect(rootPrefix: string): MemoryCoordinator {
    return new MemoryCoordinator(this, checkRootPrefix(rootPrefix));
  }

  /** Compacts the history before `revision`, as `/v3/kv/compaction` does. */
  compact(revision: number): void {
    this.store.compact(revision);
  }

  /** Expires a lease now (its keys are deleted): a lost lease as etcd would lose it. */
  expireLease(leaseId: LeaseId): boolean {
    return this.store.revokeLease(leaseId);
  }
}

/** One client of a {@linkcode MemoryCoordinatorServer}. */
export class MemoryCoordinator implements Coordinator {
  readonly kind = "memory";
  readonly rootPrefix: string;
  readonly #server: MemoryCoordinatorServer;
  readonly #store: MemoryStore;
  readonly #keepers = new Map<LeaseId, LeaseKeeper>();
  readonly #closing = new AbortController();
  readonly #queues = new Set<AsyncQueue<unknown>>();

  constructor(server: MemoryCoordinatorServer, rootPrefix: string) {
    this.#server = server;
    this.#store = server.store;
    this.rootPrefix = rootPrefix;
  }

  async get(key: string): Promise<KeyValue | undefined> {
    await this.#enter("get");
    const kv = this.#store.get(this.rootPrefix + key);
    return kv === undefined ? undefined : this.#relative(kv);
  }

  async range(prefix: string): Promise<RangeResult> {
    await this.#enter("range");
    const kvs = this.#store.range(this.rootPrefix + prefix).map((kv) => this.#relative(kv));
    return { revision: this.#store.revision, kvs };
  }

  put(key: string, value: Uint8Array, options: PutOptions = {}): Promise<TxnResult> {
    const op: TxnOp = { op: "put", key, value, leaseId: options.leaseId };
    return this.#txn("put", { compares: options.guard ?? [], ops: [op] });
  }

  delete(key: string, options: DeleteOptions = {}): Promise<TxnResult> {
    const op: TxnOp = { op: "delete", key, prefix: options.prefix };
    return this.#txn("delete", { compares: options.guard ?? [], ops: [op] });
  }

  txn(request: TxnRequest): Promise<TxnResult> {
    return this.#txn("txn", request);
  }

  async grantLease(ttlMs: number, options: GrantLeaseOptions = {}): Promise<Lease> {
    await this.#enter("grantLease");
    const grantedAtMs = this.#server.clock.nowMs();
    const granted = this.#store.grantLease(ttlMs);
    const keeper = new LeaseKeeper(granted.id, granted.ttlMs, {
      clock: this.#server.clock,
      keepAliveOnce: (id) => this.#keepAliveOnce(id),
      autoKeepAlive: options.keepAlive ?? true,
      grantedAtMs,
    });
    this.#keepers.set(granted.id, keeper);
    keeper.lease.lost.then(() => this.#keepers.delete(granted.id));
    return keeper.lease;
  }

  async keepAlive(lease: Lease): Promise<KeepAliveResult> {
    const sentAtMs = this.#server.clock.nowMs();
    const result = await this.#keepAliveOnce(lease.id);
    this.#keepers.get(lease.id)?.noteKeepAlive(sentAtMs, result);
    return result;
  }

  async revokeLease(lease: Lease): Promise<void> {
    await this.#enter("revokeLease");
    this.#store.revokeLease(lease.id);
    this.#keepers.get(lease.id)?.markLost("revoked", `Lease "${lease.id}" was revoked`);
  }

  async campaign(
    name: string,
    value: Uint8Array,
    lease: Lease,
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<Leadership> {
    await this.#enter("campaign");
    const electionKey = `${this.rootPrefix}${name}/${leaseIdHex(lease.id)}`;
    const existing = this.#store.get(electionKey);
    if (existing === undefined) {
      this.#store.txn([{ key: electionKey, target: "absent" }], [
        { op: "put", key: electionKey, value, leaseId: lease.id },
      ]);
    } else if (!sameBytes(existing.value, value)) {
      this.#store.txn([], [{ op: "put", key: electionKey, value, leaseId: lease.id }]);
    }
    const revision = this.#store.get(electionKey)!.createRevision;
    await this.#waitToLead(name, electionKey, revision, options.signal);
    return { name, key: electionKey.slice(this.rootPrefix.length), revision, leaseId: lease.id };
  }

  async resign(leadership: Leadership): Promise<void> {
    await this.#enter("resign");
    const key = this.rootPrefix + leadership.key;
    this.#store.txn([{ key, target: "createRevision", equals: leadership.revision }], [
      { op: "delete", key },
    ]);
  }

  async leader(name: string): Promise<LeaderInfo | undefined> {
    await this.#enter("leader");
    return this.#leaderOf(name);
  }

  observe(name: string, options: { readonly signal?: AbortSignal } = {}) {
    let last: LeaderInfo | undefined;
    const emit = () => {
      const now = this.#leaderOf(name);
      if (now === undefined) return;
      if (last !== undefined && last.key === now.key && last.modRevision === now.modRevision) {
        return;
      }
      last = now;
      queue.push(now);
    };
    const unsubscribe = this.#store.onChange(emit);
    const queue = this.#openQueue<LeaderInfo>(unsubscribe, options.signal);
    emit();
    return queue;
  }

  watch(
    prefix: string,
    fromRevision: number,
    options: WatchOptions = {},
  ): AsyncIterableIterator<WatchBatch> {
    let cancel = () => {};
    const queue = this.#openQueue<WatchBatch>(() => cancel(), options.signal);
    if (queue.ended) return queue;
    const sink = {
      deliver: (events: readonly WatchEvent[]) => {
        if (this.#server.faults.check("watch", ["compacted"]) !== undefined) {
          const revision = this.#store.revision;
          if (revision > this.#store.compactRevision) this.#store.compact(revision);
          sink.compacted(this.#store.compactRevision);
          return;
        }
        queue.push({ kind: "events", events: events.map((e) => this.#relativeEvent(e)) });
      },
      compacted: (compactRevision: number) => {
        queue.push({ kind: "compacted", compactRevision });
        queue.end();
      },
    };
    cancel = this.#store.watch(this.rootPrefix + prefix, fromRevision, sink);
    if (queue.ended) cancel();
    return queue;
  }

  close(): Promise<void> {
    if (this.#closing.signal.aborted) return Promise.resolve();
    this.#closing.abort();
    for (const keeper of [...this.#keepers.values()]) {
      keeper.markLost("closed", `Lease "${keeper.lease.id}" was dropped by close()`);
    }
    for (const queue of [...this.#queues]) queue.end();
    return Promise.resolve();
  }

  async #txn(op: CoordinatorOp, request: TxnRequest): Promise<TxnResult> {
    const fault = await this.#enter(op, request.compares.length > 0 ? ["compare_failed"] : []);
    const compares: Compare[] = request.compares.map((c) => ({
      ...c,
      key: this.rootPrefix + c.key,
    }));
    if (fault !== undefined) this.#racingWrite(compares[0].key);
    const ops = request.ops.map((o) => ({ ...o, key: this.rootPrefix + o.key }));
    const result = this.#store.txn(compares, ops);
    if (result.succeeded) return result;
    return { ...result, current: result.current.map((kv) => this.#relative(kv)) };
  }

  /** Another writer touches `key` (same value and lease): its mod revision moves. */
  #racingWrite(key: string): void {
    const kv = this.#store.get(key);
    const value = kv?.value ?? new Uint8Array(0);
    this.#store.txn([], [{ op: "put", key, value, leaseId: kv?.leaseId }]);
  }

  async #keepAliveOnce(id: LeaseId): Promise<KeepAliveResult> {
    const fault = await this.#enter("keepAlive", ["lease_lost"]);
    if (fault !== undefined) this.#store.revokeLease(id);
    const ttlMs = this.#store.keepAlive(id);
    return ttlMs === undefined ? { alive: false } : { alive: true, ttlMs };
  }

  /** Applies the call's faults: a slow call waits on the clock, an unavailable one throws. */
  async #enter(
    op: CoordinatorOp,
    extra: readonly CoordinatorFault[] = [],
  ): Promise<CoordinatorFaultRule | undefined> {
    this.#assertOpen();
    const faults = this.#server.faults;
    const slow = faults.check(op, ["slow"]);
    if (slow !== undefined) {
      await new Promise<void>((resolve) =>
        this.#server.clock.set(() => resolve(), slow.delayMs ?? 0)
      );
      this.#assertOpen();
    }
    if (faults.check(op, ["unavailable"]) !== undefined) {
      throw new CoordinatorError("unavailable", `The coordinator is unavailable for "${op}"`);
    }
    return extra.length > 0 ? faults.check(op, extra) : undefined;
  }

  #assertOpen(): void {
    if (this.#closing.signal.aborted) {
      throw new CoordinatorError("closed", "The coordinator is closed");
    }
  }

  #waitToLead(name: string, key: string, revision: number, signal?: AbortSignal) {
    return new Promise<void>((resolve, reject) => {
      const stop = (error?: CoordinatorError) => {
        unsubscribe();
        signal?.removeEventListener("abort", onAbort);
        this.#closing.signal.removeEventListener("abort", onClose);
        if (error === undefined) return resolve();
        this.#store.txn([{ key, target: "createRevision", equals: revision }], [
          { op: "delete", key },
        ]);
        reject(error);
      };
      const check = () => {
        const mine = this.#store.get(key);
        if (mine === undefined || mine.createRevision !== revision) {
          return stop(new CoordinatorError("lease_not_found", `Candidate key "${key}" is gone`));
        }
        if (this.#leaderOf(name)?.key === key.slice(this.rootPrefix.length)) stop();
      };
      const onAbort = () => stop(new CoordinatorError("aborted", `Campaign for "${name}" aborted`));
      const onClose = () => stop(new CoordinatorError("closed", "The coordinator is closed"));
      const unsubscribe = this.#store.onChange(check);
      signal?.addEventListener("abort", onAbort);
      this.#closing.signal.addEventListener("abort", onClose);
      if (signal?.aborted) return onAbort();
      check();
    });
  }

  #leaderOf(name: string): LeaderInfo | undefined {
    const candidates = this.#store.range(`${this.rootPrefix}${name}/`);
    if (candidates.length === 0) return undefined;
    const first = candidates.reduce((a, b) => (b.createRevision < a.createRevision ? b : a));
    return {
      name,
      key: first.key.slice(this.rootPrefix.length),
      revision: first.createRevision,
      leaseId: first.leaseId ?? "0",
      value: first.value,
      modRevision: first.modRevision,
    };
  }

  #openQueue<T>(onEnd: () => void, signal?: AbortSignal): AsyncQueue<T> {
    const onAbort = () => queue.end();
    const queue: AsyncQueue<T> = new AsyncQueue<T>(() => {
      onEnd();
      signal?.removeEventListener("abort", onAbort);
      this.#queues.delete(queue as AsyncQueue<unknown>);
    });
    this.#queues.add(queue as AsyncQueue<unknown>);
    if (signal?.aborted || this.#closing.signal.aborted) queue.end();
    else signal?.addEventListener("abort", onAbort);
    return queue;
  }

  #relative(kv: KeyValue): KeyValue {
    return { ...kv, key: kv.key.slice(this.rootPrefix.length) };
  }

  #relativeEvent(event: WatchEvent): WatchEvent {
    const prevKv = event.prevKv === undefined ? undefined : this.#relative(event.prevKv);
    return { type: event.type, kv: this.#relative(event.kv), prevKv };
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
