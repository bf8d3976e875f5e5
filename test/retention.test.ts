import type { RowDataPacket } from 'mysql2/promise';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connect, useTestDatabase } from './helpers/database.js';
import {
  DAY,
  HOUR,
  insertCity,
  insertLocation,
  insertMeasurements,
  type SeedMeasurement,
  sqlTime,
} from './helpers/seed.js';

const P = Date.parse('2026-06-01T00:00:00.000Z'); // the instant every purge here runs at

const t = useTestDatabase(import.meta.filename);
let station: number;
let other: number;

const reading = (locationId: number, measuredAt: number, pollutant = 'pm10'): SeedMeasurement => ({
  locationId,
  pollutant,
  measuredAt,
  value: 12.5,
  unit: 'µg/m³',
});

async function setSetting(name: string, value: string) {
  await t.pool.query('UPDATE setting SET value = ? WHERE name = ?', [value, name]);
}

async function refreshAt(...instants: number[]) {
  for (const at of instants) await t.pool.query('CALL refresh_air_quality(?)', [sqlTime(at)]);
}

async function purge(at = P) {
  await t.pool.query('CALL purge_old_data(?)', [sqlTime(at)]);
}

/** What the database holds: measurements, runs with their number of rows, and everything else. */
async function contents() {
  const [measurements] = await t.pool.query<RowDataPacket[]>(
    `SELECT CONCAT(location_id, ' ', pollutant, ' ', DATE_FORMAT(measured_at, '%Y-%m-%d %H:%i:%s.%f')) AS m
     FROM measurement ORDER BY location_id, pollutant, measured_at`,
  );
  const [runs] = await t.pool.query<RowDataPacket[]>(
    `SELECT DATE_FORMAT(r.evaluated_at, '%Y-%m-%d %H:%i:%s.%f') AS evaluatedAt,
            (SELECT COUNT(*) FROM city_air_quality q WHERE q.run_id = r.id) AS windows
     FROM air_quality_run r ORDER BY r.evaluated_at`,
  );
  const [[counts]] = await t.pool.query<RowDataPacket[]>(
    `SELECT (SELECT COUNT(*) FROM city_air_quality) AS windows, (SELECT COUNT(*) FROM city) AS cities,
            (SELECT COUNT(*) FROM location) AS locations`,
  );
  const [settings] = await t.pool.query<RowDataPacket[]>(
    'SELECT name, value FROM setting ORDER BY name',
  );
  return {
    measurements: measurements.map((r) => (r.m as string).slice(0, -3)), // %f has 6 digits
    runs: runs.map((r) => `${(r.evaluatedAt as string).slice(0, -3)} (${r.windows} rows)`),
    windows: Number(counts?.windows),
    cities: Number(counts?.cities),
    locations: Number(counts?.locations),
    settings: Object.fromEntries(settings.map((s) => [s.name, s.value])),
  };
}

const DEFAULTS = {
  'retention.batch_rows': '10000',
  'retention.measurement_days': '30',
  'retention.run_days': '30',
};

beforeAll(async () => {
  const city = await insertCity(t.pool, 'BE', 'Gent');
  station = await insertLocation(t.pool, city, 'BETR02');
  other = await insertLocation(t.pool, city, 'BETR03');
});

beforeEach(async () => {
  await t.pool.query('DELETE FROM air_quality_run'); // and, by cascade, city_air_quality
  await t.pool.query('DELETE FROM measurement');
  for (const [name, value] of Object.entries(DEFAULTS)) await setSetting(name, value);
});

describe('purge_old_data', () => {
  it('has documented defaults: 30 days of measurements, 30 days of runs, 10000 rows per batch', async () => {
    expect((await contents()).settings).toEqual(DEFAULTS);
  });

  it('purges measurements and runs older than the limits, to the millisecond, and nothing else', async () => {
    const limit = P - 30 * DAY;
    await insertMeasurements(t.pool, [
      reading(station, limit - 10 * DAY), // out
      reading(station, limit - 1), // out, by a millisecond
      reading(station, limit), // exactly 30 days old: kept
      reading(station, limit + 1), // kept
      reading(station, P - DAY), // kept
      reading(station, P), // kept
      reading(other, limit - HOUR, 'no2'), // out
      { ...reading(other, limit + DAY, 'no2'), value: 0.02, unit: 'ppm' }, // kept
    ]);
    // Runs a millisecond past the limit, exactly on it, after it, and the current one.
    await refreshAt(limit - 1, limit, limit + DAY, P);
    const before = await contents();
    expect(before.runs).toEqual([
      '2026-05-01 23:59:59.999 (2 rows)',
      '2026-05-02 00:00:00.000 (2 rows)',
      '2026-05-03 00:00:00.000 (1 rows)',
      '2026-06-01 00:00:00.000 (1 rows)',
    ]);

    await purge();

    expect(await contents()).toEqual({
      measurements: [
        `${station} pm10 2026-05-02 00:00:00.000`,
        `${station} pm10 2026-05-02 00:00:00.001`,
        `${station} pm10 2026-05-31 00:00:00.000`,
        `${station} pm10 2026-06-01 00:00:00.000`,
        `${other} no2 2026-05-03 00:00:00.000`,
      ],
      runs: [
        '2026-05-02 00:00:00.000 (2 rows)',
        '2026-05-03 00:00:00.000 (1 rows)',
        '2026-06-01 00:00:00.000 (1 rows)',
      ],
      windows: 4, // the purged run's rows went with it
      cities: before.cities,
      locations: before.locations,
      settings: DEFAULTS,
    });
  });

  it('never purges the current run, however old', async () => {
    await insertMeasurements(t.pool, [reading(station, P - 60 * DAY - HOUR)]);
    await refreshAt(P - 61 * DAY, P - 60 * DAY);
    await purge();
    expect(await contents()).toMatchObject({
      measurements: [],
      runs: ['2026-04-02 00:00:00.000 (1 rows)'],
      windows: 1,
    });
  });

  it('keeps data forever where a limit is 0 days, each limit on its own', async () => {
    await insertMeasurements(t.pool, [reading(station, P - 1000 * DAY), reading(station, P)]);
    await refreshAt(P - 1000 * DAY, P - 900 * DAY, P);
    await setSetting('retention.measurement_days', '0');
    await setSetting('retention.run_days', '0');
    const before = await contents();
    await purge();
    expect(await contents()).toEqual(before);

    await setSetting('retention.measurement_days', '30');
    await purge();
    expect(await contents()).toMatchObject({
      measurements: [`${station} pm10 2026-06-01 00:00:00.000`],
      runs: before.runs,
    });
  });

  it('purges in batches smaller than what it purges', async () => {
    await setSetting('retention.batch_rows', '3');
    const old = Array.from({ length: 10 }, (_, i) => reading(station, P - 40 * DAY + i * HOUR));
    const recent = Array.from({ length: 4 }, (_, i) => reading(station, P - i * HOUR));
    await insertMeasurements(t.pool, [...old, ...recent]);
    // 250 old runs, more than one statement's 100, written as any writer would.
    const instants = Array.from({ length: 250 }, (_, i) => P - 100 * DAY + i * HOUR);
    await t.pool.query(
      'INSERT INTO air_quality_run (evaluated_at, window_start, window_end) VALUES ?',
      [instants.map((at) => [sqlTime(at), sqlTime(at - 3 * HOUR), sqlTime(at)])],
    );
    await refreshAt(P);
    await purge();
    expect(await contents()).toMatchObject({
      measurements: recent.map((r) => `${station} pm10 ${sqlTime(r.measuredAt)}`).reverse(),
      runs: ['2026-06-01 00:00:00.000 (1 rows)'],
    });
  });

  it.each([
    [
      'retention.measurement_days',
      'abc',
      "retention.measurement_days must be a whole number from 0 to 36500; it is 'abc'",
    ],
    [
      'retention.measurement_days',
      '-1',
      "retention.measurement_days must be a whole number from 0 to 36500; it is '-1'",
    ],
    [
      'retention.measurement_days',
      '99999',
      "retention.measurement_days must be a whole number from 0 to 36500; it is '99999'",
    ],
    [
      'retention.run_days',
      '1.5',
      "retention.run_days must be a whole number from 0 to 36500; it is '1.5'",
    ],
    [
      'retention.run_days',
      '',
      "retention.run_days must be a whole number from 0 to 36500; it is ''",
    ],
    [
      'retention.batch_rows',
      '0',
      "retention.batch_rows must be a whole number from 1 to 1000000; it is '0'",
    ],
    [
      'retention.batch_rows',
      null,
      'retention.batch_rows must be a whole number from 1 to 1000000; it is missing',
    ],
  ])('refuses %s = %j with a clear error, purging nothing', async (name, value, message) => {
    await insertMeasurements(t.pool, [reading(station, P - 100 * DAY)]);
    await refreshAt(P - 100 * DAY, P);
    if (value === null) await t.pool.query('DELETE FROM setting WHERE name = ?', [name]);
    else await setSetting(name, value);
    const before = await contents();
    await expect(purge()).rejects.toThrow(`purge_old_data: ${message}`);
    expect(await contents()).toEqual(before);
    if (value === null) {
      // Re-applying sql/ brings a missing setting back with its default.
      await t.pool.query(
        "INSERT INTO setting (name, value, description) VALUES ('retention.batch_rows', '10000', 'restored')",
      );
    }
  });

  it('does nothing while another purge holds its lock, and refuses to run inside a transaction', async () => {
    await insertMeasurements(t.pool, [reading(station, P - 100 * DAY)]);
    const holder = await connect(t.db);
    try {
      await holder.query("DO GET_LOCK(belair_lock_name('purge_old_data'), 0)");
      await purge();
      expect((await contents()).measurements).toHaveLength(1);
      await holder.query("DO RELEASE_LOCK(belair_lock_name('purge_old_data'))");

      await holder.query('START TRANSACTION');
      await expect(holder.query('CALL purge_old_data(?)', [sqlTime(P)])).rejects.toThrow(
        'purge_old_data: call it outside a transaction, it commits in batches',
      );
      await holder.query('ROLLBACK');
    } finally {
      await holder.end();
    }
    await purge();
    expect((await contents()).measurements).toEqual([]);
  });
});
