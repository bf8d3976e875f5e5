import type { RowDataPacket } from 'mysql2/promise';
import type { City } from './cities.js';
import type { Queryable } from './queryable.js';
import { type AirQualityRun, CURRENT_RUN_ID, runColumns } from './runs.js';

/** One pollutant of a city's window, as refresh_air_quality wrote it. */
export interface PollutantWindow {
  /** Pollutant code. */
  readonly parameter: string;
  readonly unit: string;
  readonly average: number;
  readonly min: number;
  readonly max: number;
  readonly count: number;
  readonly locations: number;
  readonly latestMeasuredAt: Date;
  readonly belaqi: number | null;
  /** eaqi_level.level, 1 (GOOD) .. 6 (EXTREMELY_POOR). */
  readonly eaqi: number | null;
}

/** A city's window from one run: its pollutants, and the overall levels (the worst pollutant's). */
export interface CityWindow {
  readonly cityId: number;
  readonly run: AirQualityRun;
  readonly belaqi: number | null;
  readonly eaqi: number | null;
  readonly pollutants: readonly PollutantWindow[];
  /** The city itself, where the reader joined it (listRunWindows); loaders fetch it otherwise. */
  readonly city?: City;
}

const WINDOW_COLUMNS = `
  q.city_id AS cityId, q.pollutant AS parameter, q.unit, q.average, q.min, q.max, q.count,
  q.locations, q.latest_measured_at AS latestMeasuredAt, q.belaqi, q.eaqi, ${runColumns('run_')}`;

function worst(levels: readonly (number | null)[]): number | null {
  const known = levels.filter((level): level is number => level !== null);
  return known.length === 0 ? null : Math.max(...known);
}

/** Rows ordered by run, then city, then pollutant, grouped into one window per run and city. */
function groupWindows(rows: readonly RowDataPacket[]): CityWindow[] {
  const windows: CityWindow[] = [];
  let pollutants: PollutantWindow[] = [];
  let previous: RowDataPacket | undefined;
  const close = () => {
    if (!previous) return;
    windows.push({
      cityId: previous.cityId,
      run: {
        id: previous.run_id,
        evaluatedAt: previous.run_evaluatedAt,
        windowStart: previous.run_windowStart,
        windowEnd: previous.run_windowEnd,
        measurements: previous.run_measurements,
        cities: previous.run_cities,
        durationMs: previous.run_durationMs,
      },
      belaqi: worst(pollutants.map((p) => p.belaqi)),
      eaqi: worst(pollutants.map((p) => p.eaqi)),
      pollutants,
    });
    pollutants = [];
  };
  for (const row of rows) {
    if (previous && (previous.run_id !== row.run_id || previous.cityId !== row.cityId)) close();
    pollutants.push({
      parameter: row.parameter,
      unit: row.unit,
      average: row.average,
      min: row.min,
      max: row.max,
      count: row.count,
      locations: row.locations,
      latestMeasuredAt: row.latestMeasuredAt,
      belaqi: row.belaqi,
      eaqi: row.eaqi,
    });
    previous = row;
  }
  close();
  return windows;
}

export interface CurrentWindowFilter {
  /** City ids (the loaders' way). */
  readonly cityIds?: readonly number[] | null;
  /** City names as stored (the API's way), with country. */
  readonly cityNames?: readonly string[] | null;
  readonly country?: string | null;
}

/**
 * The current window of every city that has rows in the current run, optionally filtered, by
 * country and city name.
 */
export async function listCurrentWindows(
  db: Queryable,
  filter: CurrentWindowFilter = {},
): Promise<CityWindow[]> {
  const conditions: string[] = [];
  const values: unknown[] = [];
  if (filter.cityIds) {
    if (filter.cityIds.length === 0) return [];
    conditions.push('q.city_id IN (?)');
    values.push(filter.cityIds);
  }
  if (filter.cityNames) {
    if (filter.cityNames.length === 0) return [];
    conditions.push('c.name IN (?)');
    values.push(filter.cityNames);
  }
  if (filter.country) {
    conditions.push('c.country = ?');
    values.push(filter.country);
  }
  const [rows] = await db.query<RowDataPacket[]>(
    `/* listCurrentWindows */
     SELECT ${WINDOW_COLUMNS}
     FROM ${CURRENT_RUN_ID} cur
     JOIN air_quality_run r ON r.id = cur.id
     JOIN city_air_quality q ON q.run_id = r.id
     JOIN city c ON c.id = q.city_id
     ${conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : ''}
     ORDER BY c.country, c.name, q.city_id, q.pollutant`,
    values,
  );
  return groupWindows(rows);
}

/**
 * The windows of the given cities from the runs with from ≤ evaluated_at ≤ to, oldest first
 * (then by run id, city and pollutant).
 */
export async function listCityHistory(
  db: Queryable,
  args: { cityIds: readonly number[]; from: Date; to: Date },
): Promise<CityWindow[]> {
  if (args.cityIds.length === 0) return [];
  const [rows] = await db.query<RowDataPacket[]>(
    `/* listCityHistory */
     SELECT ${WINDOW_COLUMNS}
     FROM air_quality_run r
     JOIN city_air_quality q ON q.run_id = r.id
     WHERE r.evaluated_at BETWEEN ? AND ? AND q.city_id IN (?)
     ORDER BY r.evaluated_at, r.id, q.city_id, q.pollutant`,
    [args.from, args.to, args.cityIds],
  );
  return groupWindows(rows);
}

/**
 * Every window of one run, each with its city (and the mean position of the city's stations), by
 * country and city name: all that a CityAirQuality needs, in one statement. The windows share the
 * given run object.
 */
export async function listRunWindows(db: Queryable, run: AirQualityRun): Promise<CityWindow[]> {
  const [rows] = await db.query<RowDataPacket[]>(
    `/* listRunWindows */
     SELECT ${WINDOW_COLUMNS}, c.country AS cityCountry, c.name AS cityName,
            pos.latitude AS cityLatitude, pos.longitude AS cityLongitude
     FROM air_quality_run r
     JOIN city_air_quality q ON q.run_id = r.id
     JOIN city c ON c.id = q.city_id
     LEFT JOIN (
       SELECT l.city_id, AVG(l.latitude) AS latitude, AVG(l.longitude) AS longitude
       FROM location l GROUP BY l.city_id
     ) pos ON pos.city_id = c.id
     WHERE r.id = ?
     ORDER BY c.country, c.name, q.city_id, q.pollutant`,
    [run.id],
  );
  const cities = new Map<number, City>();
  for (const row of rows) {
    if (cities.has(row.cityId)) continue;
    cities.set(row.cityId, {
      id: row.cityId,
      country: row.cityCountry,
      name: row.cityName,
      latitude: row.cityLatitude,
      longitude: row.cityLongitude,
    });
  }
  return groupWindows(rows).map((window) => ({ ...window, run, city: cities.get(window.cityId) }));
}
