/**
 * Long-poll support: a fetch that found too few bytes parks here on the
 * partitions it reads, and is woken by the next append to any of them or by
 * its own timer. No polling loop: an idle consumer costs a timer.
 *
 * A parked fetch registers once per topic, with a bitmap of the partitions it
 * reads, so parking costs O(topics), not O(partitions): a consumer of 1,000
 * partitions that is woken a thousand times a second does not re-register
 * 1,000 keys each time. An append looks at the waiters of its topic only.
 *
 * @module
 */

/** Why a parked fetch was released. */
export type UnparkReason = "appended" | "timeout" | "aborted";

/**
 * The partitions a fetch waits on: per topic name, a bitmap indexed by
 * partition. Build it once with {@linkcode waitInterest} and reuse it (a fetch
 * session keeps its own until its partitions change).
 */
export type WaitInterest = ReadonlyMap<string, Uint8Array>;

/** The {@linkcode WaitInterest} of `partitions`. */
export function waitInterest(
  partitions: Iterable<{ readonly topic: string; readonly partition: number }>,
): WaitInterest {
  const sets = new Map<string, number[]>();
  for (const { topic, partition } of partitions) {
    if (!Number.isInteger(partition) || partition < 0) continue; // cannot be appended to
    let list = sets.get(topic);
    if (list === undefined) sets.set(topic, list = []);
    list.push(partition);
  }
  const interest = new Map<string, Uint8Array>();
  for (const [topic, list] of sets) {
    const bitmap = new Uint8Array((Math.max(...list) >> 3) + 1);
    for (const p of list) bitmap[p >> 3] |= 1 << (p & 7);
    interest.set(topic, bitmap);
  }
  return interest;
}

function wants(bitmap: Uint8Array, partition: number): boolean {
  const byte = partition >> 3;
  return byte < bitmap.length && (bitmap[byte] & (1 << (partition & 7))) !== 0;
}

/** A parked fetch: `wake` is called at most once. */
interface Waiter {
  readonly interest: WaitInterest;
  readonly wake: () => void;
}

/** Parks fetches until an append to one of their partitions, or a deadline. */
export class AppendWaiters {
  readonly #byTopic = new Map<string, Set<Waiter>>();
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
    for (const set of this.#byTopic.values()) for (const w of set) all.add(w);
    return all.size;
  }

  /**
   * Resolves `true` when one of the partitions of `interest` is appended to,
   * `false` when `maxWaitMs` passes or `signal` aborts first.
   */
  wait(interest: WaitInterest, maxWaitMs: number, signal?: AbortSignal): Promise<boolean> {
    if (interest.size === 0 || maxWaitMs <= 0 || signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined = undefined;
      const finish = (appended: boolean, reason: UnparkReason) => {
        if (timer !== undefined) clearTimeout(timer);
        timer = undefined;
        signal?.removeEventListener("abort", onAbort);
        for (const topic of interest.keys()) {
          const set = this.#byTopic.get(topic);
          set?.delete(waiter);
          if (set?.size === 0) this.#byTopic.delete(topic);
        }
        resolve(appended);
        const listeners = this.#unparkListeners;
        this.#unparkListeners = [];
        for (const l of listeners) l(reason);
      };
      const onAbort = () => finish(false, "aborted");
      const waiter: Waiter = { interest, wake: () => finish(true, "appended") };
      for (const topic of interest.keys()) {
        let set = this.#byTopic.get(topic);
        if (set === undefined) this.#byTopic.set(topic, set = new Set());
        set.add(waiter);
      }
      timer = setTimeout(() => finish(false, "timeout"), maxWaitMs);
      signal?.addEventListener("abort", onAbort);
      const listeners = this.#parkListeners;
      this.#parkListeners = [];
      for (const l of listeners) l();
    });
  }

  /** Wakes every fetch parked on `partition` of `topic`. */
  notify(topic: string, partition: number): void {
    const set = this.#byTopic.get(topic);
    if (set === undefined) return;
    let woken: Waiter[] | undefined;
    for (const w of set) {
      if (wants(w.interest.get(topic)!, partition)) (woken ??= []).push(w);
    }
    if (woken !== undefined) { for (const w of woken) w.wake(); }
  }

  /** Wakes everything (shutdown). */
  wakeAll(): void {
    for (const set of [...this.#byTopic.values()]) for (const w of [...set]) w.wake();
  }
}
