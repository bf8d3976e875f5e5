import type { Pool, RowDataPacket } from 'mysql2/promise';
import { main } from '../../src/cli/feed.js';
import { TOKEN } from './app.js';
import { runScript } from './output.js';

/** npm run feed, in this process: its exit status and what it wrote. */
export function runFeedCommand(args: string[], env: Record<string, string>) {
  return runScript(main, args, env);
}

/** The arguments of a feed through the API, once, since an instant, with one retry. */
export function onceThroughApi(feed: string, since: string, endpoint: string): string[] {
  return [
    feed,
    '--once',
    '--since',
    since,
    '--endpoint',
    endpoint,
    '--token',
    TOKEN,
    '--retries',
    '1',
  ];
}

/**
 * Every stored measurement as "city | station | pollutant hour value unit", the hour as the
 * recorded fixtures name it (hourOf).
 */
export async function storedMeasurements(
  pool: Pool,
  hourOf: (date: Date) => number,
): Promise<string[]> {
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT c.name AS city, l.name AS location, m.pollutant, m.measured_at AS at,
            m.original_value AS value, m.original_unit AS unit
     FROM measurement m JOIN location l ON l.id = m.location_id JOIN city c ON c.id = l.city_id
     ORDER BY c.name, l.name, m.pollutant, m.measured_at`,
  );
  return rows.map(
    (r) => `${r.city} | ${r.location} | ${r.pollutant} ${hourOf(r.at)} ${r.value} ${r.unit}`,
  );
}

/** A feed's progress, series by series (ascii order): [series, fetchedUntil]. */
export async function feedProgressRows(pool: Pool, feed: string): Promise<[string, Date][]> {
  const [rows] = await pool.query<RowDataPacket[]>(
    'SELECT series, fetched_until AS until FROM feed_progress WHERE feed = ? ORDER BY series',
    [feed],
  );
  return rows.map((r) => [r.series as string, r.until as Date]);
}

/** Empties what a feed writes, for a test that starts afresh in its file's database. */
export async function emptyFeedTables(pool: Pool): Promise<void> {
  for (const table of [
    'city_air_quality',
    'air_quality_run',
    'measurement',
    'location',
    'city',
    'feed_progress',
  ]) {
    await pool.query(`DELETE FROM ${table}`);
  }
}
