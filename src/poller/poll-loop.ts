import type { YogaLogger } from 'graphql-yoga';
import { Outage } from './outage.js';

export interface PollLoopOptions<T> {
  readonly intervalMs: number;
  readonly maxBackoffMs: number;
  readonly logger: YogaLogger;
  /** Someone wants polls (an open stream, a recent query): the loop schedules only then. */
  readonly wanted: () => boolean;
  /** The SQL of one poll; rejects when MariaDB does not answer. */
  readonly fetch: () => Promise<T>;
  /** A poll that failed: what the last one confirmed may be gone. */
  readonly failed: () => void;
  /** What a poll that succeeded found, with when it started; not called once stopped. */
  readonly found: (found: T, startedAt: number) => void;
}

/**
 * When polls run: never two at once, pollIntervalMs apart from start to start (later when one
 * takes longer), with backoff while MariaDB is down, only while wanted, none once stopped. A
 * poll is either scheduled (a timer) or running, never both.
 */
export class PollLoop<T> {
  readonly #options: PollLoopOptions<T>;
  readonly #outage: Outage;
  #timer: NodeJS.Timeout | null = null;
  #inFlight: Promise<void> | null = null;
  #inFlightStartedAt = 0;
  #stopped = false;
  #polls = 0;

  constructor(options: PollLoopOptions<T>) {
    this.#options = options;
    this.#outage = new Outage(options.logger, options.intervalMs, options.maxBackoffMs);
  }

  get stopped(): boolean {
    return this.#stopped;
  }
  get down(): boolean {
    return this.#outage.down;
  }
  get scheduled(): boolean {
    return this.#timer !== null;
  }
  /** The running poll, null when none runs. */
  get inFlight(): Promise<void> | null {
    return this.#inFlight;
  }
  get polls(): number {
    return this.#polls;
  }
  get failedPolls(): number {
    return this.#outage.failedPolls;
  }

  /** Starts a poll now (none may be running), in place of the one scheduled. */
  pollNow(): Promise<void> {
    this.#cancel();
    const startedAt = performance.now();
    this.#inFlightStartedAt = startedAt;
    const running = this.#poll(startedAt).finally(() => {
      this.#inFlight = null;
      if (this.#wanted()) this.#schedule(this.#delay());
    });
    this.#inFlight = running;
    return running;
  }

  /** The running poll, or one started now. */
  current(): Promise<void> {
    return this.#inFlight ?? this.pollNow();
  }

  /** Resolves after a poll that started after `at` (none at all once stopped). */
  async pollStartedAfter(at: number): Promise<void> {
    while (this.#inFlight && this.#inFlightStartedAt <= at) await this.#inFlight;
    if (this.#stopped) return;
    await this.current();
  }

  /** A poll soon, for a first stream: the loop was idle. */
  start(): void {
    this.#schedule(0);
  }

  /** The loop runs (or is scheduled) while it is wanted: schedules the next poll if none is. */
  keepPolling(): void {
    if (!this.#stopped && !this.#timer && !this.#inFlight) this.#schedule(this.#delay());
  }

  /** Someone no longer wants polls: if no one else does, the scheduled poll is dropped. */
  release(): void {
    if (!this.#options.wanted()) this.#cancel();
  }

  /** MariaDB answered a caller: if backing off from an outage, poll now. */
  wake(): void {
    if (this.down && !this.#inFlight && !this.#stopped && this.#options.wanted()) {
      void this.pollNow();
    }
  }

  /** No poll starts any more; the promise of the poll still running, if one is. */
  stop(): Promise<void> | null {
    this.#stopped = true;
    this.#cancel();
    return this.#inFlight;
  }

  async #poll(startedAt: number): Promise<void> {
    this.#polls += 1;
    let found: T;
    try {
      found = await this.#options.fetch();
    } catch (error) {
      this.#options.failed();
      this.#outage.failed(error);
      return;
    }
    this.#outage.answered();
    if (this.#stopped) return;
    this.#options.found(found, startedAt);
  }

  #delay(): number {
    if (this.down) return this.#outage.backoffMs;
    // Polls start pollIntervalMs apart: a query then finds the snapshot expiring just as the
    // next poll starts, and waits at most for that poll.
    return Math.max(0, this.#inFlightStartedAt + this.#options.intervalMs - performance.now());
  }

  #wanted(): boolean {
    return !this.#stopped && this.#options.wanted();
  }

  #schedule(ms: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#wanted()) void this.pollNow();
    }, ms);
    // The poller never keeps a process alive by itself (an app a test never stopped, a script).
    this.#timer.unref();
  }

  #cancel(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
