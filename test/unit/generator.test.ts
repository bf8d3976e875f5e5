import { describe, expect, it } from 'vitest';
import type { MeasurementInput } from '../../src/client/measurement.js';
import { CITIES, STATIONS } from '../../src/sources/generator/belgium.js';
import { createMeasurementGenerator, SERIES } from '../../src/sources/generator/generate.js';
import {
  belgianHour,
  belgianOffsetHours,
  dailyFactor,
} from '../../src/sources/generator/levels.js';
import { runGenerator } from '../../src/sources/generator/run-generator.js';
import { backfillThreeHours, THREE_HOURS_OF_BACKFILL } from '../helpers/backfill.js';
import { fakeClock } from '../helpers/fake-clock.js';
import { fakeSink } from '../helpers/fake-sink.js';

// The test-data generator without a database: what it makes, and when it sends it, on a clock that
// moves only when the generator sleeps or the sink takes time. test/generate-test-data.test.ts runs
// the script against MariaDB and the API.

describe('the generated data', () => {
  it('covers the original eight cities at their coordinates, with stations in each', () => {
    expect(CITIES.map((c) => [c.name, c.latitude, c.longitude])).toEqual([
      ['Genk', 50.965, 5.5008],
      ['Diepenbeek', 50.9077, 5.4191],
      ['Leuven', 50.8798, 4.7005],
      ['Antwerpen', 51.2194, 4.4025],
      ['Hasselt', 50.9307, 5.3325],
      ['Brussel', 50.8467, 4.3525],
      ['Gent', 51.0543, 3.7174],
      ['Landen', 50.7528, 5.082],
    ]);
    for (const city of CITIES) {
      const stations = STATIONS.filter((s) => s.city === city.name);
      expect(stations.length, city.name).toBeGreaterThanOrEqual(2);
      for (const station of stations) {
        // within 5 km of the town centre
        expect(Math.abs(station.latitude - city.latitude), station.code).toBeLessThan(0.045);
        expect(Math.abs(station.longitude - city.longitude), station.code).toBeLessThan(0.07);
        expect(station.code).toMatch(/^BET[RNB]\d{3}$/);
      }
    }
    expect(new Set(STATIONS.map((s) => s.code)).size).toBe(STATIONS.length);
    expect(new Set(SERIES.map((s) => s.pollutant))).toEqual(
      new Set(['pm25', 'pm10', 'no2', 'o3', 'so2', 'co', 'bc']),
    );
    expect(new Set(SERIES.filter((s) => s.unit === 'ppm').map((s) => s.pollutant))).toEqual(
      new Set(['no2', 'o3', 'so2', 'co']),
    );
  });

  it('follows the day: traffic peaks in the rush hours, ozone in the afternoon, in Belgian time', () => {
    expect(dailyFactor('traffic', 8)).toBeGreaterThan(1.2);
    expect(dailyFactor('traffic', 18)).toBeGreaterThan(1.2);
    expect(dailyFactor('traffic', 3)).toBeLessThan(0.7);
    expect(dailyFactor('sunlight', 15)).toBe(1.5);
    expect(dailyFactor('sunlight', 3)).toBe(0.5);
    expect(belgianOffsetHours(Date.parse('2026-01-15T12:00:00Z'))).toBe(1);
    expect(belgianOffsetHours(Date.parse('2026-03-29T00:59:59Z'))).toBe(1);
    expect(belgianOffsetHours(Date.parse('2026-03-29T01:00:00Z'))).toBe(2);
    expect(belgianOffsetHours(Date.parse('2026-10-25T00:59:59Z'))).toBe(2);
    expect(belgianOffsetHours(Date.parse('2026-10-25T01:00:00Z'))).toBe(1);
    expect(belgianHour(Date.parse('2026-07-01T06:30:00Z'))).toBe(8.5);
  });

  it('is reproducible: the same seed and clock give the same measurements, another seed others', () => {
    const now = Date.parse('2026-11-27T12:00:00.000Z');
    const run = (seed: string) => {
      const generator = createMeasurementGenerator({ seed });
      return [generator.batch(500, now), generator.batch(500, now + 1000)];
    };
    const first = run('belgium');
    expect(run('belgium')).toEqual(first);
    expect(run('another')).not.toEqual(first);
  });

  it('mixes in late, repeated and corrected measurements, repeating earlier batches only', () => {
    const now = Date.parse('2026-11-27T12:00:00.000Z');
    const generator = createMeasurementGenerator({ seed: 'mix' });
    const key = (m: MeasurementInput) =>
      `${m.location}|${m.parameter}|${(m.measuredAt as Date).toISOString()}`;
    const age = (m: MeasurementInput, at: number) => at - (m.measuredAt as Date).getTime();

    const first = generator.batch(2000, now);
    // Nothing was sent before the first batch, so nothing in it is a repeat.
    expect(new Set(first.map(key)).size).toBe(2000);
    expect([generator.made.repeat, generator.made.correction]).toEqual([0, 0]);
    // Late ones are 20 to 170 minutes old, the others at most 10 minutes.
    expect(first.filter((m) => age(m, now) >= 20 * 60_000).length).toBe(generator.made.late);
    expect(generator.made.late).toBeGreaterThan(150);
    expect(first.every((m) => age(m, now) > 0 && age(m, now) <= 170 * 60_000)).toBe(true);

    const second = generator.batch(2000, now + 60_000);
    const firstKeys = new Set(first.map(key));
    const again = second.filter((m) => firstKeys.has(key(m)));
    expect(again.length).toBe(generator.made.repeat + generator.made.correction);
    expect(generator.made.repeat).toBeGreaterThan(40);
    expect(generator.made.correction).toBeGreaterThan(10);
  });
});

/** An instant on a whole minute: the generator's batches and backfills start there. */
const START = Date.parse('2026-11-27T12:00:00.000Z');

/** A run of the generator on a fake clock and a fake sink, with what the sink was sent. */
async function run(options: {
  perMinute: number;
  durationMs?: number;
  batchSize?: number;
  latencyMs?: number;
  abortAt?: number;
}) {
  const clock = fakeClock(START);
  const sink = fakeSink(clock, { latencyMs: options.latencyMs ?? 0 });
  const controller = new AbortController();
  if (options.abortAt !== undefined) clock.at(options.abortAt, () => controller.abort());
  const progress: { elapsedMs: number; generated: number; sent: number }[] = [];
  const totals = await runGenerator({
    generator: createMeasurementGenerator({ seed: 'schedule' }),
    sink,
    clock,
    signal: controller.signal,
    perMinute: options.perMinute,
    ...(options.durationMs === undefined ? {} : { durationMs: options.durationMs }),
    ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
    onProgress: ({ elapsedMs, generated, sent }) => progress.push({ elapsedMs, generated, sent }),
  });
  return { totals, requests: sink.requests, progress, sleeps: clock.sleeps };
}

/** Requests of `items` each at every `everyMs`, from `everyMs` on, `count` of them. */
const every = (everyMs: number, items: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({ at: (i + 1) * everyMs, items }));

describe('runGenerator, on a fake clock', () => {
  it('keeps the asked rate exactly: 6,000/min for 10 s are 1,000 items, sent once a second', async () => {
    const { totals, requests, progress, sleeps } = await run({
      perMinute: 6000,
      durationMs: 10_000,
    });
    // An item is due every 10 ms; waiting items go out once they have waited a second (the flush
    // interval), the last ones when the run ends.
    expect(requests).toEqual(every(1000, 100, 10));
    expect(sleeps).toEqual(Array(1000).fill(10));
    expect(totals).toMatchObject({
      generated: 1000,
      sent: 1000,
      inserted: 1000,
      failed: 0,
      skipped: 0,
      elapsedMs: 10_000,
      achievedPerMinute: 6000,
    });
    // Progress every 5 s while it runs (the end has the summary instead).
    expect(progress).toEqual([{ elapsedMs: 5000, generated: 500, sent: 500 }]);
  });

  it('sends a full batch at once, without waiting for the flush interval', async () => {
    const { totals, requests } = await run({ perMinute: 6000, durationMs: 10_000, batchSize: 50 });
    expect(requests).toEqual(every(500, 50, 20));
    expect([totals.sent, totals.achievedPerMinute]).toEqual([1000, 6000]);
  });

  it('catches up after a slow request: the items due meanwhile are made at once', async () => {
    // 10 a second, each request taking 2 s: the first (10 items, at 1 s) ends at 3 s, when the 20
    // items due meanwhile are made; the next request leaves a second later with 30, and so on.
    const { totals, requests, progress } = await run({
      perMinute: 600,
      durationMs: 10_000,
      latencyMs: 2000,
    });
    expect(requests).toEqual([
      { at: 1000, items: 10 },
      { at: 4000, items: 30 },
      { at: 7000, items: 30 },
      { at: 10_000, items: 30 },
    ]);
    // Every item due in the 10 s was made and sent; the last request ended at 12 s.
    expect(totals).toMatchObject({
      generated: 100,
      sent: 100,
      skipped: 0,
      elapsedMs: 12_000,
      achievedPerMinute: 500,
    });
    expect(progress).toEqual([{ elapsedMs: 6000, generated: 40, sent: 40 }]);
  });

  it('skips, and counts, what falls more than ten seconds behind instead of piling it up', async () => {
    // 100 a second, each request taking 15 s: at 16 s, 1,500 items are owed, more than the
    // 1,000 (ten seconds' worth) it keeps: 500 skipped; at 31 s, 1,400 owed up to the end at
    // 30 s: 400 more skipped.
    const { totals, requests } = await run({
      perMinute: 6000,
      durationMs: 30_000,
      latencyMs: 15_000,
    });
    expect(requests).toEqual([
      { at: 1000, items: 100 },
      { at: 16_000, items: 1000 },
      { at: 31_000, items: 1000 },
    ]);
    expect(totals).toMatchObject({ generated: 2100, sent: 2100, skipped: 900, elapsedMs: 46_000 });
    // Every item due in the 30 s was either made or skipped.
    expect(totals.generated + totals.skipped).toBe(3000);
  });

  it('on abort, sends what it made and stops', async () => {
    const { totals, requests } = await run({ perMinute: 6000, abortAt: 2495 });
    // Items 201 to 249 were waiting for their flush at 3 s.
    expect(requests).toEqual([...every(1000, 100, 2), { at: 2495, items: 49 }]);
    expect(totals).toMatchObject({ generated: 249, sent: 249, skipped: 0, elapsedMs: 2495 });
  });
});

describe('runBackfill, on a fake clock', () => {
  it('sends the past hours in full batches, the rest last, then refreshes once', async () => {
    const clock = fakeClock(START);
    const sink = fakeSink(clock, { latencyMs: 100 });
    const totals = await backfillThreeHours(sink, 'backfill', clock);
    const expected = THREE_HOURS_OF_BACKFILL;
    const full = Math.floor(expected / 1000);
    expect(sink.requests).toEqual([
      ...Array.from({ length: full }, (_, i) => ({ at: i * 100, items: 1000 })),
      { at: full * 100, items: expected % 1000 },
    ]);
    expect(sink.refreshes).toEqual([(full + 1) * 100]);
    expect(totals).toMatchObject({ generated: expected, sent: expected, failed: 0 });
    expect(totals.elapsedMs).toBe((full + 1) * 100);
  });
});
