import type { RunWindows } from '../air-quality/run-windows.js';

/** The current run's windows as the poller knows them, vouched for by a recent poll. */
export interface Snapshot {
  /** The current run and its windows; null when MariaDB holds no run at all. */
  readonly event: RunWindows | null;
  /** When the poll that confirmed it started (performance.now() of this process). */
  readonly confirmedAt: number;
}

/**
 * The run the poller holds, and which poll vouches for it: a snapshot is fresh for an instant
 * when a poll that started at most maxAgeMs before it confirmed it. A poll sees every run
 * committed before it started, so that is how far a fresh snapshot can lag.
 */
export class HeldSnapshot {
  /** The run held as current, null while MariaDB holds none (or before the first poll). */
  event: RunWindows | null = null;
  readonly #maxAgeMs: number;
  // The start of the last poll that succeeded; -Infinity while nothing vouches for the snapshot.
  #confirmedAt = Number.NEGATIVE_INFINITY;
  // A poll that started before this instant cannot vouch for the snapshot (see invalidate()).
  #invalidatedAt = Number.NEGATIVE_INFINITY;

  constructor(maxAgeMs: number) {
    this.#maxAgeMs = maxAgeMs;
  }

  freshFor(at: number): boolean {
    return this.#confirmedAt >= at - this.#maxAgeMs;
  }

  /** A poll that started at startedAt succeeded: it vouches, unless a write came after it began. */
  confirm(startedAt: number): void {
    if (startedAt > this.#invalidatedAt) this.#confirmedAt = startedAt;
  }

  /** A poll failed: what the last one saw may be gone, nothing vouches until one succeeds. */
  distrust(): void {
    this.#confirmedAt = Number.NEGATIVE_INFINITY;
  }

  /** A write at `at` may have made a run: only a poll that starts after it can vouch again. */
  invalidate(at: number): void {
    this.#invalidatedAt = at;
    this.distrust();
  }

  view(): Snapshot {
    return { event: this.event, confirmedAt: this.#confirmedAt };
  }
}
