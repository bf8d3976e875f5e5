import type { PollutantCode } from '../../client/measurement.js';
import type { UpstreamClient } from './upstream-client.js';

export type FeedName = 'irceline' | 'openaq';

/**
 * A measurement as a feed hands it to ingestion: the upstream's values as they came (a -9999, a
 * "NaN", a null is for belair's validation to reject, with its reason), named the way belair
 * names things.
 */
export interface FeedItem {
  readonly location: string;
  readonly city: string;
  readonly country: string;
  readonly parameter: PollutantCode;
  readonly value: unknown;
  readonly unit: unknown;
  /** ISO-8601, UTC. */
  readonly measuredAt: string;
  readonly latitude: unknown;
  readonly longitude: unknown;
  readonly sourceName: string | null;
  readonly sourceType: string | null;
  readonly stationCode: string | null;
  readonly licence: string | null;
  readonly attribution: string | null;
}

/** What one poll fetched of one upstream series. */
export interface SeriesFetch {
  /** The progress key: an IRCEL-CELINE timeseries id, an OpenAQ sensor id. */
  readonly series: string;
  /** The time of the newest value fetched, stored or not; null when nothing new came. */
  readonly until: Date | null;
  readonly items: readonly FeedItem[];
}

export interface PollResult {
  /** Stations with a series that had something to fetch in the window. */
  readonly stations: number;
  /** Series with something to fetch in the window. */
  readonly series: number;
  /** Series the upstream lists with nothing since the window began (stations out of service). */
  readonly idle: number;
  /** Values received that are newer than what was fetched before. */
  readonly fetched: number;
  readonly batches: readonly SeriesFetch[];
  /** Values or stations left out on purpose, by reason. */
  readonly skipped: ReadonlyMap<string, number>;
  /** Requests that gave nothing usable, by reason (each also reported with its URL). */
  readonly failed: ReadonlyMap<string, number>;
}

export interface PollContext {
  readonly now: Date;
  /** Where a series with no progress starts (exclusive). */
  readonly since: Date;
  /** How far each series was fetched before (exclusive). */
  readonly progress: ReadonlyMap<string, Date>;
  /** Epoch ms: the end of the poll's interval; nothing is asked after it. */
  readonly deadline: number;
  /** For messages: the interval, as the command line gave it. */
  readonly interval: string;
  /** A problem, with its URL, for standard error. */
  report(message: string): void;
  /** Requests planned and made, for a progress bar. */
  readonly steps: { plan(count: number): void; done(count?: number): void };
}

export interface FeedSource {
  readonly name: FeedName;
  /** For the summary: IRCEL-CELINE, OpenAQ. */
  readonly title: string;
  readonly upstream: UpstreamClient;
  /** The rate budget left, for the summary (OpenAQ). */
  budget?(): string;
  poll(context: PollContext): Promise<PollResult>;
}

/** An instant as the upstreams' query parameters take it: 2026-11-21T09:00:00Z. */
export function isoInstant(ms: number): string {
  return new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
}

/** Adds to a count by reason. */
export function tally(counts: Map<string, number>, reason: string, by = 1): void {
  if (by > 0) counts.set(reason, (counts.get(reason) ?? 0) + by);
}

/**
 * What a poll counts by reason (what it skipped, what failed), and how it reports an answer that
 * is not in the upstream's documented shape: with its URL, counted as failed.
 */
export function pollTallies(context: Pick<PollContext, 'report'>) {
  const skipped = new Map<string, number>();
  const failed = new Map<string, number>();
  const malformed = (url: string, what: string, problem: string): void => {
    context.report(`${what}: a malformed answer, ${problem} (${url})`);
    tally(failed, `${what}: a malformed answer (${problem})`);
  };
  return { skipped, failed, malformed };
}

/** A value of a series as an upstream gives it. */
export interface UpstreamValue {
  /** Epoch ms. */
  readonly time: number;
  readonly value: unknown;
}

export interface NewValues {
  /** Newer than `after`, oldest first, one per instant. */
  readonly values: readonly UpstreamValue[];
  /** The time of the newest of them; null when there are none. */
  readonly until: number | null;
  /** Values newer than `after`, repeats included. */
  readonly received: number;
}

/**
 * The values of a series that are newer than `after`, in time order and one per instant: an
 * upstream may send them out of order and repeat itself. Of the values given for one instant the
 * last one stands (an upstream lists a correction after the value it corrects); the others are
 * counted as skipped.
 */
export function newValues(
  values: readonly UpstreamValue[],
  after: number,
  skipped: Map<string, number>,
): NewValues {
  const fresh = values.filter((v) => v.time > after);
  const byTime = new Map<number, UpstreamValue>();
  for (const value of fresh) {
    const before = byTime.get(value.time);
    if (before !== undefined) {
      tally(
        skipped,
        Object.is(before.value, value.value) || before.value === value.value
          ? 'repeated in the same answer'
          : 'replaced by a later value for the same time in the same answer',
      );
    }
    byTime.set(value.time, value);
  }
  const ordered = [...byTime.values()].sort((a, b) => a.time - b.time);
  return { values: ordered, until: ordered.at(-1)?.time ?? null, received: fresh.length };
}
