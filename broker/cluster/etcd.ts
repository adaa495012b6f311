/**
 * The etcd adapter of the {@linkcode Coordinator} port: etcd 3.4+ through its
 * JSON gateway (`/v3/kv/*`, `/v3/lease/*`, `/v3/watch`, `/v3/election/*`)
 * with plain `fetch`, so it works the same under Deno, Bun and a Bun single
 * binary (the `etcd3` npm client reads `.proto` files from disk at start and
 * does not).
 *
 * Which calls are retried on another endpoint after a timeout or a lost
 * connection: reads, keepalives, revokes, and the election calls (a campaign
 * is keyed by its lease, so sending it again joins the same candidacy).
 * Writes (put, delete, txn, lease grant) go once, and again only when the
 * connection was refused; otherwise their outcome is unknown and the caller
 * re-reads (a guarded write can then be retried safely).
 *
 * Cost, measured with `bench/etcd_latency.ts` against a local one-member etcd
 * 3.4 (4 Dec 2026, a shared 2-core box): a call is one HTTP round trip of
 * 0.4-1.0 ms at the median under Deno and Bun alike (get 0.4-0.6, put and
 * txn 0.6-1.0, campaign 0.8-0.9, put-to-watch-event 0.8-1.0), p99 3-22 ms
 * with the box's other load; etcd's fsync is in every write.
 *
 * @module
 */
import { linkSignals } from "./_linked_signal.ts";
import {
  decodeKeyValue,
  EtcdHttp,
  int64,
  type Json,
  keyToBase64,
  prefixRangeEnd,
  toBase64,
} from "./_etcd_http.ts";
import { leaderInfo, observeStream, watchStream } from "./_etcd_streams.ts";
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
  type PutOptions,
  type RangeResult,
  type TxnOp,
  type TxnRequest,
  type TxnResult,
  type WatchBatch,
  type WatchOptions,
} from "./coordinator.ts";
import { type ClusterClock, LeaseKeeper, systemClock } from "./lease_keeper.ts";

/** Default timeout of one call (campaigns and streams wait without one). */
export const ETCD_CALL_TIMEOUT_MS = 5_000;

/** Options of {@linkcode EtcdCoordinator}. */
export interface EtcdCoordinatorOptions {
  /** Client URLs, e.g. `["http://10.0.0.1:2379", "http://10.0.0.2:2379"]`. */
  readonly endpoints: readonly string[];
  /** Every key lives under it, e.g. `/denka/cluster-1/`. */
  readonly rootPrefix: string;
  /** Default {@linkcode ETCD_CALL_TIMEOUT_MS}. */
  readonly callTimeoutMs?: number;
  /** Default: the runtime's timers. */
  readonly clock?: ClusterClock;
}

/** A coordinator backed by etcd. */
export class EtcdCoordinator implements Coordinator {
  readonly kind = "etcd";
  readonly rootPrefix: string;
  readonly #http: EtcdHttp;
  readonly #clock: ClusterClock;
  readonly #closing = new AbortController();
  readonly #keepers = new Map<LeaseId, LeaseKeeper>();

  constructor(options: EtcdCoordinatorOptions) {
    this.rootPrefix = checkRootPrefix(options.rootPrefix);
    this.#clock = options.clock ?? systemClock;
    this.#http = new EtcdHttp({
      endpoints: options.endpoints,
      callTimeoutMs: options.callTimeoutMs ?? ETCD_CALL_TIMEOUT_MS,
      clock: this.#clock,
      closing: this.#closing.signal,
    });
  }

  async get(key: string): Promise<KeyValue | undefined> {
    const json = await this.#call("/v3/kv/range", { key: this.#key(key) }, true);
    const kv = json.kvs?.[0];
    return kv === undefined ? undefined : decodeKeyValue(kv, this.rootPrefix);
  }

  async range(prefix: string): Promise<RangeResult> {
    const full = this.rootPrefix + prefix;
    const json = await this.#call("/v3/kv/range", {
      key: keyToBase64(full),
      range_end: prefixRangeEnd(full),
    }, true);
    return {
      revision: int64(json.header?.revision),
      kvs: (json.kvs ?? []).map((kv: Json) => decodeKeyValue(kv, this.rootPrefix)),
    };
  }

  async put(key: string, value: Uint8Array, options: PutOptions = {}): Promise<TxnResult> {
    if ((options.guard ?? []).length > 0) {
      return this.txn({
        compares: options.guard!,
        ops: [{ op: "put", key, value, leaseId: options.leaseId }],
      });
    }
    const json = await this.#call("/v3/kv/put", this.#putRequest(key, value, options.leaseId));
    return { succeeded: true, revision: int64(json.header?.revision) };
  }

  async delete(key: string, options: DeleteOptions = {}): Promise<TxnResult> {
    if ((options.guard ?? []).length > 0) {
      return this.txn({
        compares: options.guard!,
        ops: [{ op: "delete", key, prefix: options.prefix }],
      });
    }
    const json = await this.#call("/v3/kv/deleterange", this.#deleteRequest(key, options.prefix));
    return { succeeded: true, revision: int64(json.header?.revision) };
  }

  async txn(request: TxnRequest): Promise<TxnResult> {
    const json = await this.#call("/v3/kv/txn", {
      compare: request.compares.map((c) => this.#compare(c)),
      success: request.ops.map((op) => this.#op(op)),
      failure: request.compares.map((c) => ({ request_range: { key: this.#key(c.key) } })),
    });
    const revision = int64(json.header?.revision);
    if (json.succeeded === true) return { succeeded: true, revision };
    const current: KeyValue[] = [];
    for (const response of json.responses ?? []) {
      for (const kv of response.response_range?.kvs ?? []) {
        current.push(decodeKeyValue(kv, this.rootPrefix));
      }
    }
    return { succeeded: false, revision, current };
  }

  async grantLease(ttlMs: number, options: GrantLeaseOptions = {}): Promise<Lease> {
    const grantedAtMs = this.#clock.nowMs();
    const json = await this.#call("/v3/lease/grant", { TTL: String(Math.ceil(ttlMs / 1000)) });
    if (json.ID === undefined || json.error) {
      throw new CoordinatorError("server", `etcd did not grant a lease: "${json.error ?? ""}"`);
    }
    const id = String(json.ID);
    const keeper = new LeaseKeeper(id, int64(json.TTL) * 1000, {
      clock: this.#clock,
      keepAliveOnce: (leaseId) => this.#keepAliveOnce(leaseId),
      autoKeepAlive: options.keepAlive ?? true,
      grantedAtMs,
    });
    this.#keepers.set(id, keeper);
    keeper.lease.lost.then(() => this.#keepers.delete(id));
    return keeper.lease;
  }

  async keepAlive(lease: Lease): Promise<KeepAliveResult> {
    const sentAtMs = this.#clock.nowMs();
    const result = await this.#keepAliveOnce(lease.id);
    this.#keepers.get(lease.id)?.noteKeepAlive(sentAtMs, result);
    return result;
  }

  async revokeLease(lease: Lease): Promise<void> {
    try {
      await this.#call("/v3/lease/revoke", { ID: lease.id }, true);
    } catch (error) {
      if (!(error instanceof CoordinatorError) || error.reason !== "lease_not_found") throw error;
    }
    this.#keepers.get(lease.id)?.markLost("revoked", `Lease "${lease.id}" was revoked`);
  }

  async campaign(
    name: string,
    value: Uint8Array,
    lease: Lease,
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<Leadership> {
    const json = await this.#http.call("/v3/election/campaign", {
      name: this.#key(name),
      lease: lease.id,
      value: toBase64(value),
    }, { idempotent: true, signal: options.signal, timeoutMs: Infinity });
    const leader: Json | undefined = json.leader;
    if (leader === undefined) {
      throw new CoordinatorError("protocol", `etcd answered a campaign without a leader key`);
    }
    const key = decodeKeyValue({ key: leader.key }, this.rootPrefix).key;
    return { name, key, revision: int64(leader.rev), leaseId: String(leader.lease ?? lease.id) };
  }

  async resign(leadership: Leadership): Promise<void> {
    await this.#call("/v3/election/resign", {
      leader: {
        name: this.#key(leadership.name),
        key: this.#key(leadership.key),
        rev: String(leadership.revision),
        lease: leadership.leaseId,
      },
    }, true);
  }

  async leader(name: string): Promise<LeaderInfo | undefined> {
    try {
      const json = await this.#call("/v3/election/leader", { name: this.#key(name) }, true);
      return json.kv === undefined ? undefined : leaderInfo(this.rootPrefix, name, json.kv);
    } catch (error) {
      if (error instanceof CoordinatorError && error.message.includes("election: no leader")) {
        return undefined;
      }
      throw error;
    }
  }

  observe(
    name: string,
    options: { readonly signal?: AbortSignal } = {},
  ): AsyncIterableIterator<LeaderInfo> {
    const ctx = this.#streamContext(options.signal);
    return observeStream(ctx, this.rootPrefix + name, name);
  }

  watch(
    prefix: string,
    fromRevision: number,
    options: WatchOptions = {},
  ): AsyncIterableIterator<WatchBatch> {
    const ctx = this.#streamContext(options.signal);
    return watchStream(ctx, this.rootPrefix + prefix, fromRevision);
  }

  close(): Promise<void> {
    if (this.#closing.signal.aborted) return Promise.resolve();
    this.#closing.abort();
    for (const keeper of [...this.#keepers.values()]) {
      keeper.markLost("closed", `Lease "${keeper.lease.id}" was dropped by close()`);
    }
    return Promise.resolve();
  }

  #call(path: string, body: Json, idempotent = false): Promise<Json> {
    if (this.#closing.signal.aborted) {
      return Promise.reject(new CoordinatorError("closed", "The coordinator is closed"));
    }
    return this.#http.call(path, body, { idempotent });
  }

  async #keepAliveOnce(id: LeaseId): Promise<KeepAliveResult> {
    const json = await this.#call("/v3/lease/keepalive", { ID: id }, true);
    const ttlSeconds = int64(json.result?.TTL);
    return ttlSeconds > 0 ? { alive: true, ttlMs: ttlSeconds * 1000 } : { alive: false };
  }

  #streamContext(signal: AbortSignal | undefined) {
    const signals = [this.#closing.signal, ...(signal === undefined ? [] : [signal])];
    return {
      http: this.#http,
      clock: this.#clock,
      rootPrefix: this.rootPrefix,
      signal: linkSignals(signals).signal, // unlinked when a source aborts
    };
  }

  #key(key: string): string {
    return keyToBase64(this.rootPrefix + key);
  }

  #putRequest(key: string, value: Uint8Array, leaseId: LeaseId | undefined): Json {
    return {
      key: this.#key(key),
      value: toBase64(value),
      ...(leaseId === undefined ? {} : { lease: leaseId }),
    };
  }

  #deleteRequest(key: string, prefix: boolean | undefined): Json {
    const full = this.rootPrefix + key;
    return { key: keyToBase64(full), ...(prefix ? { range_end: prefixRangeEnd(full) } : {}) };
  }

  #compare(compare: Compare): Json {
    const key = this.#key(compare.key);
    switch (compare.target) {
      case "absent":
        return { key, target: "CREATE", result: "EQUAL", create_revision: "0" };
      case "createRevision":
        return { key, target: "CREATE", result: "EQUAL", create_revision: String(compare.equals) };
      case "modRevision":
        return { key, target: "MOD", result: "EQUAL", mod_revision: String(compare.equals) };
    }
  }

  #op(op: TxnOp): Json {
    if (op.op === "put") return { request_put: this.#putRequest(op.key, op.value, op.leaseId) };
    return { request_delete_range: this.#deleteRequest(op.key, op.prefix) };
  }
}
