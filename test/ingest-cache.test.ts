import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { cityKey } from '../src/db/cities.js';
import { rereadCityDirectory } from '../src/db/city-directory.js';
import { locationKey } from '../src/db/locations.js';
import { createPool } from '../src/db/pool.js';
import { ingestMeasurements } from '../src/ingest/ingest-measurements.js';
import { forgetKnownRows, knownRowsOf } from '../src/ingest/known-rows.js';
import type { MeasurementItem } from '../src/ingest/validate-measurement.js';
import { clearMeasurements, useTestDatabase } from './helpers/database.js';
import { measurement } from './helpers/measurements.js';

/*
 * What an API process keeps of the cities and stations earlier batches committed, so that a
 * batch does not look them up again (src/ingest/known-rows.ts), and why it can never make a batch
 * store a wrong row: another process creating or changing stations, rows deleted and created
 * again under ids that meant something else, a name that became an alias, a batch rolled back.
 * "Another process" is a pool of its own, with a cache of its own, on the same database.
 */

const t = useTestDatabase(import.meta.filename);
let other: Pool;
afterAll(async () => {
  await other?.end();
});

const NOW = new Date('2026-05-01T12:00:00.000Z');
const at = (minute: number) => new Date(Date.UTC(2026, 4, 1, 10, minute)).toISOString();

function item(
  city: string,
  location: string,
  minute: number,
  extra: Partial<MeasurementItem> = {},
): MeasurementItem {
  return { ...measurement(city, location, 'pm10', 10 + minute, at(minute)), ...extra };
}

const ingest = (pool: Pool, items: MeasurementItem[]) =>
  ingestMeasurements(pool, items, { now: NOW });

async function rows(sql: string, values: unknown[] = []): Promise<RowDataPacket[]> {
  const [result] = await t.pool.query<RowDataPacket[]>(sql, values);
  return result;
}

/** Every station with its city and attributes, and its number of measurements. */
function stations() {
  return rows(`
    SELECT c.name AS city, l.name, l.latitude, l.longitude, l.source_name AS sourceName,
           (SELECT COUNT(*) FROM measurement m WHERE m.location_id = l.id) AS measurements
    FROM location l JOIN city c ON c.id = l.city_id ORDER BY c.name, l.name`);
}

/**
 * The statements of the batches sent through the pool (on its connections or on itself), by the
 * name in their leading comment.
 */
function countingStatements(pool: Pool): { pool: Pool; names: string[] } {
  const names: string[] = [];
  const record = (sql: unknown) => {
    const text = typeof sql === 'string' ? sql : String((sql as { sql?: string }).sql);
    names.push(/\/\* (\w+) \*\//.exec(text)?.[1] ?? text.split(' ').slice(0, 2).join(' '));
  };
  const wrapConnection = (connection: PoolConnection) =>
    new Proxy(connection, {
      get(target, property) {
        const value = Reflect.get(target, property, target);
        if (property === 'query') {
          return (sql: unknown, ...rest: unknown[]) => {
            record(sql);
            return (value as (...a: unknown[]) => unknown).call(target, sql, ...rest);
          };
        }
        if (property === 'beginTransaction' || property === 'commit') names.push(property);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  return {
    names,
    pool: new Proxy(pool, {
      get(target, property) {
        const value = Reflect.get(target, property, target);
        if (property === 'getConnection') {
          return async () => wrapConnection(await target.getConnection());
        }
        if (property === 'query') {
          return (sql: unknown, ...rest: unknown[]) => {
            record(sql);
            return (value as (...a: unknown[]) => unknown).call(target, sql, ...rest);
          };
        }
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }),
  };
}

describe('the cache of cities and stations', () => {
  beforeEach(async () => {
    await clearMeasurements(t.pool);
    other ??= createPool(t.db, 2);
    // Each test starts from processes that know nothing yet.
    forgetKnownRows(knownRowsOf(t.pool));
    forgetKnownRows(knownRowsOf(other));
  });

  it('saves the lookups of known cities and stations: one lock and one INSERT per batch', async () => {
    const counted = countingStatements(t.pool);
    await ingest(counted.pool, [item('Gent', 'G-1', 0), item('Gent', 'G-2', 0)]);
    const first = counted.names.splice(0);
    expect(first).toContain('findCityIds');
    expect(first).toContain('insertLocations');
    expect(await ingest(counted.pool, [item('Gent', 'G-1', 1), item('Gent', 'G-2', 1)])).toEqual({
      received: 2,
      inserted: 2,
      updated: 0,
      unchanged: 0,
      rejected: [],
    });
    expect(counted.names.filter((name) => name !== 'SET SESSION')).toEqual([
      'beginTransaction',
      'lockLocations',
      'upsertMeasurements',
      'commit',
    ]);
  });

  it('finds a station that another process created, and keeps its attributes', async () => {
    await ingest(t.pool, [item('Gent', 'G-1', 0)]);
    expect(
      await ingest(other, [item('Gent', 'G-2', 0, { latitude: 51.05, sourceName: 'IRCEL' })]),
    ).toMatchObject({ inserted: 1 });
    // This process knows Gent and G-1, not G-2: it looks G-2 up rather than create it again.
    expect(await ingest(t.pool, [item('Gent', 'G-1', 1), item('Gent', 'G-2', 1)])).toEqual({
      received: 2,
      inserted: 2,
      updated: 0,
      unchanged: 0,
      rejected: [],
    });
    expect(await stations()).toEqual([
      {
        city: 'Gent',
        name: 'G-1',
        latitude: null,
        longitude: null,
        sourceName: null,
        measurements: 2,
      },
      {
        city: 'Gent',
        name: 'G-2',
        latitude: 51.05,
        longitude: null,
        sourceName: 'IRCEL',
        measurements: 2,
      },
    ]);
  });

  it('stores the attributes a batch sends even where another process changed them since', async () => {
    const coordinates = { latitude: 51.05, longitude: 3.72, sourceName: 'IRCEL' };
    await ingest(t.pool, [item('Gent', 'G-1', 0, coordinates)]);
    expect(knownRowsOf(t.pool).stations.size).toBe(1);
    // Another process moves the station and renames its source.
    await ingest(other, [item('Gent', 'G-1', 1, { latitude: 51.06, sourceName: 'EEA' })]);
    // This process believes what it stored, which is what it sends again: the lock reads the
    // station as stored, finds the other process's values, and the batch updates them after all.
    expect(await ingest(t.pool, [item('Gent', 'G-1', 2, { latitude: 51.05 })])).toMatchObject({
      inserted: 1,
    });
    expect(await stations()).toEqual([
      {
        city: 'Gent',
        name: 'G-1',
        latitude: 51.05,
        longitude: 3.72,
        sourceName: 'EEA',
        measurements: 3,
      },
    ]);
    // And a batch that sends no attributes leaves them as they are.
    await ingest(t.pool, [item('Gent', 'G-1', 3)]);
    expect(await stations()).toMatchObject([{ latitude: 51.05, sourceName: 'EEA' }]);
  });

  it('stores under the right rows after they were deleted and their ids given to others', async () => {
    const fresh = async () => {
      await clearMeasurements(t.pool);
      // An empty table's counter goes back to 1: the next rows take the ids of the deleted ones.
      await t.pool.query('ALTER TABLE location AUTO_INCREMENT = 1');
      await t.pool.query('ALTER TABLE city AUTO_INCREMENT = 1');
    };
    await fresh();
    await ingest(t.pool, [item('Alpha', 'X', 0), item('Beta', 'Y', 0)]);
    const known = knownRowsOf(t.pool);
    expect(known.cities.get(cityKey({ country: 'BE', name: 'Alpha' }))).toBe(1);
    await fresh();
    // Another process creates Beta first: Beta is city 1 now, and station 1 is Beta's X.
    await ingest(other, [item('Beta', 'X', 1)]);
    await ingest(other, [item('Alpha', 'Y', 1)]);
    // This process still believes Alpha is city 1 and (1, X) station 1: the lock finds station 1
    // in Beta, and the batch runs again on fresh reads.
    expect(await ingest(t.pool, [item('Alpha', 'X', 2), item('Beta', 'Y', 2)])).toMatchObject({
      inserted: 2,
    });
    expect((await stations()).map((s) => [s.city, s.name, s.measurements])).toEqual([
      ['Alpha', 'X', 1],
      ['Alpha', 'Y', 1],
      ['Beta', 'X', 1],
      ['Beta', 'Y', 1],
    ]);
  });

  it('believes nothing of a batch that was rolled back', async () => {
    await ingest(t.pool, [item('Gent', 'G-1', 0, { latitude: 51.05 })]);
    const known = knownRowsOf(t.pool);
    const gent = known.cities.get(cityKey({ country: 'BE', name: 'Gent' })) as number;
    await t.pool.query(`
      CREATE TRIGGER measurement_fail BEFORE INSERT ON measurement FOR EACH ROW
      IF NEW.original_value = 777.5 THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the test trigger';
      END IF`);
    try {
      // A new city and station and a changed one, then the failure: all rolled back.
      await expect(
        ingest(t.pool, [
          item('Gent', 'G-1', 1, { latitude: 51.06 }),
          item('Liège', 'L-1', 1),
          item('Liège', 'L-2', 1, { value: 777.5 }),
        ]),
      ).rejects.toThrow('refused by the test trigger');
    } finally {
      await t.pool.query('DROP TRIGGER measurement_fail');
    }
    expect([...known.cities.keys()]).toEqual([cityKey({ country: 'BE', name: 'Gent' })]);
    expect([...known.stations.values()]).toEqual([
      expect.objectContaining({ name: 'G-1', latitude: 51.05 }),
    ]);
    expect(await rows('SELECT name FROM city')).toEqual([{ name: 'Gent' }]);
    // The same batch again, now that it can pass, creates what the rolled-back one had created.
    expect(
      await ingest(t.pool, [
        item('Gent', 'G-1', 1, { latitude: 51.06 }),
        item('Liège', 'L-1', 1),
        item('Liège', 'L-2', 1),
      ]),
    ).toMatchObject({ inserted: 3 });
    expect((await stations()).map((s) => [s.city, s.name, s.latitude])).toEqual([
      ['Gent', 'G-1', 51.06],
      ['Liège', 'L-1', null],
      ['Liège', 'L-2', null],
    ]);
    // The station the batch updated is looked up again next time; the others are known.
    expect(known.stations.has(locationKey({ cityId: gent, name: 'G-1' }))).toBe(false);
    expect(known.stations.size).toBe(2);
  });

  it('stores a name under the city it has become an alias of', async () => {
    await ingest(t.pool, [item('Testdorp', 'T-1', 0)]);
    expect(knownRowsOf(t.pool).cities.has(cityKey({ country: 'BE', name: 'Testdorp' }))).toBe(true);
    await t.pool.query(
      "INSERT INTO city_name (country, city, nl, fr, de, en) VALUES ('BE', 'Teststad', 'Teststad', 'Villetest', 'Teststadt', 'Testtown')",
    );
    await t.pool.query(
      "INSERT INTO city_alias (country, alias, city) VALUES ('BE', 'Testdorp', 'Teststad')",
    );
    try {
      await rereadCityDirectory(t.pool);
      // The id this process keeps for Testdorp is the id of the city stored under that name:
      // the alias now sends the batch to Teststad, whatever the cache holds.
      expect(await ingest(t.pool, [item('Testdorp', 'T-1', 1)])).toMatchObject({ inserted: 1 });
      expect((await stations()).map((s) => [s.city, s.name, s.measurements])).toEqual([
        ['Testdorp', 'T-1', 1],
        ['Teststad', 'T-1', 1],
      ]);
    } finally {
      await t.pool.query("DELETE FROM city_alias WHERE alias = 'Testdorp'");
      await t.pool.query('DELETE FROM city_air_quality');
      await clearMeasurements(t.pool);
      await t.pool.query("DELETE FROM city_name WHERE city = 'Teststad'");
      await rereadCityDirectory(t.pool);
    }
  });

  it('answers a repeat of stored rows in one statement, without a transaction', async () => {
    const counted = countingStatements(t.pool);
    const batch = [item('Gent', 'G-1', 0, { latitude: 51.05 }), item('Gent', 'G-2', 0)];
    await ingest(counted.pool, batch);
    counted.names.splice(0);
    expect(await ingest(counted.pool, batch)).toEqual({
      received: 2,
      inserted: 0,
      updated: 0,
      unchanged: 2,
      rejected: [],
    });
    expect(counted.names).toEqual(['countRepeats']);
  });

  it('writes what a repeat changes: a value, an attribute or a late row another process touched', async () => {
    const counted = countingStatements(t.pool);
    const batch = [item('Gent', 'G-1', 5, { latitude: 51.05 }), item('Gent', 'G-2', 5)];
    await ingest(counted.pool, batch);
    // Another process changes a value and moves a station the batch sends coordinates of.
    await ingest(other, [item('Gent', 'G-2', 5, { value: 99 })]);
    await ingest(other, [item('Gent', 'G-1', 6, { latitude: 51.07 })]);
    counted.names.splice(0);
    expect(await ingest(counted.pool, batch)).toEqual({
      received: 2,
      inserted: 0,
      updated: 1,
      unchanged: 1,
      rejected: [],
    });
    // The check found the rows changed: the batch went the usual way, in a transaction.
    expect(counted.names.slice(0, 2)).toEqual(['countRepeats', 'beginTransaction']);
    expect((await stations()).map((s) => [s.name, s.latitude, s.measurements])).toEqual([
      ['G-1', 51.05, 2],
      ['G-2', null, 1],
    ]);
    expect(
      await rows('SELECT original_value AS v FROM measurement WHERE original_value = 99'),
    ).toEqual([]);
    // A late measurement (earlier than the latest stored, never stored) is no repeat either.
    expect(await ingest(counted.pool, [item('Gent', 'G-2', 1)])).toMatchObject({ inserted: 1 });
  });
});
