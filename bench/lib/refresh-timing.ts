import type { Connection } from 'mysql2/promise';
import {
  analyzeMeasurements,
  BELGIAN_LAYOUT,
  bulkLoad,
  emptyMeasurements,
  insertSeries,
  seriesCount,
} from './generate.js';
import { median, sleep, timeMs } from './measure.js';
import { markdownTable } from './report.js';

/** Timing refresh_air_quality against the bare aggregate SELECT it wraps. */

const WINDOW_MS = 3 * 3_600_000;

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

export const WITH_INDEX = bareWindowSelect('FORCE INDEX (measurement_window)');
export const WITHOUT_INDEX = bareWindowSelect('IGNORE INDEX (measurement_window)');

export interface WindowSpec {
  /** The instant the window ends at (p_at). */
  readonly end: Date;
  /** Rows in the window: a multiple of the layout's series. */
  readonly rows: number;
}

/**
 * Empties measurement and loads, in one bulk transaction, `history` rows (maybe 0) one minute apart per
 * series ending at historyEnd, then each window's rows spread evenly over its three hours. The
 * windows must lie after historyEnd (and after each other's three hours) to hold exactly their
 * rows.
 */
export async function loadHistoryAndWindows(
  connection: Connection,
  history: number,
  historyEnd: Date,
  windows: readonly WindowSpec[],
): Promise<void> {
  const series = seriesCount(BELGIAN_LAYOUT);
  const { pollutants } = BELGIAN_LAYOUT;
  await emptyMeasurements(connection);
  await bulkLoad(connection, async () => {
    if (history > 0) {
      await insertSeries(connection, {
        end: historyEnd,
        perSeries: history / series,
        stepMs: 60_000,
        pollutants,
      });
    }
    for (const window of windows) {
      const perSeries = window.rows / series;
      await insertSeries(connection, {
        end: window.end,
        perSeries,
        stepMs: WINDOW_MS / perSeries,
        pollutants,
      });
    }
  });
  await analyzeMeasurements(connection);
  await settle(connection);
}

/**
 * Waits (at most maxMs) until InnoDB has written most of the pages a bulk load left dirty, so
 * that the flushing of a load does not run under the first measurements.
 */
export async function settle(connection: Connection, maxMs = 20_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  for (;;) {
    const [rows] = (await connection.query(
      `/* settle */ SELECT
         MAX(CASE WHEN VARIABLE_NAME = 'INNODB_BUFFER_POOL_PAGES_DIRTY' THEN VARIABLE_VALUE END) AS dirty,
         MAX(CASE WHEN VARIABLE_NAME = 'INNODB_BUFFER_POOL_PAGES_TOTAL' THEN VARIABLE_VALUE END) AS total
       FROM information_schema.GLOBAL_STATUS
       WHERE VARIABLE_NAME IN ('INNODB_BUFFER_POOL_PAGES_DIRTY', 'INNODB_BUFFER_POOL_PAGES_TOTAL')`,
    )) as unknown as [{ dirty: string; total: string }[]];
    const dirty = Number(rows[0]?.dirty ?? 0);
    const total = Number(rows[0]?.total ?? 1);
    if (dirty <= total * 0.05 || Date.now() > deadline) return;
    await sleep(500);
  }
}

export async function callRefresh(connection: Connection, at: Date): Promise<void> {
  await connection.query('CALL refresh_air_quality(?)', [at]);
}

/** Runs the procedure once and checks the run holds exactly the window's rows and cities. */
export async function checkRun(connection: Connection, at: Date, window: number): Promise<void> {
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

/** A database to time the refresh on, and the rows its window at `at` holds. */
export interface RefreshTarget {
  readonly connection: Connection;
  readonly window: number;
}

export interface RefreshTiming {
  /** Medians, milliseconds, client side. */
  readonly procedureMs: number;
  readonly selectMs: number;
  /** The procedure's own duration_ms (server side, no round trip). */
  readonly serverMs: number;
}

/**
 * Times the procedure and the bare SELECT for the window ending at `at` on every target, in one
 * loop: each repetition visits every target and both statements, rotating the order, so that the
 * ratios compare measurements taken a moment apart on a shared, noisy machine. Each target's run
 * is checked first, and its window read once before timing. Results in the targets' order.
 */
export async function measureRefresh(
  targets: readonly RefreshTarget[],
  at: Date,
  repetitions: number,
): Promise<RefreshTiming[]> {
  const samples = targets.map(() => ({ procedure: [] as number[], select: [] as number[] }));
  for (const target of targets) {
    await checkRun(target.connection, at, target.window);
    await target.connection.query(WITH_INDEX, [at, at]);
  }
  const steps = targets.flatMap(({ connection }, i) => {
    const sample = samples[i] as { procedure: number[]; select: number[] };
    return [
      async () => sample.procedure.push(await timeMs(() => callRefresh(connection, at))),
      async () => sample.select.push(await timeMs(() => connection.query(WITH_INDEX, [at, at]))),
    ];
  });
  for (let i = 0; i < repetitions; i += 1) {
    for (let j = 0; j < steps.length; j += 1) {
      await (steps[(i + j) % steps.length] as () => Promise<unknown>)();
    }
  }
  const timings: RefreshTiming[] = [];
  for (const [i, { connection }] of targets.entries()) {
    const sample = samples[i] as { procedure: number[]; select: number[] };
    const [server] = (await connection.query(
      '/* measureRefresh */ SELECT duration_ms AS ms FROM air_quality_run WHERE evaluated_at = ? ORDER BY id DESC LIMIT ?',
      [at, repetitions],
    )) as unknown as [{ ms: number }[]];
    timings.push({
      procedureMs: median(sample.procedure),
      selectMs: median(sample.select),
      serverMs: median(server.map((row) => row.ms)),
    });
  }
  return timings;
}

function oneLine(sql: string, length = 90): string {
  const text = sql.replace(/\s+/g, ' ').trim();
  return text.length > length ? `${text.slice(0, length)}…` : text;
}

/**
 * What one run is made of, server side: the duration of each statement of the procedure and of
 * the bare SELECT (SHOW PROFILES), and the bare SELECT's plan. The profile of a missed refresh
 * target.
 */
export async function profileRefresh(connection: Connection, at: Date): Promise<string> {
  await connection.query('SET SESSION profiling = 1, SESSION profiling_history_size = 100');
  try {
    await callRefresh(connection, at);
    await connection.query(WITH_INDEX, [at, at]);
    const [profiles] = (await connection.query('SHOW PROFILES')) as unknown as [
      { Duration: number; Query: string }[],
    ];
    const [plan] = (await connection.query(`EXPLAIN ${WITH_INDEX}`, [at, at])) as unknown as [
      Record<string, unknown>[],
    ];
    const statements = profiles
      .filter((p) => !/^SET SESSION profiling/i.test(p.Query))
      .map((p) => [oneLine(p.Query), `${(Number(p.Duration) * 1000).toFixed(2)} ms`]);
    const columns = ['table', 'type', 'key', 'rows', 'Extra'];
    return [
      'Server-side durations of one CALL (its statements, in order) and of the bare SELECT ' +
        '(SHOW PROFILES):',
      '',
      markdownTable(['statement', 'duration'], statements),
      '',
      "The bare SELECT's plan (EXPLAIN):",
      '',
      markdownTable(
        columns,
        plan.map((row) => columns.map((column) => String(row[column] ?? ''))),
      ),
    ].join('\n');
  } finally {
    await connection.query('SET SESSION profiling = 0');
  }
}
