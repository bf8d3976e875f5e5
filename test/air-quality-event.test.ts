import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../src/db/migrate.js';
import {
  createPool,
  useScratchDatabases,
  useTestDatabase,
  waitFor,
  withEventScheduler,
} from './helpers/database.js';
import { HOUR, insertCity, insertLocation } from './helpers/seed.js';

const EVENT_COLUMNS = `EVENT_NAME AS name, STATUS AS status, EVENT_TYPE AS type,
  INTERVAL_VALUE AS every, INTERVAL_FIELD AS unit, EVENT_DEFINITION AS definition,
  ON_COMPLETION AS onCompletion, TIMESTAMPDIFF(SECOND, CREATED, STARTS) AS startsAfterSeconds,
  DATE_FORMAT(STARTS, '%Y-%m-%d %H:%i:%s') AS starts`;

async function events(pool: ReturnType<typeof createPool>, database: string) {
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT ${EVENT_COLUMNS} FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? ORDER BY EVENT_NAME`,
    [database],
  );
  return Object.fromEntries(rows.map((row) => [row.name, row]));
}

describe('the EVENTs of a freshly migrated database', () => {
  // A database migrated here, not through createTestDatabase (which disables the EVENTs), to see
  // them as `npm run db:migrate` leaves them.
  const fresh = useScratchDatabases()('event_fresh');
  let pool: ReturnType<typeof createPool>;
  let asMigrated: Record<string, RowDataPacket>;

  beforeAll(async () => {
    await migrate(fresh, { ensureEventScheduler: false });
    pool = createPool(fresh, 2);
    asMigrated = await events(pool, fresh.database);
    // They would fire a minute from now wherever the scheduler is on: this database is for looking.
    await pool.query('ALTER EVENT refresh_air_quality DISABLE');
    await pool.query('ALTER EVENT purge_old_data DISABLE');
  });

  afterAll(async () => {
    await pool?.end();
  });

  it('refresh_air_quality is ENABLED, every 5 minutes, calls refresh_air_quality(UTC_TIMESTAMP(3))', () => {
    expect(asMigrated.refresh_air_quality).toMatchObject({
      status: 'ENABLED',
      type: 'RECURRING',
      every: '5',
      unit: 'MINUTE',
      definition: 'CALL refresh_air_quality(UTC_TIMESTAMP(3))',
      onCompletion: 'PRESERVE',
    });
    // It starts a minute after its creation instead of firing the moment it is created (CREATED
    // has whole seconds and may tick over while the statement runs).
    expect([59, 60]).toContain(asMigrated.refresh_air_quality?.startsAfterSeconds);
  });

  it('purge_old_data is ENABLED, every hour, calls purge_old_data(UTC_TIMESTAMP(3))', () => {
    expect(asMigrated.purge_old_data).toMatchObject({
      status: 'ENABLED',
      type: 'RECURRING',
      every: '1',
      unit: 'HOUR',
      definition: 'CALL purge_old_data(UTC_TIMESTAMP(3))',
      onCompletion: 'PRESERVE',
    });
    expect([599, 600]).toContain(asMigrated.purge_old_data?.startsAfterSeconds);
  });

  it("re-applying sql/ keeps an operator's DISABLE and schedule, and restores what the event does", async () => {
    await pool.query(
      "ALTER EVENT refresh_air_quality ON SCHEDULE EVERY 7 MINUTE STARTS '2030-01-01 00:00:00' DISABLE DO SELECT 1",
    );
    await pool.query(
      "ALTER EVENT purge_old_data ON SCHEDULE EVERY 2 HOUR STARTS '2030-01-01 00:00:00' ENABLE",
    );
    await migrate(fresh, { ensureEventScheduler: false, reapply: 'all' });
    const after = await events(pool, fresh.database);
    await pool.query('ALTER EVENT purge_old_data DISABLE');
    expect(after.refresh_air_quality).toMatchObject({
      status: 'DISABLED',
      every: '7',
      unit: 'MINUTE',
      starts: '2030-01-01 00:00:00',
      definition: 'CALL refresh_air_quality(UTC_TIMESTAMP(3))',
    });
    expect(after.purge_old_data).toMatchObject({
      status: 'ENABLED',
      every: '2',
      unit: 'HOUR',
      starts: '2030-01-01 00:00:00',
      definition: 'CALL purge_old_data(UTC_TIMESTAMP(3))',
    });
  });
});

describe('the EVENT refresh_air_quality at work', () => {
  const t = useTestDatabase(import.meta.filename);

  it('fires: rescheduled to every second, runs appear, evaluated at the current UTC instant', async () => {
    const location = await insertLocation(
      t.pool,
      await insertCity(t.pool, 'BE', 'Hasselt'),
      'BETR01',
    );
    // A measurement a minute old by the database's own UTC clock: inside every window from now on.
    await t.pool.query(
      "INSERT INTO measurement (location_id, pollutant, measured_at, original_value, original_unit) VALUES (?, 'pm10', UTC_TIMESTAMP(3) - INTERVAL 1 MINUTE, 42, 'µg/m³')",
      [location],
    );
    const utcNow = async () => {
      const [[row]] = await t.pool.query<RowDataPacket[]>('SELECT UTC_TIMESTAMP(3) AS now');
      return (row?.now as Date | undefined)?.getTime() ?? Number.NaN;
    };
    const before = await utcNow();
    await withEventScheduler('ON', async () => {
      await t.pool.query('ALTER EVENT refresh_air_quality ON SCHEDULE EVERY 1 SECOND ENABLE');
      try {
        await waitFor(
          async () => {
            const [[row]] = await t.pool.query<RowDataPacket[]>(
              'SELECT COUNT(*) AS runs FROM air_quality_run',
            );
            return Number(row?.runs) >= 2 ? true : undefined;
          },
          60_000,
          'two runs of the EVENT',
        );
      } finally {
        await t.pool.query('ALTER EVENT refresh_air_quality DISABLE');
      }
    });
    const after = await utcNow();

    const [runs] = await t.pool.query<RowDataPacket[]>(
      `SELECT r.id, r.evaluated_at AS evaluatedAt, r.window_start AS windowStart,
              r.window_end AS windowEnd, r.measurements, r.cities,
              q.pollutant, q.count, q.average
       FROM air_quality_run r LEFT JOIN city_air_quality q ON q.run_id = r.id ORDER BY r.id`,
    );
    expect(runs.length).toBeGreaterThanOrEqual(2);
    for (const run of runs) {
      const evaluatedAt = (run.evaluatedAt as Date).getTime();
      // UTC_TIMESTAMP(3), not a session-zone NOW() nor a time of day: inside this test's span.
      expect(evaluatedAt).toBeGreaterThanOrEqual(before);
      expect(evaluatedAt).toBeLessThanOrEqual(after);
      expect((run.windowEnd as Date).getTime()).toBe(evaluatedAt);
      expect((run.windowStart as Date).getTime()).toBe(evaluatedAt - 3 * HOUR);
      expect(run).toMatchObject({
        measurements: 1,
        cities: 1,
        pollutant: 'pm10',
        count: 1,
        average: 42,
      });
    }
    const [[status]] = await t.pool.query<RowDataPacket[]>(
      "SELECT STATUS AS status FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE() AND EVENT_NAME = 'refresh_air_quality'",
    );
    expect(status?.status).toBe('DISABLED');
  });
});
