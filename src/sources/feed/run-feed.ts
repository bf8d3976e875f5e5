import { sleep } from '../../util/sleep.js';
import type { FeedStore, RefreshedWindows } from './feed-store.js';
import type { FeedItem, FeedSource, PollContext, SeriesFetch } from './poll.js';
import { tally } from './poll.js';
import { UpstreamError } from './upstream-client.js';

/** What one poll did, for its summary line. */
export interface PollTotals {
  readonly feed: string;
  /** When the poll started. */
  readonly at: Date;
  durationMs: number;
  stations: number;
  series: number;
  idle: number;
  fetched: number;
  inserted: number;
  updated: number;
  unchanged: number;
  rejected: number;
  readonly rejections: Map<string, number>;
  skipped: number;
  readonly skips: Map<string, number>;
  /** Requests that gave nothing usable, and batches the store did not take, by reason. */
  failed: number;
  readonly failures: Map<string, number>;
  /** Measurements fetched that could not be handed to the store. */
  notSent: number;
  requests: number;
  budget?: string;
  refreshed?: RefreshedWindows;
}

export interface RunFeedOptions {
  readonly source: FeedSource;
  readonly store: FeedStore;
  readonly intervalMs: number;
  /** The interval as given (10m), for messages. */
  readonly interval: string;
  readonly once: boolean;
  /** Where series with no progress start, as of now (a duration back, or a fixed instant). */
  readonly since: (now: Date) => Date;
  /** A series fetched longer ago than this resumes this far back (a week). */
  readonly maxResumeMs: number;
  /** Measurements per ingestion request. */
  readonly batchSize: number;
  readonly signal?: AbortSignal;
  /** Problems, for standard error. */
  readonly report: (message: string) => void;
  /** A progress bar for the poll's requests, where there is a terminal. */
  readonly steps?: () => PollContext['steps'] & { stop(): void };
  readonly onPoll: (totals: PollTotals) => void;
}

export interface FeedRun {
  readonly polls: number;
  /** Every poll stored or deliberately skipped everything it fetched. */
  readonly ok: boolean;
  /** The upstream refused the credentials: the feed stopped at once. */
  readonly authError?: string;
}

/** Max 7 days back when a feed resumes after a long stop. */
export const MAX_RESUME_MS = 7 * 86_400_000;

function emptyTotals(feed: string, at: Date): PollTotals {
  return {
    feed,
    at,
    durationMs: 0,
    stations: 0,
    series: 0,
    idle: 0,
    fetched: 0,
    inserted: 0,
    updated: 0,
    unchanged: 0,
    rejected: 0,
    rejections: new Map(),
    skipped: 0,
    skips: new Map(),
    failed: 0,
    failures: new Map(),
    notSent: 0,
    requests: 0,
  };
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Hands what a poll fetched to the store, batchSize measurements at a time, and returns the
 * series whose measurements were all taken (stored, unchanged or rejected): only those move on.
 */
async function deliver(
  options: RunFeedOptions,
  batches: readonly SeriesFetch[],
  totals: PollTotals,
): Promise<Set<string>> {
  const items: { item: FeedItem; series: string }[] = batches.flatMap((batch) =>
    batch.items.map((item) => ({ item, series: batch.series })),
  );
  const failedSeries = new Set<string>();
  for (let i = 0; i < items.length; i += options.batchSize) {
    const chunk = items.slice(i, i + options.batchSize);
    try {
      const result = await options.store.ingest(chunk.map((c) => c.item));
      totals.inserted += result.inserted;
      totals.updated += result.updated;
      totals.unchanged += result.unchanged;
      totals.rejected += result.rejected.length;
      for (const { reason } of result.rejected) tally(totals.rejections, reason);
    } catch (error) {
      options.report(
        `${chunk.length} measurements not stored in ${options.store.target}: ${message(error)}`,
      );
      totals.notSent += chunk.length;
      totals.failed += 1;
      tally(totals.failures, `not stored: ${message(error)}`);
      for (const c of chunk) failedSeries.add(c.series);
    }
  }
  return failedSeries;
}

/** One poll: progress, fetch, store, progress again, and the windows refreshed. */
async function pollOnce(options: RunFeedOptions): Promise<PollTotals | { authError: string }> {
  const { source, store } = options;
  const started = Date.now();
  const now = new Date(started);
  const totals = emptyTotals(source.name, now);
  const requestsBefore = source.upstream.requests;
  let progress: Map<string, Date>;
  try {
    progress = await store.readProgress(source.name);
  } catch (error) {
    options.report(`cannot read the feed's progress from ${store.target}: ${message(error)}`);
    totals.failed += 1;
    tally(totals.failures, `progress not read: ${message(error)}`);
    totals.durationMs = Date.now() - started;
    return totals;
  }
  // A series fetched long ago resumes at most maxResumeMs back.
  const earliest = started - options.maxResumeMs;
  for (const [series, until] of progress) {
    if (until.getTime() < earliest) progress.set(series, new Date(earliest));
  }

  const bar = options.steps?.();
  const noSteps = { plan: () => {}, done: () => {} };
  let result: Awaited<ReturnType<FeedSource['poll']>>;
  try {
    result = await source.poll({
      now,
      since: options.since(now),
      progress,
      deadline: started + options.intervalMs,
      interval: options.interval,
      report: options.report,
      steps: bar ?? noSteps,
    });
  } catch (error) {
    if (error instanceof UpstreamError && error.kind === 'auth') {
      return { authError: `${error.message} (${error.url})` };
    }
    options.report(`${source.title} poll failed: ${message(error)}`);
    totals.failed += 1;
    tally(totals.failures, `poll failed: ${message(error)}`);
    totals.requests = source.upstream.requests - requestsBefore;
    totals.durationMs = Date.now() - started;
    return totals;
  } finally {
    bar?.stop();
  }

  totals.stations = result.stations;
  totals.series = result.series;
  totals.idle = result.idle;
  totals.fetched = result.fetched;
  for (const [reason, count] of result.skipped) {
    tally(totals.skips, reason, count);
    totals.skipped += count;
  }
  for (const [reason, count] of result.failed) {
    tally(totals.failures, reason, count);
    totals.failed += count;
  }
  totals.requests = source.upstream.requests - requestsBefore;

  const failedSeries = await deliver(options, result.batches, totals);
  const moved = result.batches
    .filter((batch) => batch.until !== null && !failedSeries.has(batch.series))
    .filter((batch) => (batch.until?.getTime() ?? 0) > (progress.get(batch.series)?.getTime() ?? 0))
    .map((batch) => ({ series: batch.series, fetchedUntil: batch.until as Date }));
  if (moved.length > 0) {
    try {
      await store.recordProgress(source.name, moved);
    } catch (error) {
      options.report(`cannot record the feed's progress in ${store.target}: ${message(error)}`);
      totals.failed += 1;
      tally(totals.failures, `progress not recorded: ${message(error)}`);
    }
  }
  if (totals.inserted + totals.updated > 0) {
    try {
      totals.refreshed = await store.refresh();
    } catch (error) {
      // The 5-minute EVENT computes the windows anyway.
      options.report(`cannot refresh the windows in ${store.target}: ${message(error)}`);
    }
  }
  const budget = source.budget?.();
  if (budget !== undefined) totals.budget = budget;
  totals.durationMs = Date.now() - started;
  return totals;
}

/**
 * Polls the source every interval (once with `once`) until the signal aborts, printing a summary
 * after each poll. Stops at once when the upstream refuses the credentials.
 */
export async function runFeed(options: RunFeedOptions): Promise<FeedRun> {
  let polls = 0;
  let ok = true;
  for (;;) {
    const started = Date.now();
    const totals = await pollOnce(options);
    if ('authError' in totals) return { polls, ok: false, authError: totals.authError };
    polls += 1;
    ok &&= totals.failed === 0 && totals.rejected === 0 && totals.notSent === 0;
    options.onPoll(totals);
    if (options.once || options.signal?.aborted) return { polls, ok };
    await sleep(started + options.intervalMs - Date.now(), options.signal);
    if (options.signal?.aborted) return { polls, ok };
  }
}
