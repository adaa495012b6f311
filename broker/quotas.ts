/**
 * Client byte-rate quotas, enforced as Kafka enforces them: each client id
 * has a produce rate (request bytes of its Produce requests) and a fetch
 * rate (record bytes of its Fetch responses), measured by a
 * {@linkcode QuotaSensor}. A request that takes a rate above its quota gets
 * a throttle time, which the router puts in the response's throttleTimeMs
 * and then waits out on the connection (see `router.ts`): nothing is dropped,
 * a throttled produce is appended and acknowledged.
 *
 * A client id's quota of each key is the first set of: its own dynamic
 * quota, the dynamic `<default>` quota, the broker option
 * (`--quota-producer-byte-rate`, `--quota-consumer-byte-rate`), unlimited.
 * Every client id has its own sensors, as in Kafka.
 *
 * When no quota is set anywhere, {@linkcode ClientQuotas.active} is false and
 * requests pay one branch.
 *
 * @module
 */
import { ApiKey } from "../protocol/messages/mod.ts";
import type { AlterClientQuotasRequestEntryData } from "../protocol/messages/alter_client_quotas.ts";
import type { DescribeClientQuotasRequestComponentData } from "../protocol/messages/describe_client_quotas.ts";
import {
  type ClientQuotaStore,
  CONSUMER_BYTE_RATE,
  type DescribeOutcome,
  PRODUCER_BYTE_RATE,
  type QuotaKey,
  type QuotaOutcome,
} from "./client_quota_store.ts";
import type { RequestInfo } from "./context.ts";
import type { RequestTraffic } from "./traffic.ts";
import { QuotaSensor, type QuotaWindow } from "./quota_sensor.ts";

/** First Produce and Fetch versions whose clients throttle themselves (KIP-219). */
const PRODUCE_CLIENT_THROTTLE_MIN_VERSION = 6;
const FETCH_CLIENT_THROTTLE_MIN_VERSION = 8;
/** Client states kept before idle ones are dropped. */
const CLIENT_STATES_PRUNE_MIN = 1024;

/** Options of {@linkcode ClientQuotas}. */
export interface ClientQuotasOptions {
  /** Broker-wide defaults in bytes per second; undefined is unlimited. */
  readonly producerBytesPerSec: number | undefined;
  readonly consumerBytesPerSec: number | undefined;
  readonly window: QuotaWindow;
  /** A monotonic clock in ms. Default `performance.now`. */
  readonly nowMs?: () => number;
}

/** One client id's quotas (Infinity: unlimited) and rates. */
interface ClientState {
  producerBytesPerSec: number;
  consumerBytesPerSec: number;
  produced: QuotaSensor | undefined;
  fetched: QuotaSensor | undefined;
  lastSeenMs: number;
}

/** Byte-rate quotas of every client id. */
export class ClientQuotas {
  readonly #store: ClientQuotaStore;
  #defaults: Record<QuotaKey, number>;
  readonly #window: QuotaWindow;
  readonly #nowMs: () => number;
  readonly #clients = new Map<string, ClientState>();
  #pruneAtSize = CLIENT_STATES_PRUNE_MIN;
  /** False when no quota is set anywhere: requests skip quotas altogether. */
  active = false;

  constructor(store: ClientQuotaStore, options: ClientQuotasOptions) {
    this.#store = store;
    this.#defaults = {
      [PRODUCER_BYTE_RATE]: options.producerBytesPerSec ?? Infinity,
      [CONSUMER_BYTE_RATE]: options.consumerBytesPerSec ?? Infinity,
    };
    this.#window = options.window;
    this.#nowMs = options.nowMs ?? (() => performance.now());
    this.#refresh();
  }

  /**
   * Replaces the broker-wide defaults (Kafka's quota.producer.default and
   * quota.consumer.default, dynamic broker settings), in bytes/s; Infinity: unlimited.
   */
  setDefaults(producerBytesPerSec: number, consumerBytesPerSec: number): void {
    this.#defaults = {
      [PRODUCER_BYTE_RATE]: producerBytesPerSec,
      [CONSUMER_BYTE_RATE]: consumerBytesPerSec,
    };
    this.#refresh();
  }

  /** A client id's quota of `key` in bytes per second (Infinity: unlimited). */
  quotaOf(clientId: string, key: QuotaKey): number {
    return this.#store.get(clientId)?.[key] ?? this.#store.get(null)?.[key] ?? this.#defaults[key];
  }

  /** Records `sizeBytes` produced by `clientId`; the throttle time in ms (0: within quota). */
  recordProduce(clientId: string, sizeBytes: number): number {
    const state = this.#state(clientId);
    if (state.producerBytesPerSec === Infinity) return 0;
    state.produced ??= new QuotaSensor(this.#window);
    return state.produced.recordAndThrottleMs(
      sizeBytes,
      state.producerBytesPerSec,
      state.lastSeenMs,
    );
  }

  /** Records `sizeBytes` fetched by `clientId`; the throttle time in ms (0: within quota). */
  recordFetch(clientId: string, sizeBytes: number): number {
    const state = this.#state(clientId);
    if (state.consumerBytesPerSec === Infinity) return 0;
    state.fetched ??= new QuotaSensor(this.#window);
    return state.fetched.recordAndThrottleMs(
      sizeBytes,
      state.consumerBytesPerSec,
      state.lastSeenMs,
    );
  }

  /**
   * Records a handled request against its client's quota: Produce by its
   * request size, Fetch by the record bytes its response sends (as its handler
   * reported them). Returns the throttle time in ms (0: within quota).
   */
  throttleRequest(info: RequestInfo, requestSizeBytes: number, traffic: RequestTraffic): number {
    if (info.apiKey === ApiKey.Produce) {
      return this.recordProduce(info.clientId ?? "", requestSizeBytes);
    }
    if (info.apiKey === ApiKey.Fetch) {
      if (traffic.fromReplica) return 0;
      return this.recordFetch(info.clientId ?? "", traffic.bytesOut);
    }
    return 0;
  }

  /** AlterClientQuotas: changes the dynamic quotas; they apply from the next request. */
  alter(
    entries: readonly AlterClientQuotasRequestEntryData[],
    validateOnly: boolean,
  ): QuotaOutcome[] {
    const outcomes = this.#store.alter(entries, validateOnly);
    this.#refresh();
    return outcomes;
  }

  /** DescribeClientQuotas: the dynamic quotas a filter matches. */
  describe(
    components: readonly DescribeClientQuotasRequestComponentData[],
    strict: boolean,
  ): DescribeOutcome {
    return this.#store.describe(components, strict);
  }

  /** Re-reads every known client's quotas (a rate already measured is kept). */
  #refresh(): void {
    this.active = !this.#store.isEmpty || this.#defaults[PRODUCER_BYTE_RATE] !== Infinity ||
      this.#defaults[CONSUMER_BYTE_RATE] !== Infinity;
    for (const [clientId, state] of this.#clients) {
      state.producerBytesPerSec = this.quotaOf(clientId, PRODUCER_BYTE_RATE);
      state.consumerBytesPerSec = this.quotaOf(clientId, CONSUMER_BYTE_RATE);
    }
  }

  /** The state of `clientId`, created on first use; stamps it with the time. */
  #state(clientId: string): ClientState {
    const nowMs = this.#nowMs();
    let state = this.#clients.get(clientId);
    if (state === undefined) {
      if (this.#clients.size >= this.#pruneAtSize) this.#prune(nowMs);
      state = {
        producerBytesPerSec: this.quotaOf(clientId, PRODUCER_BYTE_RATE),
        consumerBytesPerSec: this.quotaOf(clientId, CONSUMER_BYTE_RATE),
        produced: undefined,
        fetched: undefined,
        lastSeenMs: nowMs,
      };
      this.#clients.set(clientId, state);
    }
    state.lastSeenMs = nowMs;
    return state;
  }

  /** Drops clients whose rates have aged out (they would start from zero anyway). */
  #prune(nowMs: number): void {
    const idleMs = this.#window.windowCount * this.#window.windowSizeMs;
    for (const [clientId, state] of this.#clients) {
      if (nowMs - state.lastSeenMs >= idleMs) this.#clients.delete(clientId);
    }
    this.#pruneAtSize = Math.max(CLIENT_STATES_PRUNE_MIN, this.#clients.size * 2);
  }

  /** Client ids with state (tests). */
  get clientCount(): number {
    return this.#clients.size;
  }
}

/**
 * True when a throttled response is sent at once and the connection muted
 * afterwards (Produce v6+, Fetch v8+: KIP-219 clients back off by
 * throttleTimeMs themselves); false when the response itself must wait.
 */
export function respondsBeforeThrottle(info: RequestInfo): boolean {
  if (info.apiKey === ApiKey.Produce) {
    return info.apiVersion >= PRODUCE_CLIENT_THROTTLE_MIN_VERSION;
  }
  if (info.apiKey === ApiKey.Fetch) return info.apiVersion >= FETCH_CLIENT_THROTTLE_MIN_VERSION;
  return true;
}
