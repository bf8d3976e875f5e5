import type { Pool, ResultSetHeader } from 'mysql2/promise';

/** Test data written with plain SQL, the way any writer of the database would. */

export type Unit = 'µg/m³' | 'ppm';

export interface SeedMeasurement {
  readonly locationId: number;
  readonly pollutant: string;
  /** Milliseconds since the epoch (UTC). */
  readonly measuredAt: number;
  readonly value: number;
  readonly unit: Unit;
}

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** An instant as MariaDB's DATETIME(3) text, UTC: 2026-03-10 12:00:00.000. */
export function sqlTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

export async function insertCity(pool: Pool, country: string, name: string): Promise<number> {
  const [result] = await pool.query<ResultSetHeader>(
    'INSERT INTO city (country, name) VALUES (?, ?)',
    [country, name],
  );
  return result.insertId;
}

export async function insertLocation(pool: Pool, cityId: number, name: string): Promise<number> {
  const [result] = await pool.query<ResultSetHeader>(
    'INSERT INTO location (city_id, name) VALUES (?, ?)',
    [cityId, name],
  );
  return result.insertId;
}

export async function insertMeasurements(
  pool: Pool,
  rows: readonly SeedMeasurement[],
): Promise<void> {
  for (let start = 0; start < rows.length; start += 1000) {
    const chunk = rows.slice(start, start + 1000);
    await pool.query(
      'INSERT INTO measurement (location_id, pollutant, measured_at, original_value, original_unit) VALUES ?',
      [chunk.map((r) => [r.locationId, r.pollutant, sqlTime(r.measuredAt), r.value, r.unit])],
    );
  }
}

/** A small deterministic pseudo-random generator (mulberry32), so that generated data repeats. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
