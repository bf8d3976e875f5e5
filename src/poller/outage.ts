import type { YogaLogger } from 'graphql-yoga';

/**
 * MariaDB's outages as the poller lives them: the polls that failed in a row, the backoff they
 * call for (doubling up to maxBackoffMs), and one log line when it goes down, one when it is back.
 */
export class Outage {
  readonly #logger: YogaLogger;
  readonly #intervalMs: number;
  readonly #maxBackoffMs: number;
  #failuresInARow = 0;
  #failedPolls = 0;

  constructor(logger: YogaLogger, intervalMs: number, maxBackoffMs: number) {
    this.#logger = logger;
    this.#intervalMs = intervalMs;
    this.#maxBackoffMs = maxBackoffMs;
  }

  /** MariaDB did not answer the last poll. */
  get down(): boolean {
    return this.#failuresInARow > 0;
  }

  get failedPolls(): number {
    return this.#failedPolls;
  }

  /** The delay before the next poll while down. */
  get backoffMs(): number {
    return Math.min(this.#maxBackoffMs, this.#intervalMs * 2 ** this.#failuresInARow);
  }

  failed(error: unknown): void {
    this.#failedPolls += 1;
    this.#failuresInARow += 1;
    if (this.#failuresInARow === 1) {
      this.#logger.warn(
        `live updates: MariaDB does not answer (${(error as Error).message}); retrying with backoff up to ${this.#maxBackoffMs} ms, subscriptions stay open`,
      );
    }
  }

  answered(): void {
    if (this.#failuresInARow === 0) return;
    this.#logger.info(
      `live updates: MariaDB answers again after ${this.#failuresInARow} failed polls`,
    );
    this.#failuresInARow = 0;
  }
}
