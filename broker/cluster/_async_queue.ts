/**
 * A push-to-pull queue: the in-memory coordinator pushes watch batches and
 * leader changes, a `for await` loop pulls them. Ending it (or the consumer's
 * `return()`) runs the producer's cleanup once.
 *
 * @module
 */

/** A queue that is also an async iterator. */
export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  readonly #items: T[] = [];
  #waiter: ((result: IteratorResult<T>) => void) | undefined;
  #ended = false;
  #onEnd: (() => void) | undefined;

  constructor(onEnd?: () => void) {
    this.#onEnd = onEnd;
  }

  /** Whether {@linkcode AsyncQueue.end} ran (no more items will be accepted). */
  get ended(): boolean {
    return this.#ended;
  }

  /** Hands `item` to a waiting `next()` or keeps it; ignored after `end()`. */
  push(item: T): void {
    if (this.#ended) return;
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter({ value: item, done: false });
    } else {
      this.#items.push(item);
    }
  }

  /** No more items: `next()` drains what is queued, then reports done. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    const onEnd = this.#onEnd;
    this.#onEnd = undefined;
    onEnd?.();
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#items.length > 0) {
      return Promise.resolve({ value: this.#items.shift()!, done: false });
    }
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.#waiter = resolve));
  }

  return(): Promise<IteratorResult<T>> {
    this.#items.length = 0;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
