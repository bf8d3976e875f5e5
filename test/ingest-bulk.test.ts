import mysql, { type Pool, type RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { BULK_MIN_ROWS } from '../src/db/measurements.js';
import { connectionOptions } from '../src/db/pool.js';
import { ingestMeasurements } from '../src/ingest/ingest-measurements.js';
import type { MeasurementItem } from '../src/ingest/validate-measurement.js';
import { clearMeasurements, useTestDatabase } from './helpers/database.js';
import { measurement } from './helpers/measurements.js';

/*
 * Batches of BULK_MIN_ROWS rows and more go through LOAD DATA LOCAL into a staging table of the
 * session and one INSERT ... SELECT (src/db/measurements.ts): the same counts, the same order of
 * a key sent twice, the same atomicity as the multi-row INSERTs, and INSERTs again where the
 * server or the client refuses LOAD DATA LOCAL.
 */

const t = useTestDatabase(import.meta.filename);
const NOW = new Date('2026-05-01T12:00:00.000Z');
const at = (i: number) => new Date(Date.UTC(2026, 3, 1) + i * 60_000).toISOString();

function item(i: number, value: number, station = `S${i % 9}`): MeasurementItem {
  return measurement('Gent', station, 'pm25', value, at(i));
}

async function rows(sql: string): Promise<RowDataPacket[]> {
  const [result] = await t.pool.query<RowDataPacket[]>(sql);
  return result;
}

/** How the statements of a batch were sent: the bulk path names its LOAD DATA loadMeasurements. */
function withStatementNames(pool: Pool): { pool: Pool; names: string[] } {
  const names: string[] = [];
  return {
    names,
    pool: new Proxy(pool, {
      get(target, property) {
        const value = Reflect.get(target, property, target);
        if (property !== 'getConnection')
          return typeof value === 'function' ? value.bind(target) : value;
        return async () => {
          const connection = await target.getConnection();
          return new Proxy(connection, {
            get(c, p) {
              const v = Reflect.get(c, p, c);
              if (p !== 'query') return typeof v === 'function' ? v.bind(c) : v;
              return (sql: unknown, ...rest: unknown[]) => {
                const text = typeof sql === 'string' ? sql : String((sql as { sql: string }).sql);
                const name = /\/\* (\w+) \*\//.exec(text)?.[1];
                if (name) names.push(name);
                return (v as (...a: unknown[]) => unknown).call(c, sql, ...rest);
              };
            },
          });
        };
      },
    }),
  };
}

describe('the bulk path of large batches', () => {
  let refusing: Pool | undefined;
  beforeEach(() => clearMeasurements(t.pool));
  afterAll(async () => {
    await refusing?.end();
  });

  it('counts new, changed, unchanged and twice-sent rows exactly, the later of a pair last', async () => {
    const first = Array.from({ length: BULK_MIN_ROWS }, (_, i) => item(i, i % 50));
    const counted = withStatementNames(t.pool);
    expect(await ingestMeasurements(counted.pool, first, { now: NOW })).toEqual({
      received: BULK_MIN_ROWS,
      inserted: BULK_MIN_ROWS,
      updated: 0,
      unchanged: 0,
      rejected: [],
    });
    expect(counted.names).toContain('loadMeasurements');
    // 1,000 sent again as they are, 600 changed, 400 new; then a new key sent twice (inserted,
    // then updated) and a known key sent twice more with new values (updated twice): the later of
    // each is what stays.
    const second = [
      ...first.slice(0, 1000),
      ...first.slice(1000, 1600).map((m, k) => ({ ...m, value: 100 + k })),
      ...Array.from({ length: 400 }, (_, k) => item(10_000 + k, 1)),
      item(20_000, 5),
      item(20_000, 6),
      { ...(first[0] as MeasurementItem), value: 7 },
      { ...(first[0] as MeasurementItem), value: 8 },
    ];
    expect(await ingestMeasurements(counted.pool, second, { now: NOW })).toEqual({
      received: 2004,
      inserted: 401,
      updated: 603,
      unchanged: 1000,
      rejected: [],
    });
    expect(
      await rows(
        `SELECT COUNT(*) AS n, SUM(original_value >= 100) AS changed,
                MAX(CASE WHEN measured_at = '${at(20_000).slice(0, 19).replace('T', ' ')}' THEN original_value END) AS pair,
                MAX(CASE WHEN measured_at = '${at(0).slice(0, 19).replace('T', ' ')}' THEN original_value END) AS known
         FROM measurement`,
      ),
    ).toEqual([{ n: 2401, changed: 600, pair: 6, known: 8 }]);
  });

  it('stores nothing of a large batch when its INSERT ... SELECT fails, and loads the next one whole', async () => {
    await t.pool.query(`
      CREATE TRIGGER measurement_fail BEFORE INSERT ON measurement FOR EACH ROW
      IF NEW.original_value = 777.5 THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the test trigger';
      END IF`);
    const batch = Array.from({ length: BULK_MIN_ROWS + 10 }, (_, i) =>
      item(i, i === BULK_MIN_ROWS ? 777.5 : 1, `New ${i % 40}`),
    );
    try {
      await expect(ingestMeasurements(t.pool, batch, { now: NOW })).rejects.toThrow(
        'refused by the test trigger',
      );
    } finally {
      await t.pool.query('DROP TRIGGER measurement_fail');
    }
    expect(
      await rows(
        'SELECT (SELECT COUNT(*) FROM measurement) AS m, (SELECT COUNT(*) FROM location) AS l, (SELECT COUNT(*) FROM city) AS c',
      ),
    ).toEqual([{ m: 0, l: 0, c: 0 }]);
    // The staging table of that session still holds the failed batch: it is emptied first.
    const smaller = batch.slice(0, BULK_MIN_ROWS);
    expect(await ingestMeasurements(t.pool, smaller, { now: NOW })).toMatchObject({
      inserted: BULK_MIN_ROWS,
    });
    expect(await rows('SELECT COUNT(*) AS n FROM measurement')).toEqual([{ n: BULK_MIN_ROWS }]);
  });

  it('falls back to multi-row INSERTs where LOAD DATA LOCAL is refused', async () => {
    // A client that does not offer LOCAL_FILES: the server refuses LOAD DATA LOCAL on it.
    const options = connectionOptions(t.db);
    refusing = mysql.createPool({
      ...options,
      flags: [...(options.flags as string[]), '-LOCAL_FILES'],
      connectionLimit: 1,
    });
    const counted = withStatementNames(refusing);
    const batch = Array.from({ length: BULK_MIN_ROWS }, (_, i) => item(i, 3));
    expect(await ingestMeasurements(counted.pool, batch, { now: NOW })).toMatchObject({
      inserted: BULK_MIN_ROWS,
    });
    expect(counted.names.filter((name) => name === 'loadMeasurements')).toHaveLength(1);
    expect(counted.names.filter((name) => name === 'upsertMeasurements')).toHaveLength(
      BULK_MIN_ROWS / 1000,
    );
    // The connection that refused is not asked again.
    counted.names.splice(0);
    expect(await ingestMeasurements(counted.pool, batch, { now: NOW })).toMatchObject({
      unchanged: BULK_MIN_ROWS,
    });
    expect(counted.names).not.toContain('loadMeasurements');
    expect(await rows('SELECT COUNT(*) AS n FROM measurement')).toEqual([{ n: BULK_MIN_ROWS }]);
  });
});
