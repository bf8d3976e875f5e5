import type { MeasurementInput } from '../../client/measurement.js';
import type { IngestResult } from '../../ingest/ingest-measurements.js';
import { sleep } from '../../util/sleep.js';
import type { MeasurementGenerator } from './generate.js';

/** Where generated measurements go: the API over HTTP, or the database directly. */
export interface MeasurementSink {
  ingest(items: MeasurementInput[]): Promise<IngestResult>;
  /** Computes the current window now instead of waiting for the 5-minute EVENT. */
  refresh?(): Promise<void>;
}

export interface GeneratorTotals {
  generated: number;
  sent: number;
  inserted: number;
  updated: number;
  unchanged: number;
  rejected: number;
  /** Rejection reasons and how often each came back. */
  reasons: Map<string, number>;
  /** Items of batches the sink failed to take (after the client's own retries). */
  failed: number;
  lastError?: string;
  /** Items the schedule gave up on because the sink could not keep up. */
  skipped: number;
  elapsedMs: number;
  /** Items the sink took per minute over the run. */
  achievedPerMinute: number;
}

/** Time as the generator sees it: the real one, or a test's, which moves only when told. */
export interface GeneratorClock {
  now(): number;
  /** Resolves after ms, or at once when the signal aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: GeneratorClock = { now: () => Date.now(), sleep };

export interface RunGeneratorOptions {
  readonly generator: MeasurementGenerator;
  readonly sink: MeasurementSink;
  readonly perMinute: number;
  /** Most items per request. Default 1000. */
  readonly batchSize?: number;
  /** Longest an item waits before it is sent. Default 1000 ms. */
  readonly flushIntervalMs?: number;
  /** Stop by itself after this long; default: until the signal aborts. */
  readonly durationMs?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (totals: GeneratorTotals) => void;
  readonly progressIntervalMs?: number;
  readonly clock?: GeneratorClock;
}

export function emptyTotals(): GeneratorTotals {
  return {
    generated: 0,
    sent: 0,
    inserted: 0,
    updated: 0,
    unchanged: 0,
    rejected: 0,
    reasons: new Map(),
    failed: 0,
    skipped: 0,
    elapsedMs: 0,
    achievedPerMinute: 0,
  };
}

/** Sends one batch and adds its outcome to the totals; a failed batch is counted, not thrown. */
export async function sendBatch(
  sink: MeasurementSink,
  items: MeasurementInput[],
  totals: GeneratorTotals,
): Promise<void> {
  try {
    const result = await sink.ingest(items);
    totals.sent += items.length;
    totals.inserted += result.inserted;
    totals.updated += result.updated;
    totals.unchanged += result.unchanged;
    totals.rejected += result.rejected.length;
    for (const { reason } of result.rejected) {
      totals.reasons.set(reason, (totals.reasons.get(reason) ?? 0) + 1);
    }
  } catch (error) {
    totals.failed += items.length;
    totals.lastError = error instanceof Error ? error.message : String(error);
  }
}

/**
 * Generates measurements at a steady rate and sends them in batches. The schedule is kept by the
 * clock, not by sleeping a fixed time per item: item k is due at start + k / rate, and after every
 * wait or slow request the loop makes all items that fell due meanwhile, so the rate holds over
 * time whatever each request costs. If the sink falls more than a few seconds behind, the
 * overdue items are skipped and counted instead of piling up in memory.
 *
 * On abort, what was generated is still sent, then the totals are returned.
 */
export async function runGenerator(options: RunGeneratorOptions): Promise<GeneratorTotals> {
  const clock = options.clock ?? realClock;
  const now = () => clock.now();
  const { generator, sink, perMinute, signal } = options;
  const batchSize = options.batchSize ?? 1000;
  const flushIntervalMs = options.flushIntervalMs ?? 1000;
  const progressIntervalMs = options.progressIntervalMs ?? 5000;
  const msPerItem = 60_000 / perMinute;
  const maxBacklog = Math.max(batchSize, Math.ceil(perMinute / 6)); // ten seconds' worth
  const totals = emptyTotals();
  const start = now();
  const stopAt = options.durationMs === undefined ? Infinity : start + options.durationMs;
  let queue: MeasurementInput[] = [];
  let lastFlush = start;
  let lastProgress = start;

  const finish = () => {
    totals.elapsedMs = Math.max(1, now() - start);
    totals.achievedPerMinute = (totals.sent * 60_000) / totals.elapsedMs;
    return totals;
  };

  for (;;) {
    const t = now();
    const stopping = signal?.aborted === true || t >= stopAt;
    const due = Math.floor((Math.min(t, stopAt) - start) / msPerItem);
    let owed = due - totals.generated - totals.skipped;
    if (owed > maxBacklog) {
      totals.skipped += owed - maxBacklog;
      owed = maxBacklog;
    }
    if (owed > 0 && signal?.aborted !== true) {
      queue.push(...generator.batch(owed, t));
      totals.generated += owed;
    }
    while (queue.length >= batchSize) await sendBatch(sink, queue.splice(0, batchSize), totals);
    if (queue.length > 0 && (stopping || now() - lastFlush >= flushIntervalMs)) {
      const batch = queue;
      queue = [];
      await sendBatch(sink, batch, totals);
    }
    if (queue.length === 0) lastFlush = now();
    if (stopping) return finish();
    if (options.onProgress && now() - lastProgress >= progressIntervalMs) {
      lastProgress = now();
      options.onProgress({ ...finish(), reasons: new Map(totals.reasons) });
    }
    const nextItem = start + (totals.generated + totals.skipped + 1) * msPerItem;
    const nextFlush = queue.length > 0 ? lastFlush + flushIntervalMs : Infinity;
    await clock.sleep(Math.min(nextItem, nextFlush, stopAt) - now(), signal);
  }
}

export interface BackfillOptions {
  readonly generator: MeasurementGenerator;
  readonly sink: MeasurementSink;
  readonly hours: number;
  /** The live rate: the past is filled about as densely, at most once a minute per series. */
  readonly perMinute: number;
  readonly seriesCount: number;
  readonly batchSize?: number;
  readonly signal?: AbortSignal;
  readonly onBatch?: (totals: GeneratorTotals) => void;
  /** Only its now() is read: the backfill sends as fast as the sink takes. */
  readonly clock?: GeneratorClock;
}

/** Fills the past `hours` at once, then asks the sink to compute the window. */
export async function runBackfill(options: BackfillOptions): Promise<GeneratorTotals> {
  const clock = options.clock ?? realClock;
  const now = () => clock.now();
  const batchSize = options.batchSize ?? 1000;
  const start = now();
  const intervalMs = Math.max(
    60_000,
    Math.ceil((options.seriesCount * 60_000) / options.perMinute),
  );
  const totals = emptyTotals();
  const queue: MeasurementInput[] = [];
  const flush = async (count: number) => {
    await sendBatch(options.sink, queue.splice(0, count), totals);
    options.onBatch?.(totals);
  };
  const from = start - options.hours * 3_600_000;
  for (const items of options.generator.backfill(from, start, intervalMs)) {
    if (options.signal?.aborted) break;
    queue.push(...items);
    totals.generated += items.length;
    while (queue.length >= batchSize) await flush(batchSize);
  }
  if (queue.length > 0) await flush(queue.length);
  if (totals.sent > 0 && options.sink.refresh) {
    try {
      await options.sink.refresh();
    } catch (error) {
      totals.lastError = `refresh: ${error instanceof Error ? error.message : String(error)}`;
    }
  }
  totals.elapsedMs = Math.max(1, now() - start);
  totals.achievedPerMinute = (totals.sent * 60_000) / totals.elapsedMs;
  return totals;
}
