/**
 * The async iterator behind one subscription: the poller pushes, the transport pulls.
 *
 * Items not yet pulled are kept by key, and a newer item replaces an older one with the same key
 * (a city's new window replaces its previous one that a slow client has not read yet): a slow
 * consumer gets the latest state, never a growing backlog, so what one subscription holds is
 * bounded by the number of keys.
 *
 * return() (the client went away, or completed) ends it at once: a pending next() resolves as
 * done, and onEnd runs exactly once, whoever ends it first (the consumer or the poller).
 */
export class LatestQueue<T> implements AsyncIterableIterator<T> {
  readonly #keyOf: (item: T) => unknown;
  readonly #onEnd: () => void;
  readonly #pending = new Map<unknown, T>();
  #waiting: ((result: IteratorResult<T>) => void) | null = null;
  #ended = false;

  constructor(keyOf: (item: T) => unknown, onEnd: () => void) {
    this.#keyOf = keyOf;
    this.#onEnd = onEnd;
  }

  /** Whether a next() waits for an item. */
  get waiting(): boolean {
    return this.#waiting !== null;
  }

  push(item: T): void {
    if (this.#ended) return;
    const waiting = this.#waiting;
    if (waiting) {
      this.#waiting = null;
      waiting({ value: item, done: false });
      return;
    }
    // Map keeps the first insertion's place: a replaced item keeps its turn.
    this.#pending.set(this.#keyOf(item), item);
  }

  /** Ends the iteration: what was not pulled yet is dropped. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#pending.clear();
    const waiting = this.#waiting;
    this.#waiting = null;
    waiting?.({ value: undefined, done: true });
    this.#onEnd();
  }

  next(): Promise<IteratorResult<T>> {
    for (const [key, item] of this.#pending) {
      this.#pending.delete(key);
      return Promise.resolve({ value: item, done: false });
    }
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    if (this.#waiting) return Promise.reject(new Error('next() called while a next() waits'));
    return new Promise((resolve) => {
      this.#waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error?: unknown): Promise<IteratorResult<T>> {
    this.end();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
