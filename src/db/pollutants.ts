import type { RowDataPacket } from 'mysql2/promise';
import type { Queryable } from './queryable.js';

export interface Pollutant {
  /** OpenAQ parameter code: pm25, no2, ... */
  readonly code: string;
  readonly name: string;
  /** g/mol, for ppm → µg/m³; null for particulate matter and black carbon (µg/m³ only). */
  readonly molarMass: number | null;
  /** µg/m³; a value above it is a sensor or transmission fault. */
  readonly plausibleMax: number;
}

/** The pollutant reference table, by code. */
export async function listPollutants(db: Queryable): Promise<ReadonlyMap<string, Pollutant>> {
  const [rows] = await db.query<RowDataPacket[]>(
    `/* listPollutants */
     SELECT code, name, molar_mass AS molarMass, plausible_max AS plausibleMax
     FROM pollutant ORDER BY code`,
  );
  return new Map(rows.map((row) => [row.code as string, row as Pollutant]));
}

const cache = new WeakMap<object, Promise<ReadonlyMap<string, Pollutant>>>();

/**
 * The pollutant table, read once per pool: it is reference data that changes only with sql/,
 * i.e. with a new release and a restart.
 */
export function cachedPollutants(db: Queryable): Promise<ReadonlyMap<string, Pollutant>> {
  let pollutants = cache.get(db);
  if (!pollutants) {
    pollutants = listPollutants(db);
    // A failed read (database down) is not cached: the next call tries again.
    pollutants.catch(() => cache.delete(db));
    cache.set(db, pollutants);
  }
  return pollutants;
}
