import { HOUR, type SeedMeasurement } from './seed.js';

/**
 * An independent model of refresh_air_quality, written from docs/database.md and not from sql/,
 * for the tests to compare the database's runs with.
 */

/** Molar masses (g/mol) of docs/database.md (Units), for ppm → µg/m³ at 25 °C. */
export const MOLAR_MASS: Readonly<Record<string, number>> = {
  no2: 46.0055,
  o3: 47.9982,
  so2: 64.066,
  co: 28.01,
};

export const POLLUTANTS = ['pm25', 'pm10', 'no2', 'o3', 'so2', 'co', 'bc'] as const;

/** BelAQI, upper bounds of levels 1-9 (µg/m³); above the last is level 10. */
export const BELAQI: Readonly<Record<string, readonly number[]>> = {
  pm10: [10, 20, 35, 45, 60, 80, 95, 110, 140],
  pm25: [3.5, 7.5, 10, 15, 20, 35, 50, 60, 75],
  o3: [30, 65, 75, 90, 110, 150, 180, 210, 240],
  no2: [10, 15, 20, 30, 40, 45, 50, 60, 75],
};

/** EAQI, upper bounds of GOOD .. EXTREMELY_POOR (µg/m³); the last band runs to the top. */
export const EAQI: Readonly<Record<string, readonly number[]>> = {
  pm25: [10, 20, 25, 50, 75, 800],
  pm10: [20, 40, 50, 100, 150, 1200],
  no2: [40, 90, 120, 230, 340, 1000],
  o3: [50, 100, 130, 240, 380, 800],
  so2: [100, 200, 350, 500, 750, 1250],
};

export function toMicrograms(pollutant: string, value: number, unit: string): number {
  if (unit !== 'ppm') return value;
  const mass = MOLAR_MASS[pollutant];
  if (mass === undefined) throw new Error(`${pollutant} has no molar mass`);
  return (value * 1000 * mass) / 24.45;
}

export function belaqiLevel(pollutant: string, value: number): number | null {
  const bounds = BELAQI[pollutant];
  if (!bounds) return null;
  const index = bounds.findIndex((bound) => value <= bound);
  return index === -1 ? bounds.length + 1 : index + 1;
}

export function eaqiLevel(pollutant: string, value: number): number | null {
  const bounds = EAQI[pollutant];
  if (!bounds) return null;
  const index = bounds.findIndex((bound) => value <= bound);
  return index === -1 ? bounds.length : index + 1;
}

export interface CityOf {
  readonly country: string;
  readonly city: string;
}

export interface ExpectedWindow {
  readonly country: string;
  readonly city: string;
  readonly pollutant: string;
  readonly average: number;
  readonly min: number;
  readonly max: number;
  readonly count: number;
  readonly locations: number;
  readonly latestMeasuredAt: number;
  readonly belaqi: number | null;
  readonly eaqi: number | null;
}

export const windowKey = (w: { country: string; city: string; pollutant: string }) =>
  `${w.country}|${w.city}|${w.pollutant}`;

/** The windows of a run at pAt: measurements with pAt − 3 h < measuredAt ≤ pAt, per city and pollutant. */
export function expectedWindows(
  rows: readonly SeedMeasurement[],
  cityOfLocation: ReadonlyMap<number, CityOf>,
  pAt: number,
): Map<string, ExpectedWindow> {
  const groups = new Map<string, { city: CityOf; pollutant: string; rows: SeedMeasurement[] }>();
  for (const row of rows) {
    if (!(row.measuredAt > pAt - 3 * HOUR && row.measuredAt <= pAt)) continue;
    const city = cityOfLocation.get(row.locationId);
    if (!city) throw new Error(`location ${row.locationId} has no city`);
    const key = windowKey({ ...city, pollutant: row.pollutant });
    const group = groups.get(key) ?? { city, pollutant: row.pollutant, rows: [] };
    group.rows.push(row);
    groups.set(key, group);
  }
  const windows = new Map<string, ExpectedWindow>();
  for (const [key, { city, pollutant, rows: members }] of groups) {
    const values = members.map((r) => toMicrograms(r.pollutant, r.value, r.unit));
    const average = values.reduce((sum, v) => sum + v, 0) / values.length;
    windows.set(key, {
      country: city.country,
      city: city.city,
      pollutant,
      average,
      min: Math.min(...values),
      max: Math.max(...values),
      count: members.length,
      locations: new Set(members.map((r) => r.locationId)).size,
      latestMeasuredAt: Math.max(...members.map((r) => r.measuredAt)),
      belaqi: belaqiLevel(pollutant, average),
      eaqi: eaqiLevel(pollutant, average),
    });
  }
  return windows;
}
