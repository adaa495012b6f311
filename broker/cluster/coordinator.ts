/**
 * The coordination port of a Denka cluster: the small part of etcd that the
 * cluster needs, shaped after Kafka's ZooKeeper-era layout.
 *
 * - Broker registrations are keys attached to a {@linkcode Lease} (ZooKeeper's
 *   ephemeral znodes): when a broker stops keeping its lease alive, etcd
 *   deletes them and every watcher sees the delete.
 * - The controller is elected with {@linkcode Coordinator.campaign}; the
 *   winner's {@linkcode Leadership.revision} (the create revision of its
 *   election key) grows with every election and is the controller epoch.
 *   Every controller write carries {@linkcode fencedBy}, so a deposed
 *   controller's writes fail in the same transaction (Kafka's
 *   controller-epoch zkVersion check).
 * - Topics, assignments and configs are plain keys; a partition's
 *   `{leader, leaderEpoch, isr, controllerEpoch}` changes by compare-and-swap
 *   on its `modRevision` ({@linkcode Coordinator.txn}).
 * - Brokers follow changes with {@linkcode Coordinator.watch} from a known
 *   revision; a watch that fell behind a compaction says so with a
 *   `"compacted"` batch, and the broker re-lists ({@linkcode Coordinator.range}
 *   returns the revision to resume from).
 *
 * Record data, offsets and transaction state never go through this port.
 *
 * Keys are strings relative to the adapter's root prefix (for example
 * `/denka/<cluster-id>/`); values are bytes ({@linkcode encodeJson} /
 * {@linkcode decodeJson} for JSON). Revisions are etcd's int64 revisions as
 * numbers (safe far beyond any real cluster's history); lease ids are int64s
 * that do not fit a double and stay decimal strings.
 *
 * Errors: a compare that does not hold is a result (`succeeded: false`), an
 * absent key is `undefined`; everything else that goes wrong is a
 * {@linkcode CoordinatorError} with a {@linkcode CoordinatorErrorReason}.
 *
 * @module
 */

/** An etcd lease id: an int64 in decimal. */
export type LeaseId = string;

/** One key with its value and etcd's bookkeeping. */
export interface KeyValue {
  /** Relative to the coordinator's root prefix. */
  readonly key: string;
  /** Empty in a delete event. */
  readonly value: Uint8Array;
  /** The revision that created the key (0 in a delete event). */
  readonly createRevision: number;
  /** The revision of the last change: the compare-and-swap version. */
  readonly modRevision: number;
  /** Changes since creation, starting at 1 (0 in a delete event). */
  readonly version: number;
  /** The lease the key is attached to, if any. */
  readonly leaseId: LeaseId | undefined;
}

/** Keys under a prefix, read at one revision. */
export interface RangeResult {
  /** The store's revision at the time of the read: watch from `revision + 1`. */
  readonly revision: number;
  readonly kvs: readonly KeyValue[];
}

/** One condition of a transaction. */
export type Compare =
  /** The key exists and was last changed at `equals`. */
  | { readonly key: string; readonly target: "modRevision"; readonly equals: number }
  /** The key exists and was created at `equals` (the election fence). */
  | { readonly key: string; readonly target: "createRevision"; readonly equals: number }
  /** The key does not exist. */
  | { readonly key: string; readonly target: "absent" };

/** One write of a transaction. */
export type TxnOp =
  | {
    readonly op: "put";
    readonly key: string;
    readonly value: Uint8Array;
    readonly leaseId?: LeaseId;
  }
  | { readonly op: "delete"; readonly key: string; readonly prefix?: boolean };

/** Writes applied atomically at one revision when every compare holds. */
export interface TxnRequest {
  readonly compares: readonly Compare[];
  readonly ops: readonly TxnOp[];
}

/** The outcome of a transaction: a failed compare is a result, not an error. */
export type TxnResult =
  | { readonly succeeded: true; readonly revision: number }
  | {
    readonly succeeded: false;
    readonly revision: number;
    /** The compared keys that exist, as they are now (for the caller's retry). */
    readonly current: readonly KeyValue[];
  };

/** Options of {@linkcode Coordinator.put}. */
export interface PutOptions {
  readonly leaseId?: LeaseId;
  /** Compares that must all hold (for example {@linkcode fencedBy}). */
  readonly guard?: readonly Compare[];
}

/** Options of {@linkcode Coordinator.delete}. */
export interface DeleteOptions {
  /** Delete every key under `key`. */
  readonly prefix?: boolean;
  readonly guard?: readonly Compare[];
}

/** Why a lease is no longer held. */
export interface LeaseLost {
  /**
   * `expired`: its TTL passed without a successful keepalive, or etcd no
   * longer knows it; `revoked`: {@linkcode Coordinator.revokeLease};
   * `closed`: the coordinator was closed.
   */
  readonly reason: "expired" | "revoked" | "closed";
  readonly message: string;
}

/** A granted lease. Keys put with its id vanish when it is lost. */
export interface Lease {
  readonly id: LeaseId;
  /** The TTL etcd granted (whole seconds, at least its minimum). */
  readonly ttlMs: number;
  /** Settles once, when the lease is known or assumed to be gone. */
  readonly lost: Promise<LeaseLost>;
  readonly isLost: boolean;
}

/** Options of {@linkcode Coordinator.grantLease}. */
export interface GrantLeaseOptions {
  /** Keep the lease alive every third of its TTL until revoked or closed (default true). */
  readonly keepAlive?: boolean;
}

/** The outcome of one keepalive. */
export type KeepAliveResult =
  | { readonly alive: true; readonly ttlMs: number }
  | { readonly alive: false };

/** What a campaign won: the election key and its create revision (the epoch). */
export interface Leadership {
  readonly name: string;
  /** The election key, `<name>/<lease id in hex>`, relative to the root. */
  readonly key: string;
  /** The election key's create revision: grows with every new leader. */
  readonly revision: number;
  readonly leaseId: LeaseId;
}

/** The current leader of an election, as observers see it. */
export interface LeaderInfo extends Leadership {
  readonly value: Uint8Array;
  /** Changes when the leader proclaims a new value. */
  readonly modRevision: number;
}

/** One change seen by a watch. */
export interface WatchEvent {
  readonly type: "put" | "delete";
  readonly kv: KeyValue;
  /** The key before this change, when there was one and the store still had it. */
  readonly prevKv: KeyValue | undefined;
}

/** What a watch delivers: events in revision order, or the end of its history. */
export type WatchBatch =
  | { readonly kind: "events"; readonly events: readonly WatchEvent[] }
  | {
    /**
     * The revisions asked for were compacted away: the watch has ended. Re-list
     * with {@linkcode Coordinator.range} and watch again from its revision + 1.
     */
    readonly kind: "compacted";
    readonly compactRevision: number;
  };

/** Options of {@linkcode Coordinator.watch}. */
export interface WatchOptions {
  /**
   * Ends the watch, also while a `next()` is waiting (`return()` only takes
   * effect between batches, as with any async generator).
   */
  readonly signal?: AbortSignal;
}

/** The coordination port; adapters: `etcd.ts` and `memory_coordinator.ts`. */
export interface Coordinator {
  /** `"etcd"` or `"memory"`. */
  readonly kind: string;
  /** The prefix every key lives under, e.g. `/denka/cluster-1/`. */
  readonly rootPrefix: string;
  /** One key, or `undefined` when absent. */
  get(key: string): Promise<KeyValue | undefined>;
  /** Every key starting with `prefix`, in key order, with the revision read at. */
  range(prefix: string): Promise<RangeResult>;
  /** Puts a value; with a guard, only when every compare holds. */
  put(key: string, value: Uint8Array, options?: PutOptions): Promise<TxnResult>;
  /** Deletes a key (or a prefix); with a guard, only when every compare holds. */
  delete(key: string, options?: DeleteOptions): Promise<TxnResult>;
  /** Applies `ops` atomically if every compare holds. */
  txn(request: TxnRequest): Promise<TxnResult>;
  /** Grants a lease of at least `ttlMs`, kept alive unless told otherwise. */
  grantLease(ttlMs: number, options?: GrantLeaseOptions): Promise<Lease>;
  /** One keepalive; a lease etcd no longer knows is marked lost. */
  keepAlive(lease: Lease): Promise<KeepAliveResult>;
  /** Revokes a lease (its keys are deleted); revoking a gone lease is not an error. */
  revokeLease(lease: Lease): Promise<void>;
  /**
   * Waits until this candidate leads `name`, then returns its leadership.
   * Aborting `signal` withdraws the candidacy. Candidates are keys
   * `<name>/<lease id in hex>` attached to `lease` (etcd's election API), so
   * no other key may live under `<name>/`; the lowest create revision leads.
   */
  campaign(
    name: string,
    value: Uint8Array,
    lease: Lease,
    options?: { readonly signal?: AbortSignal },
  ): Promise<Leadership>;
  /** Gives up leadership (nothing happens if it was already lost). */
  resign(leadership: Leadership): Promise<void>;
  /** The current leader, or `undefined` when there is none. */
  leader(name: string): Promise<LeaderInfo | undefined>;
  /** The current leader, then each new leader or proclamation, until aborted or closed. */
  observe(name: string, options?: { readonly signal?: AbortSignal }): AsyncIterableIterator<
    LeaderInfo
  >;
  /**
   * Every change under `prefix` from `fromRevision` on (usually a
   * {@linkcode RangeResult.revision} + 1), in revision order; see
   * {@linkcode WatchBatch}. The position is explicit because a stream opens
   * lazily (on the first `next()`): "from now" would silently skip what
   * happened in between.
   */
  watch(prefix: string, fromRevision: number, options?: WatchOptions): AsyncIterableIterator<
    WatchBatch
  >;
  /** Stops keepalives (leases are marked lost, not revoked), ends watches and observers. */
  close(): Promise<void>;
}

/** Why a coordinator call failed. */
export type CoordinatorErrorReason =
  /** No endpoint answered (for a write: it may or may not have been applied). */
  | "unavailable"
  /** The call took longer than its timeout (for a write: outcome unknown). */
  | "timeout"
  /** A put or campaign named a lease etcd does not know. */
  | "lease_not_found"
  /** A read asked for a revision that was compacted away. */
  | "compacted"
  /** The caller's signal aborted the call. */
  | "aborted"
  /** The coordinator was closed. */
  | "closed"
  /** The answer was not what the protocol promises. */
  | "protocol"
  /** etcd refused the call for another reason. */
  | "server";

/** An operating error of the coordination service, with a reason to branch on. */
export class CoordinatorError extends Error {
  readonly reason: CoordinatorErrorReason;
  constructor(reason: CoordinatorErrorReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CoordinatorError";
    this.reason = reason;
  }
}

/**
 * The compare that fences a leader's writes: its election key still exists
 * with the create revision it won with. Once another candidate leads, the key
 * is gone and every write guarded by this compare fails.
 */
export function fencedBy(leadership: Leadership): Compare {
  return { key: leadership.key, target: "createRevision", equals: leadership.revision };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A JSON value as bytes. */
export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** Bytes written by {@linkcode encodeJson}; throws `SyntaxError` on anything else. */
export function decodeJson<T = unknown>(bytes: Uint8Array): T {
  return JSON.parse(decoder.decode(bytes)) as T;
}

/** UTF-8 bytes of a string value. */
export function encodeText(value: string): Uint8Array {
  return encoder.encode(value);
}

/** A string value from UTF-8 bytes. */
export function decodeText(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** Checks a root prefix: absolute, ending with "/", e.g. `/denka/cluster-1/`. */
export function checkRootPrefix(rootPrefix: string): string {
  if (!rootPrefix.startsWith("/") || !rootPrefix.endsWith("/") || rootPrefix.length < 2) {
    throw new RangeError(`Root prefix "${rootPrefix}" must start and end with "/"`);
  }
  return rootPrefix;
}

/** The lease id as etcd's election API writes it into a key: lower-case hex. */
export function leaseIdHex(leaseId: LeaseId): string {
  return BigInt(leaseId).toString(16);
}
