import type { RowDataPacket } from 'mysql2/promise';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from './helpers/database.js';
import { insertCity, insertLocation } from './helpers/seed.js';

// refresh_air_quality computes the BelAQI and EAQI levels of its rows inline rather than through
// belaqi_level() and eaqi_level() (a stored function call per row costs as much as aggregating
// the window). The rule then lives in two places: this file checks they agree on every band
// bound, just above it, at zero and far beyond the scale, for every pollutant.

const AT = '2026-04-01 12:00:00.000';
const POLLUTANTS = ['pm25', 'pm10', 'no2', 'o3', 'so2', 'co', 'bc'] as const;

const t = useTestDatabase(import.meta.filename);
/** The averages each pollutant's windows take, one city per value. */
const valuesOf = new Map<string, number[]>();

beforeAll(async () => {
  const [bounds] = await t.pool.query<RowDataPacket[]>(
    `SELECT pollutant, upper_bound AS bound FROM belaqi_band
     UNION SELECT pollutant, upper_bound FROM eaqi_band`,
  );
  for (const pollutant of POLLUTANTS) {
    const edges = bounds.filter((b) => b.pollutant === pollutant).map((b) => Number(b.bound));
    const values = new Set([0, 5000, ...edges, ...edges.map((bound) => bound + 0.001)]);
    valuesOf.set(
      pollutant,
      [...values].sort((a, b) => a - b),
    );
  }
  const cities = Math.max(...[...valuesOf.values()].map((values) => values.length));
  for (let i = 0; i < cities; i += 1) {
    const locationId = await insertLocation(
      t.pool,
      await insertCity(t.pool, 'BE', `City ${i}`),
      `Station ${i}`,
    );
    for (const pollutant of POLLUTANTS) {
      const value = valuesOf.get(pollutant)?.[i];
      if (value === undefined) continue;
      await t.pool.query(
        `INSERT INTO measurement (location_id, pollutant, measured_at, original_value, original_unit)
         VALUES (?, ?, ? - INTERVAL 1 HOUR, ?, 'µg/m³')`,
        [locationId, pollutant, AT, value],
      );
    }
  }
  await t.pool.query('CALL refresh_air_quality(?)', [AT]);
});

describe('index levels written by refresh_air_quality', () => {
  it('are those of belaqi_level() and eaqi_level() for every bound, above it, and beyond the scale', async () => {
    const [rows] = await t.pool.query<RowDataPacket[]>(
      `SELECT q.pollutant, q.average, q.belaqi, q.eaqi,
              belaqi_level(q.pollutant, q.average) AS belaqiFunction,
              eaqi_level(q.pollutant, q.average) AS eaqiFunction
       FROM city_air_quality q
       WHERE q.run_id = (SELECT MAX(id) FROM air_quality_run)`,
    );
    const expected = [...valuesOf.values()].reduce((sum, values) => sum + values.length, 0);
    expect(rows).toHaveLength(expected);
    for (const row of rows) {
      expect([row.belaqi, row.eaqi], `${row.pollutant} ${row.average}`).toEqual([
        row.belaqiFunction,
        row.eaqiFunction,
      ]);
    }
  });

  it('put a value on a bound in that band, above the last BelAQI bound at 10, and none where no table exists', async () => {
    const [rows] = await t.pool.query<RowDataPacket[]>(
      `SELECT CONCAT(q.pollutant, ' ', q.average) AS window, q.belaqi, q.eaqi
       FROM city_air_quality q
       WHERE q.run_id = (SELECT MAX(id) FROM air_quality_run)
         AND (q.pollutant, q.average) IN (('pm10', 35), ('pm10', 35.001), ('pm25', 75.001),
                                          ('o3', 5000), ('no2', 0), ('so2', 5000), ('co', 5000),
                                          ('bc', 5000))
       ORDER BY q.pollutant, q.average`,
    );
    expect(rows.map((row) => [row.window, row.belaqi, row.eaqi])).toEqual([
      ['bc 5000', null, null],
      ['co 5000', null, null],
      ['no2 0', 1, 1],
      ['o3 5000', 10, 6],
      ['pm10 35', 3, 2],
      ['pm10 35.001', 4, 2],
      ['pm25 75.001', 10, 6],
      ['so2 5000', null, 6],
    ]);
  });
});
