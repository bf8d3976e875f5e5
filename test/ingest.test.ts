import type { RowDataPacket } from 'mysql2/promise';
import { beforeEach, describe, expect, it } from 'vitest';
import { BatchTooLargeError, ingestMeasurements } from '../src/ingest/ingest-measurements.js';
import type { MeasurementItem } from '../src/ingest/validate-measurement.js';
import { clearMeasurements, useTestDatabase } from './helpers/database.js';
import { measurement } from './helpers/measurements.js';

const t = useTestDatabase(import.meta.filename);

/** The server's clock as the tests set it. */
const NOW = new Date('2026-05-01T12:00:00.000Z');

function item(overrides: Partial<Record<keyof MeasurementItem, unknown>> = {}): MeasurementItem {
  return {
    ...measurement('Antwerpen', 'BETR801', 'pm10', 21.5, '2026-05-01T10:00:00Z'),
    latitude: 51.2094,
    longitude: 4.4314,
    sourceName: 'EEA Belgium',
    sourceType: 'government',
    ...overrides,
  } as MeasurementItem;
}

async function rows(sql: string): Promise<RowDataPacket[]> {
  const [result] = await t.pool.query<RowDataPacket[]>(sql);
  return result;
}

/** Every stored measurement, in key order, with its station and city. */
async function storedMeasurements() {
  return rows(`
    SELECT c.country, c.name AS city, l.name AS location, m.pollutant,
           DATE_FORMAT(m.measured_at, '%Y-%m-%dT%H:%i:%s.%fZ') AS measuredAt,
           m.original_value AS originalValue, m.original_unit AS originalUnit, m.value
    FROM measurement m JOIN location l ON l.id = m.location_id JOIN city c ON c.id = l.city_id
    ORDER BY c.country, c.name, l.name, m.pollutant, m.measured_at`);
}

describe('ingestMeasurements', () => {
  beforeEach(() => clearMeasurements(t.pool));

  it('stores a batch with its city and station, normalising the country', async () => {
    const result = await ingestMeasurements(
      t.pool,
      [item(), item({ parameter: 'PM25', value: 8.25, country: 'be ', unit: 'ug/m3' })],
      { now: NOW },
    );
    expect(result).toEqual({ received: 2, inserted: 2, updated: 0, unchanged: 0, rejected: [] });
    expect(await storedMeasurements()).toEqual([
      {
        country: 'BE',
        city: 'Antwerpen',
        location: 'BETR801',
        pollutant: 'pm10',
        measuredAt: '2026-05-01T10:00:00.000000Z',
        originalValue: 21.5,
        originalUnit: 'µg/m³',
        value: 21.5,
      },
      {
        country: 'BE',
        city: 'Antwerpen',
        location: 'BETR801',
        pollutant: 'pm25',
        measuredAt: '2026-05-01T10:00:00.000000Z',
        originalValue: 8.25,
        originalUnit: 'µg/m³',
        value: 8.25,
      },
    ]);
    expect(
      await rows(
        'SELECT name, latitude, longitude, source_name AS sourceName, source_type AS sourceType FROM location',
      ),
    ).toEqual([
      {
        name: 'BETR801',
        latitude: 51.2094,
        longitude: 4.4314,
        sourceName: 'EEA Belgium',
        sourceType: 'government',
      },
    ]);
  });

  it('rejects each invalid item with a reason naming the field and value, storing the others', async () => {
    const bad: [Partial<Record<keyof MeasurementItem, unknown>>, string][] = [
      [
        { parameter: 'pm1' },
        'parameter "pm1" is not a known pollutant: use one of bc, co, no2, o3, pm10, pm25, so2.',
      ],
      [{ unit: 'mg/m3' }, 'unit "mg/m3" is not known: use µg/m³ (or ug/m3), or ppm for gases.'],
      [
        { unit: 'ppm' },
        'unit ppm does not apply to pm10: send particulate matter and black carbon in µg/m³.',
      ],
      [{ value: Number.NaN }, 'value NaN is not a finite number.'],
      [{ value: Number.POSITIVE_INFINITY }, 'value Infinity is not a finite number.'],
      [{ value: '12' }, 'value "12" is not a finite number.'],
      [{ value: -0.5 }, 'value -0.5 is negative: a concentration is 0 or more.'],
      [
        { value: 5000.5 },
        'value 5000.5 µg/m³ is above the plausible maximum of 5000 µg/m³ for pm10: such a reading is a sensor or transmission fault.',
      ],
      [
        { parameter: 'no2', unit: 'ppm', value: 3 },
        'value 3 ppm (5644.8 µg/m³) is above the plausible maximum of 4000 µg/m³ for no2: such a reading is a sensor or transmission fault.',
      ],
      [
        { measuredAt: '2026-05-01 10:00:00' },
        'measuredAt "2026-05-01 10:00:00" has no time zone: add Z for UTC (OpenAQ date.utc) or an offset such as +02:00.',
      ],
      [
        { measuredAt: 'yesterday' },
        'measuredAt "yesterday" is not an ISO-8601 date and time with a time zone, such as 2024-05-01T12:00:00Z.',
      ],
      [
        { measuredAt: '2026-02-30T10:00:00Z' },
        'measuredAt "2026-02-30T10:00:00Z" is not a real date and time, such as 2024-05-01T12:00:00Z.',
      ],
      [
        { measuredAt: '2026-05-01T12:10:00.001Z' },
        `measuredAt "2026-05-01T12:10:00.001Z" is more than 10 minutes ahead of the server's clock (2026-05-01T12:00:00.000Z): send the instant the measurement was taken, with its time zone.`,
      ],
      [
        { measuredAt: '0999-12-31T23:59:59Z' },
        'measuredAt "0999-12-31T23:59:59Z" is outside the years 1000 to 9999 that the database can store.',
      ],
      [{ country: 'BEL' }, 'country "BEL" is not a two-letter ISO 3166-1 code such as BE.'],
      [{ country: 'B1' }, 'country "B1" is not a two-letter ISO 3166-1 code such as BE.'],
      [
        { country: undefined },
        'country is missing: send the two-letter ISO 3166-1 code, such as BE.',
      ],
      [{ latitude: 91 }, 'latitude 91 is not a number from -90 to 90 (degrees).'],
      [{ longitude: -180.5 }, 'longitude -180.5 is not a number from -180 to 180 (degrees).'],
      [{ location: '   ' }, 'location is empty: it is required.'],
      [{ city: undefined }, 'city is missing: it is required.'],
      [{ city: 42 }, 'city 42 is not text.'],
      [
        { location: 'x'.repeat(129) },
        `location "${'x'.repeat(40)}"… (129 characters) is longer than the 128 characters allowed.`,
      ],
      [
        { city: 'Ant\nwerpen' },
        'city "Ant\\nwerpen" contains control characters (tabs, line breaks, ...).',
      ],
      [{ sourceName: '' }, 'sourceName is empty: leave it out or send its value.'],
      [
        { sourceType: 'g'.repeat(65) },
        `sourceType "${'g'.repeat(40)}"… (65 characters) is longer than the 64 characters allowed.`,
      ],
      [
        { location: 'BETR\uD800' },
        'location "BETR\\ud800" is not valid Unicode (a lone surrogate).',
      ],
      [
        { country: 'BEL', value: -1 },
        'country "BEL" is not a two-letter ISO 3166-1 code such as BE. value -1 is negative: a concentration is 0 or more.',
      ],
    ];
    const batch: MeasurementItem[] = [];
    const expected: { index: number; reason: string }[] = [];
    bad.forEach(([overrides, reason], i) => {
      batch.push(item({ measuredAt: `2026-04-30T${String(i % 24).padStart(2, '0')}:00:00Z` }));
      expected.push({ index: batch.length, reason });
      batch.push(item(overrides));
    });
    batch.push(null as unknown as MeasurementItem);
    expected.push({
      index: batch.length - 1,
      reason: 'The item null is not an object with measurement fields.',
    });

    const result = await ingestMeasurements(t.pool, batch, { now: NOW });
    expect(result.rejected).toEqual(expected);
    // The good items between the bad ones are all stored (24 distinct hours, so some repeat).
    expect(result).toMatchObject({ received: batch.length, inserted: 24, updated: 0 });
    expect(result.unchanged).toBe(bad.length - 24);
    expect(await storedMeasurements()).toHaveLength(24);
  });

  it('accepts old measurements and ones up to 10 minutes ahead', async () => {
    const result = await ingestMeasurements(
      t.pool,
      [
        item({ measuredAt: '1990-01-01T00:00:00Z' }),
        item({ measuredAt: '2026-05-01T12:10:00.000Z' }),
        item({ measuredAt: '2026-05-01T14:05:00+02:00' }),
        item({ measuredAt: new Date('2026-04-01T00:00:00Z') }),
      ],
      { now: NOW },
    );
    expect(result).toEqual({ received: 4, inserted: 4, updated: 0, unchanged: 0, rejected: [] });
    expect((await storedMeasurements()).map((m) => m.measuredAt)).toEqual([
      '1990-01-01T00:00:00.000000Z',
      '2026-04-01T00:00:00.000000Z',
      '2026-05-01T12:05:00.000000Z',
      '2026-05-01T12:10:00.000000Z',
    ]);
  });

  it('re-ingesting a batch leaves the tables unchanged and says so; a changed value is updated', async () => {
    const batch = [
      item(),
      item({ location: 'BETR802' }),
      item({ city: 'Gent', location: 'BETN012' }),
    ];
    expect(await ingestMeasurements(t.pool, batch, { now: NOW })).toMatchObject({
      inserted: 3,
      updated: 0,
      unchanged: 0,
    });
    const before = {
      measurements: await storedMeasurements(),
      cities: await rows('SELECT * FROM city ORDER BY id'),
      locations: await rows('SELECT * FROM location ORDER BY id'),
    };
    expect(await ingestMeasurements(t.pool, batch, { now: NOW })).toEqual({
      received: 3,
      inserted: 0,
      updated: 0,
      unchanged: 3,
      rejected: [],
    });
    expect({
      measurements: await storedMeasurements(),
      cities: await rows('SELECT * FROM city ORDER BY id'),
      locations: await rows('SELECT * FROM location ORDER BY id'),
    }).toEqual(before);

    // No auto-increment id was burnt by the repeated cities and stations.
    await ingestMeasurements(t.pool, [item({ city: 'Leuven', location: 'BETL001' })], { now: NOW });
    const [leuven] = await rows("SELECT id FROM city WHERE name = 'Leuven'");
    const [station] = await rows("SELECT id FROM location WHERE name = 'BETL001'");
    expect(leuven?.id).toBe(Math.max(...before.cities.map((c) => c.id)) + 1);
    expect(station?.id).toBe(Math.max(...before.locations.map((l) => l.id)) + 1);

    expect(
      await ingestMeasurements(t.pool, [item({ value: 30 }), item({ location: 'BETR802' })], {
        now: NOW,
      }),
    ).toEqual({ received: 2, inserted: 0, updated: 1, unchanged: 1, rejected: [] });
    const updated = await rows(
      "SELECT m.original_value AS v FROM measurement m JOIN location l ON l.id = m.location_id WHERE l.name = 'BETR801'",
    );
    expect(updated).toEqual([{ v: 30 }]);
  });

  it('counts duplicates inside one batch in order: the last value wins', async () => {
    const result = await ingestMeasurements(
      t.pool,
      [item({ value: 10 }), item({ value: 10 }), item({ value: 12 }), item({ location: 'X' })],
      { now: NOW },
    );
    expect(result).toEqual({ received: 4, inserted: 2, updated: 1, unchanged: 1, rejected: [] });
    expect((await storedMeasurements()).map((m) => [m.location, m.originalValue])).toEqual([
      ['BETR801', 12],
      ['X', 21.5],
    ]);
  });

  it('stores ppm as sent and µg/m³ normalised by the database; µ and μ are the same unit', async () => {
    const result = await ingestMeasurements(
      t.pool,
      [
        item({ parameter: 'no2', unit: 'ppm', value: 0.02 }),
        item({ parameter: 'CO', unit: 'PPM', value: 0.5 }),
        item({ parameter: 'o3', unit: 'μg/m³', value: 40 }), // Greek mu
        item({ parameter: 'so2', unit: 'µg/m3', value: 3 }),
      ],
      { now: NOW },
    );
    expect(result.rejected).toEqual([]);
    const stored = await storedMeasurements();
    expect(stored.map((m) => [m.pollutant, m.originalValue, m.originalUnit])).toEqual([
      ['co', 0.5, 'ppm'],
      ['no2', 0.02, 'ppm'],
      ['o3', 40, 'µg/m³'],
      ['so2', 3, 'µg/m³'],
    ]);
    expect(stored[0]?.value).toBeCloseTo((0.5 * 1000 * 28.01) / 24.45, 9);
    expect(stored[1]?.value).toBeCloseTo((0.02 * 1000 * 46.0055) / 24.45, 9);
    expect(stored[2]?.value).toBe(40);
  });

  it('updates a station whose coordinates change; a missing coordinate erases nothing', async () => {
    await ingestMeasurements(t.pool, [item()], { now: NOW });
    await ingestMeasurements(
      t.pool,
      [item({ latitude: 51.3, longitude: null, sourceName: undefined, sourceType: 'research' })],
      { now: NOW },
    );
    expect(
      await rows(
        'SELECT latitude, longitude, source_name AS sourceName, source_type AS sourceType FROM location',
      ),
    ).toEqual([
      { latitude: 51.3, longitude: 4.4314, sourceName: 'EEA Belgium', sourceType: 'research' },
    ]);
  });

  it('counts exactly over several statements of 1,000 rows', async () => {
    const at = (i: number) => new Date(Date.UTC(2026, 3, 1) + i * 60_000).toISOString();
    const first = Array.from({ length: 2500 }, (_, i) =>
      item({ location: `S${i % 7}`, measuredAt: at(i), value: i % 100 }),
    );
    expect(await ingestMeasurements(t.pool, first, { now: NOW })).toEqual({
      received: 2500,
      inserted: 2500,
      updated: 0,
      unchanged: 0,
      rejected: [],
    });
    // 1,000 repeated, 700 changed, 800 new, interleaved so that every statement mixes them.
    const second = Array.from({ length: 2500 }, (_, i) => {
      if (i % 25 < 10) return first[i] as MeasurementItem;
      if (i % 25 < 17) return item({ location: `S${i % 7}`, measuredAt: at(i), value: 1000 + i });
      return item({ location: `S${i % 7}`, measuredAt: at(10_000 + i), value: 1 });
    });
    expect(await ingestMeasurements(t.pool, second, { now: NOW })).toEqual({
      received: 2500,
      inserted: 800,
      updated: 700,
      unchanged: 1000,
      rejected: [],
    });
    const [count] = await rows(
      'SELECT COUNT(*) AS n, SUM(original_value >= 1000) AS changed FROM measurement',
    );
    expect(count).toEqual({ n: 3300, changed: 700 });
  });

  it('creates more cities and stations than one statement names, and finds them all again', async () => {
    // 1,200 stations in 600 cities: more than the 500 rows a statement looks up or inserts.
    const batch = Array.from({ length: 1200 }, (_, i) =>
      item({ city: `City ${i % 600}`, location: `S${i}`, value: i % 100 }),
    );
    expect(await ingestMeasurements(t.pool, batch, { now: NOW })).toEqual({
      received: 1200,
      inserted: 1200,
      updated: 0,
      unchanged: 0,
      rejected: [],
    });
    const counts = () =>
      rows(
        'SELECT (SELECT COUNT(*) FROM city) AS c, (SELECT COUNT(*) FROM location) AS l, (SELECT MAX(id) FROM location) AS lastLocation',
      );
    const [before] = await counts();
    expect(before).toMatchObject({ c: 600, l: 1200 });
    // Each station in its own city (S<i> in City <i mod 600>), with its one measurement.
    expect(
      await rows(
        `SELECT COUNT(*) AS n FROM measurement m JOIN location l ON l.id = m.location_id
         JOIN city c ON c.id = l.city_id WHERE c.name = CONCAT('City ', SUBSTRING(l.name, 2) MOD 600)`,
      ),
    ).toEqual([{ n: 1200 }]);
    // The same batch again: every station found, none inserted, no id burnt.
    expect(await ingestMeasurements(t.pool, batch, { now: NOW })).toMatchObject({
      inserted: 0,
      unchanged: 1200,
    });
    expect(await counts()).toEqual([before]);
  });

  it('stores nothing of the batch when the transaction fails', async () => {
    // A trigger makes the second statement of 1,000 rows fail, after the cities, stations and the
    // first 1,000 measurements were written.
    await t.pool.query(`
      CREATE TRIGGER measurement_fail BEFORE INSERT ON measurement FOR EACH ROW
      IF NEW.original_value = 777.5 THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the test trigger';
      END IF`);
    try {
      const batch = Array.from({ length: 1500 }, (_, i) =>
        item({
          city: `City ${i % 3}`,
          location: `S${i}`,
          value: i === 1499 ? 777.5 : 1,
        }),
      );
      await expect(ingestMeasurements(t.pool, batch, { now: NOW })).rejects.toThrow(
        'refused by the test trigger',
      );
      expect(
        await rows(
          'SELECT (SELECT COUNT(*) FROM measurement) AS m, (SELECT COUNT(*) FROM location) AS l, (SELECT COUNT(*) FROM city) AS c',
        ),
      ).toEqual([{ m: 0, l: 0, c: 0 }]);
    } finally {
      await t.pool.query('DROP TRIGGER measurement_fail');
    }
  });

  it('runs the transaction again after a deadlock', async () => {
    // A sequence is not transactional: the trigger fails the first attempt only, as InnoDB does
    // to the victim of a deadlock, and the rollback does not reset the count.
    await t.pool.query('CREATE SEQUENCE ingest_attempts START WITH 1 NOCACHE');
    await t.pool.query(`
      CREATE TRIGGER measurement_deadlock BEFORE INSERT ON measurement FOR EACH ROW
      IF NEXTVAL(ingest_attempts) = 1 THEN
        SIGNAL SQLSTATE '40001' SET MYSQL_ERRNO = 1213, MESSAGE_TEXT = 'Deadlock found when trying to get lock';
      END IF`);
    try {
      const result = await ingestMeasurements(
        t.pool,
        [item(), item({ location: 'BETR802' }), item({ city: 'Gent', location: 'BETN012' })],
        { now: NOW },
      );
      expect(result).toEqual({ received: 3, inserted: 3, updated: 0, unchanged: 0, rejected: [] });
      // Values 1-4 taken: the row that failed, then the three of the second attempt.
      expect(await rows('SELECT next_not_cached_value AS next FROM ingest_attempts')).toEqual([
        { next: 5 },
      ]);
      expect(await rows('SELECT COUNT(*) AS n FROM city')).toEqual([{ n: 2 }]);
      expect(await storedMeasurements()).toHaveLength(3);
    } finally {
      await t.pool.query('DROP TRIGGER measurement_deadlock');
      await t.pool.query('DROP SEQUENCE ingest_attempts');
    }
  });

  it('refuses a batch over the limit before looking at it', async () => {
    const error = await ingestMeasurements(t.pool, [item(), item(), item()], {
      now: NOW,
      maxBatch: 2,
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BatchTooLargeError);
    expect((error as Error).message).toBe(
      'The batch holds 3 measurements, more than the 2 allowed per request: split it into batches of at most 2.',
    );
    expect(await storedMeasurements()).toEqual([]);
  });
});
