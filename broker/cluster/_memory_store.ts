/**
 * The server half of the in-memory coordinator: an etcd stand-in with
 * revisions, create/mod revisions and versions, leases that expire on an
 * injected clock, a watch history that compaction cuts, and change listeners
 * for elections. Keys here are full keys (root prefix included); the client
 * half (`memory_coordinator.ts`) maps them.
 *
 * Like etcd, the store starts at revision 1, a transaction takes one
 * revision however many keys it writes, a lease's expiry deletes all of its
 * keys at one revision, and a lease's TTL is whole seconds, at least
 * `minLeaseTtlMs` (etcd's default minimum is 2 s with the default election
 * timeout).
 *
 * @module
 */
import {
  type Compare,
  CoordinatorError,
  type KeyValue,
  type LeaseId,
  type TxnOp,
  type TxnResult,
  type WatchEvent,
} from "./coordinator.ts";
import type { ClusterClock } from "./lease_keeper.ts";

/** etcd's minimum lease TTL with its default timings (1.5 election timeouts, rounded up). */
export const MEMORY_MIN_LEASE_TTL_MS = 2_000;

/** The receiving end of a store watch. */
export interface WatchSink {
  deliver(events: readonly WatchEvent[]): void;
  compacted(compactRevision: number): void;
}

interface StoredLease {
  readonly ttlMs: number;
  timer: unknown;
  readonly keys: Set<string>;
}

interface StoreWatcher {
  readonly prefix: string;
  /** Live commits below it are not delivered (a watch may start in the future). */
  readonly fromRevision: number;
  readonly sink: WatchSink;
}

/** An in-memory etcd. */
export class MemoryStore {
  readonly clock: ClusterClock;
  readonly minLeaseTtlMs: number;
  #revision = 1;
  #compactRevision = 0;
  readonly #kvs = new Map<string, KeyValue>();
  readonly #history: { revision: number; events: WatchEvent[] }[] = [];
  readonly #leases = new Map<LeaseId, StoredLease>();
  #nextLeaseId: bigint;
  readonly #watchers = new Set<StoreWatcher>();
  readonly #listeners = new Set<() => void>();

  constructor(clock: ClusterClock, options: { seed: number; minLeaseTtlMs?: number }) {
    this.clock = clock;
    this.minLeaseTtlMs = options.minLeaseTtlMs ?? MEMORY_MIN_LEASE_TTL_MS;
    this.#nextLeaseId = 0x3900000000000000n + BigInt(options.seed >>> 0) * 0x10000n;
  }

  get revision(): number {
    return this.#revision;
  }

  get compactRevision(): number {
    return this.#compactRevision;
  }

  get(key: string): KeyValue | undefined {
    return this.#kvs.get(key);
  }

  /** Keys starting with `prefix`, in key order. */
  range(prefix: string): KeyValue[] {
    const out: KeyValue[] = [];
    for (const [key, kv] of this.#kvs) if (key.startsWith(prefix)) out.push(kv);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Applies `ops` at one new revision if every compare holds. */
  txn(compares: readonly Compare[], ops: readonly TxnOp[]): TxnResult {
    if (!compares.every((c) => this.#holds(c))) {
      const current = compares.map((c) => this.#kvs.get(c.key)).filter((kv) => kv !== undefined);
      return { succeeded: false, revision: this.#revision, current };
    }
    for (const op of ops) {
      if (op.op === "put" && op.leaseId !== undefined && !this.#leases.has(op.leaseId)) {
        throw new CoordinatorError("lease_not_found", `Lease "${op.leaseId}" is not known`);
      }
    }
    const revision = this.#revision + 1;
    const events: WatchEvent[] = [];
    for (const op of ops) {
      if (op.op === "put") events.push(this.#put(op.key, op.value, op.leaseId, revision));
      else {
        const keys = op.prefix ? this.range(op.key).map((kv) => kv.key) : [op.key];
        for (const key of keys) {
          const event = this.#delete(key, revision);
          if (event !== undefined) events.push(event);
        }
      }
    }
    if (events.length > 0) this.#commit(revision, events);
    return { succeeded: true, revision: this.#revision };
  }

  grantLease(ttlMs: number): { id: LeaseId; ttlMs: number } {
    const grantedMs = Math.max(this.minLeaseTtlMs, Math.ceil(ttlMs / 1000) * 1000);
    const id = (this.#nextLeaseId++).toString();
    const lease: StoredLease = { ttlMs: grantedMs, timer: undefined, keys: new Set() };
    this.#leases.set(id, lease);
    this.#armLease(id, lease);
    return { id, ttlMs: grantedMs };
  }

  /** Renews a lease; `undefined` when it is not known. */
  keepAlive(id: LeaseId): number | undefined {
    const lease = this.#leases.get(id);
    if (lease === undefined) return undefined;
    this.#armLease(id, lease);
    return lease.ttlMs;
  }

  /** Removes a lease and deletes its keys at one revision; false when it was not known. */
  revokeLease(id: LeaseId): boolean {
    const lease = this.#leases.get(id);
    if (lease === undefined) return false;
    this.clock.clear(lease.timer);
    this.#leases.delete(id);
    const revision = this.#revision + 1;
    const events: WatchEvent[] = [];
    for (const key of [...lease.keys].sort()) {
      const event = this.#delete(key, revision);
      if (event !== undefined) events.push(event);
    }
    if (events.length > 0) this.#commit(revision, events);
    return true;
  }

  /** Drops the history before `revision` (etcd's compaction): older watches end. */
  compact(revision: number): void {
    if (revision <= this.#compactRevision) {
      throw new CoordinatorError("compacted", `Revision ${revision} is already compacted`);
    }
    if (revision > this.#revision) {
      throw new CoordinatorError("server", `Revision ${revision} is a future revision`);
    }
    this.#compactRevision = revision;
    while (this.#history.length > 0 && this.#history[0].revision < revision) this.#history.shift();
  }

  /** Delivers history from `fromRevision`, then live changes under `prefix`. */
  watch(prefix: string, fromRevision: number, sink: WatchSink): () => void {
    if (fromRevision < this.#compactRevision) {
      sink.compacted(this.#compactRevision);
      return () => {};
    }
    for (const entry of this.#history) {
      if (entry.revision < fromRevision) continue;
      const events = entry.events.filter((e) => e.kv.key.startsWith(prefix));
      if (events.length > 0) sink.deliver(events);
    }
    const watcher: StoreWatcher = { prefix, fromRevision, sink };
    this.#watchers.add(watcher);
    return () => this.#watchers.delete(watcher);
  }

  /** Calls `listener` after every commit; returns the unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #holds(compare: Compare): boolean {
    const kv = this.#kvs.get(compare.key);
    switch (compare.target) {
      case "absent":
        return kv === undefined;
      case "modRevision":
        return kv !== undefined && kv.modRevision === compare.equals;
      case "createRevision":
        return kv !== undefined && kv.createRevision === compare.equals;
    }
  }

  #put(key: string, value: Uint8Array, leaseId: LeaseId | undefined, revision: number) {
    const prevKv = this.#kvs.get(key);
    if (prevKv?.leaseId !== undefined) this.#leases.get(prevKv.leaseId)?.keys.delete(key);
    if (leaseId !== undefined) this.#leases.get(leaseId)!.keys.add(key);
    const kv: KeyValue = {
      key,
      value: value.slice(),
      createRevision: prevKv?.createRevision ?? revision,
      modRevision: revision,
      version: (prevKv?.version ?? 0) + 1,
      leaseId,
    };
    this.#kvs.set(key, kv);
    return { type: "put" as const, kv, prevKv };
  }

  #delete(key: string, revision: number): WatchEvent | undefined {
    const prevKv = this.#kvs.get(key);
    if (prevKv === undefined) return undefined;
    if (prevKv.leaseId !== undefined) this.#leases.get(prevKv.leaseId)?.keys.delete(key);
    this.#kvs.delete(key);
    const kv: KeyValue = {
      key,
      value: new Uint8Array(0),
      createRevision: 0,
      modRevision: revision,
      version: 0,
      leaseId: undefined,
    };
    return { type: "delete", kv, prevKv };
  }

  #commit(revision: number, events: WatchEvent[]): void {
    this.#revision = revision;
    this.#history.push({ revision, events });
    for (const watcher of [...this.#watchers]) {
      if (revision < watcher.fromRevision) continue;
      const matching = events.filter((e) => e.kv.key.startsWith(watcher.prefix));
      if (matching.length > 0) watcher.sink.deliver(matching);
    }
    for (const listener of [...this.#listeners]) listener();
  }

  #armLease(id: LeaseId, lease: StoredLease): void {
    this.clock.clear(lease.timer);
    lease.timer = this.clock.set(() => this.revokeLease(id), lease.ttlMs);
  }
}
