import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, testApp, withToken } from './helpers/app.js';
import { createPool, useTestDatabase } from './helpers/database.js';
import { INGEST, measurement, minutesAgo } from './helpers/measurements.js';

const POOL_SIZE = 2;
const ACQUIRE_TIMEOUT_MS = 300;

function batch(location: string, size: number) {
  return Array.from({ length: size }, (_, i) =>
    measurement('Antwerpen', location, 'PM10', 10 + i, minutesAgo(10 + i)),
  );
}

const EXHAUSTED = `the pool is exhausted: all ${POOL_SIZE} database connections stayed busy for ${ACQUIRE_TIMEOUT_MS} ms (DB_POOL_SIZE, DB_ACQUIRE_TIMEOUT_MS)`;

const t = useTestDatabase(import.meta.filename);
let pool: Pool;
let app: ReturnType<typeof testApp>;

/** Rows of the station's measurements, read past the app's pool. */
async function stored(location: string): Promise<number> {
  const [[row]] = await t.pool.query<RowDataPacket[]>(
    `SELECT COUNT(*) AS n FROM measurement m JOIN location l ON l.id = m.location_id WHERE l.name = ?`,
    [location],
  );
  return Number(row?.n);
}

beforeAll(() => {
  pool = createPool(t.db, POOL_SIZE, { acquireTimeoutMs: ACQUIRE_TIMEOUT_MS });
  app = testApp(t, {}, { pool });
});

afterAll(async () => {
  await pool?.end();
});

describe('an exhausted pool', () => {
  it('answers DATABASE_UNAVAILABLE instead of hanging, and never runs a refused write later', async () => {
    // A first batch reads the pollutant table (cached per pool): the refused batch below then
    // fails where it takes its transaction's connection, the acquisition that matters.
    const first = await graphql(app, INGEST, { m: batch('BETR801', 3) }, withToken);
    expect(first.data.ingestMeasurements).toMatchObject({ received: 3, inserted: 3 });

    // Every connection of the pool held, each inside an open transaction with a lock.
    const held: PoolConnection[] = [];
    for (let i = 0; i < POOL_SIZE; i += 1) {
      const connection = await pool.getConnection();
      await connection.beginTransaction();
      await connection.query(`SELECT GET_LOCK('belair.test.pool.${i}', 0)`);
      held.push(connection);
    }

    // These answer although no connection will be free before the test lets them go.
    const query = await graphql(app, '{ airQualityRuns { id } }');
    expect(query.status).toBe(503);
    expect(query.data).toBeNull();
    expect(query.errors).toEqual([
      {
        message: `The database cannot take this request: ${EXHAUSTED}. Try again in 5 seconds or so; GET /readyz says when the service is ready again.`,
        locations: [{ line: 1, column: 3 }],
        path: ['airQualityRuns'],
        extensions: { code: 'DATABASE_UNAVAILABLE', retryable: true },
      },
    ]);

    const refused = await graphql(app, INGEST, { m: batch('BETR999', 50) }, withToken);
    expect(refused.status).toBe(503);
    expect(refused.data).toBeNull();
    expect(refused.errors).toEqual([
      {
        message: `The database cannot take this request: ${EXHAUSTED}. The write was not done (nothing of it was stored): send it again. Try again in 5 seconds or so; GET /readyz says when the service is ready again.`,
        path: ['ingestMeasurements'],
        extensions: { code: 'DATABASE_UNAVAILABLE', retryable: true },
      },
    ]);

    const readyz = await app.yoga.fetch('http://belair.test/readyz');
    expect(readyz.status).toBe(503);
    expect(await readyz.json()).toEqual({
      ready: false,
      reasons: [`No database connection is free: ${EXHAUSTED}.`],
      database: 'unreachable',
    });
    expect(app.logger.errors).toEqual([]);

    for (const connection of held) {
      await connection.rollback();
      connection.release();
    }

    // mysql2 hands connections to its queue in order: once a later request got one, every
    // acquisition that timed out before it has received its connection, and let it go unused.
    const after = await graphql(app, INGEST, { m: batch('BETR802', 4) }, withToken);
    expect(after.errors).toBeUndefined();
    expect(after.data.ingestMeasurements).toEqual({
      received: 4,
      inserted: 4,
      updated: 0,
      unchanged: 0,
      rejected: [],
    });
    const runs = await graphql(app, '{ airQualityRuns { id } }');
    expect(runs).toMatchObject({ status: 200, data: { airQualityRuns: [] } });
    expect(await stored('BETR999')).toBe(0);
    expect(await stored('BETR801')).toBe(3);
    expect(await stored('BETR802')).toBe(4);
    // Neither the station of the refused batch: nothing of it ran.
    const [stations] = await t.pool.query<RowDataPacket[]>(
      'SELECT name FROM location ORDER BY name',
    );
    expect(stations.map((s) => s.name)).toEqual(['BETR801', 'BETR802']);
  });

  it('gives a late connection back to the pool unused', async () => {
    const first = await pool.getConnection();
    const second = await pool.getConnection();
    const [[before]] = await first.query<RowDataPacket[]>(
      'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = DATABASE()',
    );
    await expect(pool.getConnection()).rejects.toThrow(EXHAUSTED);
    await expect(pool.query('SELECT 1')).rejects.toThrow(EXHAUSTED);
    first.release();
    second.release();
    // The two late arrivals went back: both connections are free again, and no new one was made.
    const third = await pool.getConnection();
    const fourth = await pool.getConnection();
    const [[after]] = await third.query<RowDataPacket[]>(
      'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = DATABASE()',
    );
    expect(Number(after?.n)).toBe(Number(before?.n));
    third.release();
    fourth.release();
  });
});

describe('rows locked by another writer', () => {
  it('answers DATABASE_UNAVAILABLE after DB_LOCK_WAIT_TIMEOUT_SECONDS per attempt, storing nothing', async () => {
    const bounded = createPool(t.db, POOL_SIZE, { lockWaitTimeoutSeconds: 1 });
    const lockApp = testApp(t, {}, { pool: bounded });
    const holder = await t.pool.getConnection();
    try {
      const [[session]] = await bounded.query<RowDataPacket[]>(
        'SELECT @@SESSION.innodb_lock_wait_timeout AS seconds',
      );
      expect(Number(session?.seconds)).toBe(1);
      const first = await graphql(lockApp, INGEST, { m: batch('BETR-LOCKED', 2) }, withToken);
      expect(first.data.ingestMeasurements).toMatchObject({ received: 2, inserted: 2 });

      // Another writer (Adminer, a script) holds the station's row and does not let go.
      await holder.beginTransaction();
      await holder.query("SELECT id FROM location WHERE name = 'BETR-LOCKED' FOR UPDATE");
      const next = batch('BETR-LOCKED', 5).slice(2);
      const refused = await graphql(lockApp, INGEST, { m: next }, withToken);
      expect(refused.status).toBe(503);
      expect(refused.errors).toEqual([
        expect.objectContaining({
          message:
            'The database is unavailable (rows locked by another writer too long). The write was not done (nothing of it was stored): send it again. Try again in 5 seconds or so; GET /readyz says when the service is ready again.',
          path: ['ingestMeasurements'],
          extensions: { code: 'DATABASE_UNAVAILABLE', retryable: true },
        }),
      ]);
      expect(await stored('BETR-LOCKED')).toBe(2);

      // Once the other writer commits, the same batch goes through.
      await holder.commit();
      const resent = await graphql(lockApp, INGEST, { m: next }, withToken);
      expect(resent.data.ingestMeasurements).toMatchObject({ received: 3, inserted: 3 });
      expect(await stored('BETR-LOCKED')).toBe(5);
    } finally {
      await holder.rollback().catch(() => {});
      holder.release();
      await lockApp.stop(1000);
      await bounded.end();
    }
  });
});
