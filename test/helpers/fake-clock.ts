import type { GeneratorClock } from '../../src/sources/generator/run-generator.js';

export interface FakeClock extends GeneratorClock {
  /** The instant the clock started at. */
  readonly start: number;
  /** Every sleep asked for, in ms, in order (those of 0 ms or less, which return at once, too). */
  readonly sleeps: number[];
  /** Moves the time on by ms, running what is scheduled on the way. */
  advance(ms: number): void;
  /** Runs fn when the time reaches `at` (ms since the clock's start), as a timer would. */
  at(at: number, fn: () => void): void;
}

/**
 * A clock whose time moves only when the code under test sleeps, or when the test moves it: a
 * run is then the same at every try, to the millisecond, whatever the machine's load. A sleep
 * ends early, at the instant of a scheduled event, when that event aborts the sleep's signal.
 */
export function fakeClock(start = 0): FakeClock {
  let time = start;
  const sleeps: number[] = [];
  const events: { at: number; fn: () => void }[] = [];
  /** Moves the time to `until`, or to the first event on the way that aborts `signal`. */
  const moveTo = (until: number, signal?: AbortSignal) => {
    for (;;) {
      events.sort((a, b) => a.at - b.at);
      const next = events[0];
      if (!next || next.at > until) break;
      events.shift();
      time = Math.max(time, next.at);
      next.fn();
      if (signal?.aborted) return;
    }
    time = Math.max(time, until);
  };
  return {
    start,
    now: () => time,
    sleeps,
    async sleep(ms, signal) {
      sleeps.push(ms);
      if (signal?.aborted || ms <= 0) return;
      moveTo(time + ms, signal);
    },
    advance(ms) {
      moveTo(time + ms);
    },
    at(at, fn) {
      events.push({ at: start + at, fn });
    },
  };
}
