import type { YogaLogger } from 'graphql-yoga';
import type { RunWindows } from '../air-quality/run-windows.js';
import { LatestQueue } from './latest-queue.js';

interface Listener {
  readonly queue: LatestQueue<unknown>;
  readonly select: (event: RunWindows) => readonly unknown[];
  /** It received its first event. */
  primed: boolean;
}

/**
 * The open streams and what reaches them: every stream gets the very same event objects, each
 * through its own select and its own LatestQueue. A stream whose select throws is ended, never
 * the others.
 */
export class Listeners {
  readonly #all = new Set<Listener>();
  readonly #logger: YogaLogger;
  readonly #removed: () => void;
  #events = 0;

  /** removed runs after a stream ended (its consumer went away, or the poller ended it). */
  constructor(logger: YogaLogger, removed: () => void) {
    this.#logger = logger;
    this.#removed = removed;
  }

  get size(): number {
    return this.#all.size;
  }
  /** Events published. */
  get events(): number {
    return this.#events;
  }
  /** Streams whose consumer waits for an item (in next(), or ready to take one pushed). */
  get waiting(): number {
    let waiting = 0;
    for (const listener of this.#all) if (listener.queue.waiting) waiting += 1;
    return waiting;
  }

  /** A new stream, given `first` at once when there is one (the current event). */
  add<T>(
    select: (event: RunWindows) => readonly T[],
    keyOf: (item: T) => unknown,
    first: RunWindows | null,
  ): LatestQueue<T> {
    const listener: Listener = {
      queue: new LatestQueue<unknown>(keyOf as (item: unknown) => unknown, () => {
        this.#all.delete(listener);
        this.#removed();
      }),
      select,
      primed: false,
    };
    this.#all.add(listener);
    if (first) this.#deliver(listener, first);
    return listener.queue as LatestQueue<T>;
  }

  /** A new current run: to every stream. */
  publish(event: RunWindows): void {
    this.#events += 1;
    for (const listener of this.#all) this.#deliver(listener, event);
  }

  /** Streams that have had nothing yet get the current event (the one they waited for). */
  primeWaiting(event: RunWindows | null): void {
    if (!event) return;
    for (const listener of this.#all) if (!listener.primed) this.#deliver(listener, event);
  }

  endAll(): void {
    for (const listener of [...this.#all]) listener.queue.end();
  }

  #deliver(listener: Listener, event: RunWindows): void {
    listener.primed = true;
    try {
      for (const item of listener.select(event)) listener.queue.push(item);
    } catch (error) {
      this.#logger.error('a live stream could not take an event; it is ended', error);
      listener.queue.end();
    }
  }
}
