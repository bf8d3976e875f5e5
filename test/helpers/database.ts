import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import mysql, { type Connection, type Pool, type RowDataPacket } from 'mysql2/promise';
import { afterAll } from 'vitest';
import type { DatabaseConfig } from '../../src/config/config.js';
import { loadConfig } from '../../src/config/config.js';
import { migrate } from '../../src/db/migrate.js';
import { connectionOptions, createPool } from '../../src/db/pool.js';
import { useForAll } from './lifecycle.js';

/** The server the tests use: the environment's DB_* settings, 127.0.0.1:3306 as root by default. */
export function testServer(): DatabaseConfig {
  return loadConfig().db;
}

/** The DB_* settings that point a process (npm start, a script's main) at a database. */
export function dbEnv(db: DatabaseConfig): Record<string, string> {
  return {
    DB_USERNAME: db.user,
    DB_PASSWORD: db.password,
    DB_HOSTNAME: db.host,
    DB_PORT: String(db.port),
    DB_DATABASE: db.database,
  };
}

/** Writes the original project's configuration file (KEY = "value" lines) for a database. */
export async function writeLegacyConfig(file: string, db: DatabaseConfig): Promise<void> {
  const lines = Object.entries(dbEnv(db)).map(([name, value]) => `${name} = "${value}"`);
  await writeFile(file, `${lines.join('\n')}\n`);
}

export interface TestDatabase {
  readonly db: DatabaseConfig;
  readonly pool: Pool;
  /** Drops the database and closes the pool. */
  drop(): Promise<void>;
}

/** A database name of the test server no other run uses: belair_t_<purpose>_<6 hex digits>. */
export function uniqueDatabaseName(purpose: string): string {
  return `belair_t_${purpose}_${randomBytes(3).toString('hex')}`;
}

/**
 * A database of its own for one test file: created, migrated with sql/, its EVENTs disabled so
 * that no scheduled run lands in the middle of a test (a test that wants them enables them), and
 * the global event scheduler left alone (see withEventScheduler).
 */
export async function createTestDatabase(testFile: string): Promise<TestDatabase> {
  const name = uniqueDatabaseName(
    basename(testFile)
      .replace(/\.test\.ts$/, '')
      .replace(/[^A-Za-z0-9]/g, '_')
      .slice(0, 30),
  );
  const db = { ...testServer(), database: name };
  await migrate(db, { ensureEventScheduler: false });
  const pool = createPool(db, 8);
  await pool.query('ALTER EVENT refresh_air_quality DISABLE');
  await pool.query('ALTER EVENT purge_old_data DISABLE');
  return {
    db,
    pool,
    async drop() {
      await pool.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await pool.end();
    },
  };
}

/** The test file's database (or the describe block's): created before its tests, dropped after. */
export function useTestDatabase(testFile: string): TestDatabase {
  return useForAll(
    'the test database',
    () => createTestDatabase(testFile),
    (t) => t.drop(),
  );
}

/**
 * Databases a test makes by other means than createTestDatabase (a migration from nothing, the
 * mariadb client, the entry point): each call names a new one on the test server, and every one
 * named is dropped after the file's (or describe block's) tests.
 */
export function useScratchDatabases(): (purpose: string) => DatabaseConfig {
  const named: string[] = [];
  afterAll(async () => {
    if (named.length === 0) return;
    const connection = await mysql.createConnection(connectionOptions(testServer(), false));
    try {
      for (const database of named.splice(0)) {
        await connection.query(`DROP DATABASE IF EXISTS \`${database}\``);
      }
    } finally {
      await connection.end();
    }
  });
  return (purpose) => {
    const database = uniqueDatabaseName(purpose);
    named.push(database);
    return { ...testServer(), database };
  };
}

/** Deletes every measurement, station, city and run (and, with the runs, their windows). */
export async function clearMeasurements(pool: Pool): Promise<void> {
  await pool.query('DELETE FROM city_air_quality');
  await pool.query('DELETE FROM air_quality_run');
  await pool.query('DELETE FROM measurement');
  await pool.query('DELETE FROM location');
  await pool.query('DELETE FROM city');
}

/** The number in the column n of the statement's first row (SELECT COUNT(*) AS n ...). */
export async function countOf(pool: Pool, sql: string, values: unknown[] = []): Promise<number> {
  const [rows] = await pool.query<RowDataPacket[]>(sql, values);
  return Number(rows[0]?.n);
}

export async function connect(db: DatabaseConfig): Promise<Connection> {
  return mysql.createConnection(connectionOptions(db));
}

/**
 * A run as another client (Adminer, a script, another API process) would make it: a CALL on a
 * connection of its own, past any pool the app uses. Returns the run's id.
 */
export async function callRefresh(db: DatabaseConfig): Promise<number> {
  const connection = await connect(db);
  try {
    await connection.query('CALL refresh_air_quality(UTC_TIMESTAMP(3))');
    const [[row]] = await connection.query<RowDataPacket[]>(
      'SELECT @refresh_air_quality_run_id AS id',
    );
    return Number(row?.id);
  } finally {
    await connection.end();
  }
}

/**
 * Runs fn while the server's global event scheduler is in the given state. The switch is global,
 * so every test that depends on it goes through here: a server-wide named lock makes such tests
 * take turns, across test files and processes, and the previous state is restored afterwards.
 */
export async function withEventScheduler<T>(state: 'ON' | 'OFF', fn: () => Promise<T>): Promise<T> {
  const connection = await mysql.createConnection(connectionOptions(testServer(), false));
  try {
    const [[lock]] = (await connection.query(
      "SELECT GET_LOCK('belair.test.event_scheduler', 300) AS locked",
    )) as unknown as [[{ locked: number }]];
    if (lock?.locked !== 1) throw new Error('could not take the event scheduler lock within 300 s');
    const [[before]] = (await connection.query(
      'SELECT @@GLOBAL.event_scheduler AS state',
    )) as unknown as [[{ state: string }]];
    try {
      await connection.query(`SET GLOBAL event_scheduler = ${state}`);
      return await fn();
    } finally {
      await connection.query(
        `SET GLOBAL event_scheduler = ${before?.state === 'OFF' ? 'OFF' : 'ON'}`,
      );
      await connection.query("DO RELEASE_LOCK('belair.test.event_scheduler')");
    }
  } finally {
    await connection.end();
  }
}

/** Polls until check returns a value other than undefined, or fails after timeoutMs. */
export async function waitFor<T>(
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  what: string,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export { createPool };
