import type { Connection } from 'mysql2/promise';
import { type BenchDatabase, createBenchDatabase } from '../lib/database.js';
import {
  analyzeMeasurements,
  assertSequenceEngine,
  BELGIAN_LAYOUT,
  bulkLoad,
  createStations,
  emptyMeasurements,
  insertSeries,
  seriesCount,
} from '../lib/generate.js';
import { median, timeMs } from '../lib/measure.js';
import { type Figure, plainFigure, ratioFigure } from '../lib/result.js';
import type { Scenario, ScenarioContext } from '../lib/scenario.js';

/**
 * Scenario 2, refresh: the procedure refresh_air_quality against the bare aggregate SELECT it
 * wraps, with a small and a large history (0.5M and 5M rows) around the same two windows (10k and
 * 100k rows). Targets: t(5M) / t(0.5M) ≤ 1.2 (the window query costs what the window holds) and
 * the procedure ≤ 1.3× its bare SELECT (writing a run costs little on top of reading the window).
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const WINDOW_MS = 3 * HOUR_MS;
/** The instant the large window ends at; the small one ends a day earlier, history before it. */
const LARGE_END = new Date('2025-01-15T12:00:00.000Z');
const SMALL_END = new Date(LARGE_END.getTime() - DAY_MS);
const HISTORY_END = new Date(SMALL_END.getTime() - DAY_MS);
const HISTORY_STEP_MS = 60_000;

/**
 * The inner SELECT of refresh_air_quality (sql/040-refresh-air-quality.sql), hints included, as a
 * client would send it: the baseline of what reading the window costs.
 */
export function bareWindowSelect(indexHint: string): string {
  return `/* bareWindowSelect */
    SELECT l.city_id, m.pollutant,
           AVG(m.value) AS average, MIN(m.value) AS min, MAX(m.value) AS max,
           COUNT(*) AS count, COUNT(DISTINCT m.location_id) AS locations,
           MAX(m.measured_at) AS latest_measured_at
    FROM measurement m ${indexHint}
    STRAIGHT_JOIN location l ON l.id = m.location_id
    WHERE m.measured_at > ? - INTERVAL 3 HOUR AND m.measured_at <= ?
    GROUP BY l.city_id, m.pollutant`;
}

const WITH_INDEX = bareWindowSelect('FORCE INDEX (measurement_window)');
const WITHOUT_INDEX = bareWindowSelect('IGNORE INDEX (measurement_window)');

interface Sizes {
  readonly histories: readonly number[];
  readonly windows: readonly [number, number];
  readonly repetitions: number;
}

const FULL: Sizes = {
  histories: [500_000, 5_000_000],
  windows: [10_000, 100_000],
  repetitions: 15,
};
const QUICK: Sizes = { histories: [10_000, 100_000], windows: [1_000, 10_000], repetitions: 1 };

interface Case {
  readonly history: number;
  readonly window: number;
  readonly procedureMs: number;
  readonly selectMs: number;
  /** The procedure's own duration_ms (server side, no round trip). */
  readonly serverMs: number;
}

function rowsLabel(rows: number): string {
  return rows >= 1_000_000 ? `${rows / 1_000_000}M` : `${rows / 1_000}k`;
}

async function loadData(connection: Connection, history: number, windows: Sizes['windows']) {
  const series = seriesCount(BELGIAN_LAYOUT);
  const { pollutants } = BELGIAN_LAYOUT;
  await emptyMeasurements(connection);
  await bulkLoad(connection, async () => {
    await insertSeries(connection, {
      end: HISTORY_END,
      perSeries: history / series,
      stepMs: HISTORY_STEP_MS,
      pollutants,
    });
    for (const [end, rows] of [
      [SMALL_END, windows[0]],
      [LARGE_END, windows[1]],
    ] as const) {
      const perSeries = rows / series;
      await insertSeries(connection, { end, perSeries, stepMs: WINDOW_MS / perSeries, pollutants });
    }
  });
  await analyzeMeasurements(connection);
}

async function callRefresh(connection: Connection, at: Date): Promise<void> {
  await connection.query('CALL refresh_air_quality(?)', [at]);
}

/** Runs the procedure once and checks the run holds exactly the window's rows and cities. */
async function checkRun(connection: Connection, at: Date, window: number): Promise<void> {
  await callRefresh(connection, at);
  const [rows] = (await connection.query(
    '/* checkRun */ SELECT measurements, cities FROM air_quality_run WHERE id = @refresh_air_quality_run_id',
  )) as unknown as [{ measurements: number; cities: number }[]];
  const run = rows[0];
  if (run?.measurements !== window || run.cities !== BELGIAN_LAYOUT.cities) {
    throw new Error(
      `the run at ${at.toISOString()} aggregated ${run?.measurements} rows of ${run?.cities} cities, expected ${window} of ${BELGIAN_LAYOUT.cities}`,
    );
  }
}

/** One history size: its own database, loaded, and a connection to it. */
interface Dataset {
  readonly history: number;
  readonly bench: BenchDatabase;
  readonly connection: Connection;
}

interface Samples {
  readonly procedure: number[];
  readonly select: number[];
}

/**
 * Times the procedure and the bare SELECT on every dataset for one window, in one loop: each
 * repetition visits every dataset and both statements, rotating the order, so that the ratios
 * compare measurements taken a moment apart on a shared, noisy machine.
 */
async function measureWindow(
  datasets: readonly Dataset[],
  window: number,
  at: Date,
  repetitions: number,
): Promise<Case[]> {
  const samples = new Map<Dataset, Samples>();
  for (const dataset of datasets) {
    await checkRun(dataset.connection, at, window);
    await dataset.connection.query(WITH_INDEX, [at, at]);
    samples.set(dataset, { procedure: [], select: [] });
  }
  const steps = datasets.flatMap((dataset) => {
    const { connection } = dataset;
    const sample = samples.get(dataset) as Samples;
    return [
      async () => sample.procedure.push(await timeMs(() => callRefresh(connection, at))),
      async () => sample.select.push(await timeMs(() => connection.query(WITH_INDEX, [at, at]))),
    ];
  });
  for (let i = 0; i < repetitions; i += 1) {
    for (let j = 0; j < steps.length; j += 1)
      await (steps[(i + j) % steps.length] as () => Promise<unknown>)();
  }
  const cases: Case[] = [];
  for (const dataset of datasets) {
    const sample = samples.get(dataset) as Samples;
    const [server] = (await dataset.connection.query(
      '/* measureWindow */ SELECT duration_ms AS ms FROM air_quality_run WHERE evaluated_at = ? ORDER BY id DESC LIMIT ?',
      [at, repetitions],
    )) as unknown as [{ ms: number }[]];
    cases.push({
      history: dataset.history,
      window,
      procedureMs: median(sample.procedure),
      selectMs: median(sample.select),
      serverMs: median(server.map((row) => row.ms)),
    });
  }
  return cases;
}

async function openDataset(
  context: ScenarioContext,
  history: number,
  windows: Sizes['windows'],
): Promise<Dataset> {
  const bench = await createBenchDatabase(context.server, `refresh_${rowsLabel(history)}`);
  const connection = await bench.connect();
  await assertSequenceEngine(connection);
  await createStations(connection, BELGIAN_LAYOUT);
  context.log(
    `loading ${rowsLabel(history)} rows of history and both windows into ${bench.db.database}`,
  );
  const loadMs = await timeMs(() => loadData(connection, history, windows));
  context.log(`loaded in ${(loadMs / 1000).toFixed(1)} s`);
  return { history, bench, connection };
}

async function run(context: ScenarioContext) {
  const started = Date.now();
  const sizes = context.quick ? QUICK : FULL;
  const judge = !context.quick;
  const datasets: Dataset[] = [];
  const cases: Case[] = [];
  let withoutIndex: { ms: number; withIndexMs: number; history: number } | undefined;
  try {
    for (const history of sizes.histories)
      datasets.push(await openDataset(context, history, sizes.windows));
    const ends = [SMALL_END, LARGE_END] as const;
    for (const [i, window] of sizes.windows.entries()) {
      context.log(
        `window ${rowsLabel(window)}: procedure and bare SELECT, ${sizes.repetitions} times each`,
      );
      cases.push(...(await measureWindow(datasets, window, ends[i] as Date, sizes.repetitions)));
    }
    const largest = datasets[datasets.length - 1] as Dataset;
    context.log(`bare SELECT without the window index, ${rowsLabel(largest.history)} rows`);
    const withIndex = cases.find(
      (c) => c.history === largest.history && c.window === sizes.windows[1],
    );
    withoutIndex = {
      ms: await timeMs(() => largest.connection.query(WITHOUT_INDEX, [LARGE_END, LARGE_END])),
      withIndexMs: withIndex?.selectMs ?? Number.NaN,
      history: largest.history,
    };
  } finally {
    for (const dataset of datasets) {
      await dataset.connection.end();
      await dataset.bench.drop();
    }
  }

  const figures: Figure[] = [];
  for (const c of cases) {
    figures.push(
      ratioFigure({
        measure: `procedure, ${rowsLabel(c.history)} history, ${rowsLabel(c.window)} window`,
        value: c.procedureMs,
        unit: 'ms',
        baseline: { measure: 'bare SELECT, same data', value: c.selectMs },
        atMost: 1.3,
        judge,
      }),
    );
  }
  const [small, large] = sizes.histories as [number, number];
  for (const window of sizes.windows) {
    const before = cases.find((c) => c.history === small && c.window === window) as Case;
    const after = cases.find((c) => c.history === large && c.window === window) as Case;
    figures.push(
      ratioFigure({
        measure: `procedure, ${rowsLabel(window)} window, ${rowsLabel(large)} history`,
        value: after.procedureMs,
        unit: 'ms',
        baseline: { measure: `same, ${rowsLabel(small)} history`, value: before.procedureMs },
        atMost: 1.2,
        judge,
      }),
    );
  }
  for (const c of cases.filter((x) => x.history === large)) {
    figures.push(
      plainFigure({
        measure: `procedure per 10k window rows (${rowsLabel(c.window)} window)`,
        value: (c.procedureMs * 10_000) / c.window,
        unit: 'ms',
        judge,
      }),
    );
  }
  if (withoutIndex) {
    figures.push(
      ratioFigure({
        measure: `bare SELECT ignoring the window index, ${rowsLabel(withoutIndex.history)} history`,
        value: withoutIndex.ms,
        unit: 'ms',
        baseline: { measure: 'bare SELECT with it', value: withoutIndex.withIndexMs },
        judge,
      }),
    );
  }
  const notes = [
    `Data: ${BELGIAN_LAYOUT.cities} cities × ${BELGIAN_LAYOUT.locationsPerCity} stations × ` +
      `${BELGIAN_LAYOUT.pollutants.length} pollutants (${seriesCount(BELGIAN_LAYOUT)} series, ` +
      `${BELGIAN_LAYOUT.cities * BELGIAN_LAYOUT.pollutants.length} rows per run), made on the server ` +
      'with INSERT ... SELECT from seq_0_to_N in one bulk transaction. The history is older than ' +
      'both windows, which hold exactly the same rows at both history sizes (each run is checked ' +
      'to count them). Each history size has a database of its own, and one loop times the CALL ' +
      'and the bare SELECT on both, rotating the order, so that every ratio compares ' +
      `measurements a moment apart. Times are medians of ${sizes.repetitions} client-side round ` +
      'trips; each window is read once before timing.',
    `The procedure's own duration_ms (server side): ${cases
      .map((c) => `${rowsLabel(c.history)}/${rowsLabel(c.window)} ${c.serverMs.toFixed(1)} ms`)
      .join(', ')}.`,
  ];
  return {
    scenario: 'refresh',
    title: `2. Refresh: the procedure against its bare SELECT, ${small === undefined ? '' : rowsLabel(small)} and ${rowsLabel(large)} rows of history`,
    figures,
    notes,
    seconds: (Date.now() - started) / 1000,
  };
}

export const refresh: Scenario = { name: 'refresh', run };
