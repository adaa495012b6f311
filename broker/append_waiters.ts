/**
 * Long-poll support: a fetch that found too few bytes parks here, keyed by
 * the partitions it reads, and is woken by the next append to any of them
 * or by its own timer. No polling loop: an idle consumer costs a timer.
 *
 * @module
 */

/** Why a parked fetch was released. */
export type UnparkReason = "appended" | "timeout" | "aborted";

/** A parked fetch: `wake` is called at most once. */
interface Waiter {
  readonly keys: readonly string[];
  readonly wake: () => void;
}

/** Parks fetches until an append to one of their partitions, or a deadline. */
export class AppendWaiters {
  readonly #byKey = new Map<string, Set<Waiter>>();
  #parkListeners: (() => void)[] = [];
  #unparkListeners: ((reason: UnparkReason) => void)[] = [];

  /** Resolves when the next fetch parks (tests use it to order events without sleeping). */
  nextPark(): Promise<void> {
    return new Promise((resolve) => this.#parkListeners.push(resolve));
  }

  /** Resolves with the reason when the next parked fetch is released. */
  nextUnpark(): Promise<UnparkReason> {
    return new Promise((resolve) => this.#unparkListeners.push(resolve));
  }

  /** The number of fetches parked now (for tests and metrics). */
  get parkedCount(): number {
    const all = new Set<Waiter>();
    for (const set of this.#byKey.values()) for (const w of set) all.add(w);
    return all.size;
  }

  /**
   * Resolves `true` when one of `keys` is appended to, `false` when `maxWaitMs`
   * passes or `signal` aborts first.
   */
  wait(keys: readonly string[], maxWaitMs: number, signal?: AbortSignal): Promise<boolean> {
    if (keys.length === 0 || maxWaitMs <= 0 || signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined = undefined;
      const finish = (appended: boolean, reason: UnparkReason) => {
        if (timer !== undefined) clearTimeout(timer);
        timer = undefined;
        signal?.removeEventListener("abort", onAbort);
        for (const k of keys) {
          const set = this.#byKey.get(k);
          set?.delete(waiter);
          if (set?.size === 0) this.#byKey.delete(k);
        }
        resolve(appended);
        const listeners = this.#unparkListeners;
        this.#unparkListeners = [];
        for (const l of listeners) l(reason);
      };
      const onAbort = () => finish(false, "aborted");
      const waiter: Waiter = { keys, wake: () => finish(true, "appended") };
      for (const k of keys) {
        let set = this.#byKey.get(k);
        if (set === undefined) this.#byKey.set(k, set = new Set());
        set.add(waiter);
      }
      timer = setTimeout(() => finish(false, "timeout"), maxWaitMs);
      signal?.addEventListener("abort", onAbort);
      const listeners = this.#parkListeners;
      this.#parkListeners = [];
      for (const l of listeners) l();
    });
  }

  /** Wakes every fetch parked on `key`. */
  notify(key: string): void {
    const set = this.#byKey.get(key);
    if (set === undefined) return;
    for (const w of [...set]) w.wake();
  }

  /** Wakes everything (shutdown). */
  wakeAll(): void {
    for (const set of [...this.#byKey.values()]) for (const w of [...set]) w.wake();
  }
}

/** The key of a partition in {@linkcode AppendWaiters}. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
