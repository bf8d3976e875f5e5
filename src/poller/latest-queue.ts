/**
 * The async iterator behind one subscription: the poller pushes, the transport pulls.
 *
 * Items not yet pulled are kept by key, and a newer item replaces an older one with the same key
 * (a city's new window replaces its previous one that a slow client has not read yet): a slow
 * consumer gets the latest state, never a growing backlog, so what one subscription holds is
 * bounded by the number of keys.
 *
 * A transport that fans out may take items as they are pushed instead of pulling them
 * (consume): then push hands an item straight to its consumer while the consumer is ready, and
 * keeps it by key, as above, while it is not (it answered false), until resume(). Same items,
 * same order, same coalescing; no promise per item.
 *
 * return() (the client went away, or completed) ends it at once: a pending next() resolves as
 * done, and onEnd runs exactly once, whoever ends it first (the consumer or the poller).
 */
export class LatestQueue<T> implements AsyncIterableIterator<T> {
  readonly #keyOf: (item: T) => unknown;
  readonly #onEnd: () => void;
  readonly #pending = new Map<unknown, T>();
  #waiting: ((result: IteratorResult<T>) => void) | null = null;
  #consumer: QueueConsumer<T> | null = null;
  /** The consumer takes the next item at once (then nothing is pending). */
  #ready = false;
  #ended = false;

  constructor(keyOf: (item: T) => unknown, onEnd: () => void) {
    this.#keyOf = keyOf;
    this.#onEnd = onEnd;
  }

  /** Whether a consumer waits for an item: a next() pending, or a consumer ready for one. */
  get waiting(): boolean {
    return this.#waiting !== null || this.#ready;
  }

  push(item: T): void {
    if (this.#ended) return;
    if (this.#ready) {
      const ready = (this.#consumer as QueueConsumer<T>).take(item);
      if (!this.#ended) this.#ready = ready;
      return;
    }
    const waiting = this.#waiting;
    if (waiting) {
      this.#waiting = null;
      waiting({ value: item, done: false });
      return;
    }
    // Map keeps the first insertion's place: a replaced item keeps its turn.
    this.#pending.set(this.#keyOf(item), item);
  }

  /**
   * From now on, items go to consumer.take instead of next(): first those kept, then each one
   * pushed, as long as take answers true; after a false, resume() hands over what came meanwhile.
   * consumer.ended runs once when the queue ends, unless the consumer ended it (return()).
   */
  consume(consumer: QueueConsumer<T>): void {
    if (this.#consumer || this.#waiting) throw new Error('the queue already has a consumer');
    this.#consumer = consumer;
    if (this.#ended) consumer.ended();
    else this.resume();
  }

  /** The consumer, which answered false to take, can take items again. */
  resume(): void {
    const consumer = this.#consumer;
    if (!consumer || this.#ended || this.#ready) return;
    for (const [key, item] of this.#pending) {
      this.#pending.delete(key);
      if (!consumer.take(item) || this.#ended) return;
    }
    this.#ready = true;
  }

  /** Ends the iteration: what was not pulled yet is dropped. */
  end(): void {
    this.#close();
    const consumer = this.#consumer;
    this.#consumer = null;
    consumer?.ended();
  }

  next(): Promise<IteratorResult<T>> {
    for (const [key, item] of this.#pending) {
      this.#pending.delete(key);
      return Promise.resolve({ value: item, done: false });
    }
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    if (this.#waiting || this.#consumer) {
      return Promise.reject(new Error('next() called while another consumer waits'));
    }
    return new Promise((resolve) => {
      this.#waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.#consumer = null;
    this.#close();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error?: unknown): Promise<IteratorResult<T>> {
    this.#consumer = null;
    this.#close();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #close(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#ready = false;
    this.#pending.clear();
    const waiting = this.#waiting;
    this.#waiting = null;
    waiting?.({ value: undefined, done: true });
    this.#onEnd();
  }
}

/** What takes a LatestQueue's items as they are pushed (LatestQueue.consume). */
export interface QueueConsumer<T> {
  /** Takes an item; false: it takes no more until resume(). */
  take(item: T): boolean;
  /** The queue ended on its own (the poller stopped). */
  ended(): void;
}
