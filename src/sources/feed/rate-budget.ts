import { sleep } from '../../util/sleep.js';

/**
 * The requests a feed may still make: at most perMinute in any 60 seconds, counted here, and no
 * more than the upstream says are left (x-ratelimit-remaining, until x-ratelimit-reset seconds
 * from the answer that said it). OpenAQ's free keys allow 60 a minute and 2,000 an hour; its
 * answers carry the count of the period that runs out first.
 */
export class RateBudget {
  private readonly sent: number[] = [];
  private upstreamRemaining: number | undefined;
  private upstreamResetAt = 0;
  private blockedUntil = 0;

  constructor(
    readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Waits until one more request may go and counts it. Returns false, without waiting, when that
   * moment is past the deadline (epoch ms): the caller skips what the request was for.
   */
  async take(deadline: number, signal?: AbortSignal): Promise<boolean> {
    for (;;) {
      const now = this.now();
      while (this.sent.length > 0 && (this.sent[0] ?? 0) <= now - 60_000) this.sent.shift();
      if (this.upstreamRemaining !== undefined && now >= this.upstreamResetAt) {
        this.upstreamRemaining = undefined;
      }
      let until = this.blockedUntil;
      if (this.sent.length >= this.perMinute) until = Math.max(until, (this.sent[0] ?? 0) + 60_000);
      if (this.upstreamRemaining !== undefined && this.upstreamRemaining <= 0) {
        until = Math.max(until, this.upstreamResetAt);
      }
      if (until <= now) {
        this.sent.push(now);
        if (this.upstreamRemaining !== undefined) this.upstreamRemaining -= 1;
        return true;
      }
      if (until > deadline || signal?.aborted) return false;
      await sleep(until - now, signal);
    }
  }

  /** Reads the rate-limit headers of an answer. */
  observe(headers: Headers): void {
    const remaining = headerNumber(headers, 'x-ratelimit-remaining');
    const reset = headerNumber(headers, 'x-ratelimit-reset');
    if (remaining === undefined) return;
    this.upstreamRemaining = remaining;
    this.upstreamResetAt = this.now() + (reset ?? 60) * 1000;
  }

  /** After a 429: no request before ms from now. */
  blockFor(ms: number): void {
    this.blockedUntil = Math.max(this.blockedUntil, this.now() + ms);
  }

  /** What is left, for the summary: ours, and the upstream's where it said. */
  describe(): string {
    const now = this.now();
    const recent = this.sent.filter((t) => t > now - 60_000).length;
    const ours = `rate budget ${Math.max(0, this.perMinute - recent)} of ${this.perMinute} requests a minute left`;
    if (this.upstreamRemaining === undefined || now >= this.upstreamResetAt) return ours;
    const seconds = Math.ceil((this.upstreamResetAt - now) / 1000);
    return `${ours}, ${Math.max(0, this.upstreamRemaining)} at the upstream for ${seconds} s`;
  }
}

/** A header holding a number of requests or seconds; undefined when absent or not a number. */
export function headerNumber(headers: Headers, name: string): number | undefined {
  const value = headers.get(name);
  if (value === null || !/^\s*\d+(\.\d+)?\s*$/.test(value)) return undefined;
  return Number(value);
}
