import type { PollLoop } from './poll-loop.js';
import type { HeldSnapshot, Snapshot } from './snapshot.js';

/** What reads need of the loop. */
type Loop = Pick<
  PollLoop<unknown>,
  'stopped' | 'down' | 'inFlight' | 'keepPolling' | 'current' | 'pollStartedAfter'
>;

/**
 * What queries read: the held snapshot while a poll vouches for it, waiting for a poll (shared by
 * every query that waits) when the last one is too old, null when the poller cannot vouch (MariaDB
 * did not answer its last poll, the poller is stopped), for the caller to read MariaDB itself.
 */
export class QueryReads {
  readonly #held: HeldSnapshot;
  readonly #loop: Loop;
  readonly #idleMs: number;
  #lastReadAt = Number.NEGATIVE_INFINITY;
  #snapshotReads = 0;
  #fallbackReads = 0;

  constructor(held: HeldSnapshot, loop: Loop, idleMs: number) {
    this.#held = held;
    this.#loop = loop;
    this.#idleMs = idleMs;
  }

  /** A query read within idleMs: the poller keeps polling for it. */
  get recent(): boolean {
    return performance.now() - this.#lastReadAt < this.#idleMs;
  }
  get snapshotReads(): number {
    return this.#snapshotReads;
  }
  get fallbackReads(): number {
    return this.#fallbackReads;
  }

  async read(): Promise<Snapshot | null> {
    const loop = this.#loop;
    if (loop.stopped) return this.#fallback();
    const arrivedAt = performance.now();
    this.#lastReadAt = arrivedAt;
    const fresh = () => this.#held.freshFor(arrivedAt);
    if (fresh()) {
      loop.keepPolling();
      return this.#vouched();
    }
    if (loop.down) {
      // MariaDB did not answer the last poll: the caller's own query is the fastest way to
      // learn whether it is back (wake() then polls), without waiting for the backoff.
      loop.keepPolling();
      return this.#fallback();
    }
    const inFlight = loop.inFlight;
    if (inFlight) await inFlight;
    // That poll may have started too long before this read (a slow MariaDB): one that starts
    // now is fresh for it, however long it takes.
    if (!fresh() && !loop.down && !loop.stopped) await loop.current();
    return fresh() ? this.#vouched() : this.#fallback();
  }

  /** The snapshot if it is fresh at this instant; null otherwise. Never waits, polls or counts. */
  peek(): Snapshot | null {
    return !this.#loop.stopped && this.#held.freshFor(performance.now()) ? this.#held.view() : null;
  }

  /** Read-your-writes: resolves after a poll that started after the call. */
  async refresh(): Promise<void> {
    if (this.#loop.stopped) return;
    const requestedAt = performance.now();
    this.#held.invalidate(requestedAt);
    // A poll that started before the call may have missed the write: it waits for that one to end.
    await this.#loop.pollStartedAfter(requestedAt);
  }

  #vouched(): Snapshot {
    this.#snapshotReads += 1;
    return this.#held.view();
  }

  #fallback(): null {
    this.#fallbackReads += 1;
    return null;
  }
}
