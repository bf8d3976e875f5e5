import type { Connection } from 'mysql2/promise';

/**
 * Benchmark data, made by the server itself: INSERT ... SELECT from the Sequence engine's
 * seq_0_to_N tables makes millions of rows without sending them over the wire.
 */

import type { PollutantCode } from '../../src/client/measurement.js';

export type { PollutantCode };

export interface StationLayout {
  readonly cities: number;
  readonly locationsPerCity: number;
  readonly pollutants: readonly PollutantCode[];
}

/**
 * About the shape of the Belgian feed: regions and provinces as "cities", about ten stations
 * each, five pollutants: 1,000 series, 100 city × pollutant windows per run.
 */
export const BELGIAN_LAYOUT: StationLayout = {
  cities: 20,
  locationsPerCity: 10,
  pollutants: ['pm25', 'pm10', 'no2', 'o3', 'so2'],
};

export interface Station {
  readonly id: number;
  readonly name: string;
  readonly city: string;
  readonly country: string;
}

export function seriesCount(layout: StationLayout): number {
  return layout.cities * layout.locationsPerCity * layout.pollutants.length;
}

/** The Sequence engine's table of 0..n-1 (n ≥ 1). */
function sequence(n: number): string {
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`a sequence needs a whole count ≥ 1, not ${n}`);
  return `seq_0_to_${n - 1}`;
}

/** Checks that the server has the Sequence engine (MariaDB ≥ 10.0.3 ships it enabled). */
export async function assertSequenceEngine(connection: Connection): Promise<void> {
  const [rows] = (await connection.query(
    "/* assertSequenceEngine */ SELECT SUPPORT AS support FROM information_schema.ENGINES WHERE ENGINE = 'SEQUENCE'",
  )) as unknown as [{ support: string }[]];
  const support = rows[0]?.support;
  if (support !== 'YES' && support !== 'DEFAULT') {
    throw new Error('the benchmarks generate their data with the SEQUENCE engine, missing here');
  }
}

/** Creates the layout's cities (BE, "City 01"...) and stations ("BETR01-01"...), returns them. */
export async function createStations(
  connection: Connection,
  layout: StationLayout,
): Promise<Station[]> {
  await connection.query(
    `/* createStations */ INSERT INTO city (country, name)
     SELECT 'BE', CONCAT('City ', LPAD(c.seq, 2, '0')) FROM ${sequence(layout.cities + 1)} c WHERE c.seq > 0`,
  );
  await connection.query(
    `/* createStations */ INSERT INTO location (city_id, name, latitude, longitude, source_name, source_type)
     SELECT c.id, CONCAT('BETR', SUBSTRING(c.name, 6), '-', LPAD(s.seq, 2, '0')),
            50.5 + c.id / 100, 4.5 + s.seq / 100, 'bench', 'government'
     FROM city c JOIN ${sequence(layout.locationsPerCity + 1)} s ON s.seq > 0
     ORDER BY c.id, s.seq`,
  );
  const [rows] = (await connection.query(
    `/* createStations */ SELECT l.id, l.name, c.name AS city, c.country
     FROM location l JOIN city c ON c.id = l.city_id ORDER BY l.id`,
  )) as unknown as [Station[]];
  return rows;
}

export interface SeriesSpec {
  /** The last instant of every series (UTC). */
  readonly end: Date;
  /** Rows per series, at end, end − step, end − 2·step, ... */
  readonly perSeries: number;
  readonly stepMs: number;
  readonly pollutants: readonly PollutantCode[];
  /** Varies the values between calls. */
  readonly seed?: number;
}

/**
 * One row per station, pollutant and step, all in µg/m³ with values 0-99.9 that vary by station
 * and time. Returns the number of rows inserted.
 */
export async function insertSeries(connection: Connection, spec: SeriesSpec): Promise<number> {
  const [result] = (await connection.query(
    `/* insertSeries */ INSERT INTO measurement (location_id, pollutant, measured_at, original_value, original_unit)
     SELECT STRAIGHT_JOIN l.id, p.code, ? - INTERVAL (t.seq * ?) MICROSECOND,
            MOD(t.seq * 7919 + l.id * 104729 + ?, 1000) / 10, 'µg/m³'
     FROM location l JOIN pollutant p ON p.code IN (?) JOIN ${sequence(spec.perSeries)} t`,
    [spec.end, Math.round(spec.stepMs * 1000), spec.seed ?? 0, spec.pollutants],
  )) as unknown as [{ affectedRows: number }];
  return result.affectedRows;
}

/**
 * Runs fn in one transaction with unique and foreign key checks off. Into an empty table MariaDB
 * (≥ 10.6) then builds the indexes by sorting and skips undo logging: 2.5M rows load in about
 * 15 s instead of 35 s on a 2-core machine. The rows must be valid by construction.
 */
export async function bulkLoad<T>(connection: Connection, fn: () => Promise<T>): Promise<T> {
  await connection.query('SET SESSION unique_checks = 0, foreign_key_checks = 0');
  try {
    await connection.beginTransaction();
    try {
      const result = await fn();
      await connection.commit();
      return result;
    } catch (error) {
      await connection.rollback();
      throw error;
    }
  } finally {
    await connection.query('SET SESSION unique_checks = 1, foreign_key_checks = 1');
  }
}

/** Empties measurement and the aggregation's history; keeps cities and stations. */
export async function emptyMeasurements(connection: Connection): Promise<void> {
  await connection.query('/* emptyMeasurements */ TRUNCATE TABLE measurement');
  await connection.query('/* emptyMeasurements */ DELETE FROM air_quality_run');
}

/** Fresh index statistics, so that the optimizer sees the table as it now is. */
export async function analyzeMeasurements(connection: Connection): Promise<void> {
  await connection.query('/* analyzeMeasurements */ ANALYZE TABLE measurement');
}

/** 500000 → "500k", 5000000 → "5M". */
export function rowsLabel(rows: number): string {
  if (rows >= 1_000_000) return `${rows / 1_000_000}M`;
  return rows >= 1_000 ? `${rows / 1_000}k` : String(rows);
}
