import type { Connection } from 'mysql2/promise';
import { type BenchDatabase, createBenchDatabase } from '../lib/database.js';
import {
  assertSequenceEngine,
  BELGIAN_LAYOUT,
  createStations,
  rowsLabel,
  seriesCount,
} from '../lib/generate.js';
import { timeMs } from '../lib/measure.js';
import {
  loadHistoryAndWindows,
  measureRefresh,
  profileRefresh,
  type RefreshTiming,
  WITHOUT_INDEX,
} from '../lib/refresh-timing.js';
import { type Figure, figure } from '../lib/result.js';
import type { Scenario, ScenarioContext } from '../lib/scenario.js';

/**
 * Scenario 2, refresh: the procedure refresh_air_quality against the bare aggregate SELECT it
 * wraps, with a small and a large history (0.5M and 5M rows) around the same two windows (10k and
 * 100k rows). Targets: t(5M) / t(0.5M) ≤ 1.2 (the window query costs what the window holds) and
 * the procedure ≤ 1.3× its bare SELECT (writing a run costs little on top of reading the window).
 */

const DAY_MS = 86_400_000;
/** The instant the large window ends at; the small one ends a day earlier, history before it. */
const LARGE_END = new Date('2025-01-15T12:00:00.000Z');
const SMALL_END = new Date(LARGE_END.getTime() - DAY_MS);
const HISTORY_END = new Date(SMALL_END.getTime() - DAY_MS);

interface Sizes {
  readonly histories: readonly [number, number];
  readonly windows: readonly [number, number];
  /** Per window: the small window's round trips are short and noisier, so it gets more. */
  readonly repetitions: readonly [number, number];
}

const FULL: Sizes = {
  histories: [500_000, 5_000_000],
  windows: [10_000, 100_000],
  repetitions: [75, 25],
};
const QUICK: Sizes = {
  histories: [10_000, 100_000],
  windows: [1_000, 10_000],
  repetitions: [1, 1],
};

interface Case extends RefreshTiming {
  readonly history: number;
  readonly window: number;
}

/** One history size: a database of its own, loaded, and a connection to it. */
interface Dataset {
  readonly history: number;
  readonly bench: BenchDatabase;
  readonly connection: Connection;
}

async function openDataset(context: ScenarioContext, history: number, sizes: Sizes) {
  const bench = await createBenchDatabase(context.server, `refresh_${rowsLabel(history)}`);
  const connection = await bench.connect();
  await assertSequenceEngine(connection);
  await createStations(connection, BELGIAN_LAYOUT);
  context.log(`loading ${rowsLabel(history)} rows of history and both windows`);
  const ms = await timeMs(() =>
    loadHistoryAndWindows(connection, history, HISTORY_END, [
      { end: SMALL_END, rows: sizes.windows[0] },
      { end: LARGE_END, rows: sizes.windows[1] },
    ]),
  );
  context.log(`loaded in ${(ms / 1000).toFixed(1)} s`);
  return { history, bench, connection };
}

function figuresOf(cases: readonly Case[], sizes: Sizes, judge: boolean): Figure[] {
  const [small, large] = sizes.histories;
  const find = (history: number, window: number) =>
    cases.find((c) => c.history === history && c.window === window) as Case;
  const figures: Figure[] = cases.map((c) =>
    figure({
      measure: `procedure, ${rowsLabel(c.history)} history, ${rowsLabel(c.window)} window`,
      value: c.procedureMs,
      unit: 'ms',
      baseline: { measure: 'bare SELECT, same data', value: c.selectMs },
      ratioAtMost: 1.3,
      judge,
    }),
  );
  for (const window of sizes.windows) {
    figures.push(
      figure({
        measure: `procedure, ${rowsLabel(window)} window, ${rowsLabel(large)} history`,
        value: find(large, window).procedureMs,
        unit: 'ms',
        baseline: {
          measure: `same, ${rowsLabel(small)} history`,
          value: find(small, window).procedureMs,
        },
        ratioAtMost: 1.2,
        judge,
      }),
    );
  }
  for (const window of sizes.windows) {
    figures.push(
      figure({
        measure: `procedure per 10k window rows (${rowsLabel(window)} window, ${rowsLabel(large)} history)`,
        value: (find(large, window).procedureMs * 10_000) / window,
        unit: 'ms',
        judge,
      }),
    );
  }
  return figures;
}

async function run(context: ScenarioContext) {
  const started = Date.now();
  const sizes = context.quick ? QUICK : FULL;
  const judge = !context.quick;
  const datasets: Dataset[] = [];
  const cases: Case[] = [];
  const figures: Figure[] = [];
  let profile: string | undefined;
  try {
    for (const history of sizes.histories) {
      datasets.push(await openDataset(context, history, sizes));
    }
    for (const [end, window, repetitions] of [
      [SMALL_END, sizes.windows[0], sizes.repetitions[0]],
      [LARGE_END, sizes.windows[1], sizes.repetitions[1]],
    ] as const) {
      context.log(`${rowsLabel(window)} window: procedure and bare SELECT, ${repetitions}×`);
      const timings = await measureRefresh(
        datasets.map(({ connection }) => ({ connection, window })),
        end,
        repetitions,
      );
      timings.forEach((timing, i) => {
        cases.push({ ...timing, history: (datasets[i] as Dataset).history, window });
      });
    }
    figures.push(...figuresOf(cases, sizes, judge));
    // The profile of the first case that misses its target (in a smoke run, of the first case).
    const missed = cases.find((c) => context.quick || c.procedureMs > 1.3 * c.selectMs);
    if (missed) {
      const dataset = datasets.find((d) => d.history === missed.history) as Dataset;
      const end = missed.window === sizes.windows[0] ? SMALL_END : LARGE_END;
      profile =
        `${rowsLabel(missed.history)} history, ${rowsLabel(missed.window)} window. ` +
        (await profileRefresh(dataset.connection, end));
    }
    const largest = datasets[datasets.length - 1] as Dataset;
    context.log(`bare SELECT without the window index, ${rowsLabel(largest.history)} rows`);
    const withIndex = cases.find(
      (c) => c.history === largest.history && c.window === sizes.windows[1],
    );
    figures.push(
      figure({
        measure: `bare SELECT ignoring the window index, ${rowsLabel(largest.history)} history`,
        value: await timeMs(() => largest.connection.query(WITHOUT_INDEX, [LARGE_END, LARGE_END])),
        unit: 'ms',
        baseline: { measure: 'bare SELECT with it', value: withIndex?.selectMs ?? Number.NaN },
        judge,
      }),
    );
  } finally {
    for (const dataset of datasets) {
      await dataset.connection.end();
      await dataset.bench.drop();
    }
  }

  const notes = [
    `Data: ${BELGIAN_LAYOUT.cities} cities × ${BELGIAN_LAYOUT.locationsPerCity} stations × ` +
      `${BELGIAN_LAYOUT.pollutants.length} pollutants (${seriesCount(BELGIAN_LAYOUT)} series, ` +
      `${BELGIAN_LAYOUT.cities * BELGIAN_LAYOUT.pollutants.length} rows per run), made on the server ` +
      'with INSERT ... SELECT from seq_0_to_N in one bulk transaction. The history is older than ' +
      'both windows, which hold exactly the same rows at both history sizes (each run is checked ' +
      'to count them). Each history size has a database of its own, and one loop times the CALL ' +
      'and the bare SELECT on both, rotating the order, so that every ratio compares ' +
      `measurements a moment apart. Times are medians of ${sizes.repetitions.join(' (small window) and ')} (large) client-side round ` +
      'trips; each window is read once before timing.',
    `The procedure's own duration_ms (server side): ${cases
      .map((c) => `${rowsLabel(c.history)}/${rowsLabel(c.window)} ${c.serverMs.toFixed(1)} ms`)
      .join(', ')}.`,
  ];
  return {
    scenario: 'refresh',
    title: `2. Refresh: the procedure against its bare SELECT, ${rowsLabel(sizes.histories[0])} and ${rowsLabel(sizes.histories[1])} rows of history`,
    figures,
    notes,
    ...(profile ? { profile } : {}),
    seconds: (Date.now() - started) / 1000,
  };
}

export const refresh: Scenario = { name: 'refresh', run };
