import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import mysql, { type Connection, type Pool, type RowDataPacket } from 'mysql2/promise';
import type { DatabaseConfig } from '../../src/config/config.js';
import { loadConfig } from '../../src/config/config.js';
import { migrate } from '../../src/db/migrate.js';
import { connectionOptions, createPool } from '../../src/db/pool.js';

/** The server the tests use: the environment's DB_* settings, 127.0.0.1:3306 as root by default. */
export function testServer(): DatabaseConfig {
  return loadConfig().db;
}

export interface TestDatabase {
  readonly db: DatabaseConfig;
  readonly pool: Pool;
  /** Drops the database and closes the pool. */
  drop(): Promise<void>;
}

/**
 * A database of its own for one test file: created, migrated with sql/, its EVENTs disabled so
 * that no scheduled run lands in the middle of a test (a test that wants them enables them), and
 * the global event scheduler left alone (see withEventScheduler).
 */
export async function createTestDatabase(testFile: string): Promise<TestDatabase> {
  const name = `belair_t_${basename(testFile)
    .replace(/\.test\.ts$/, '')
    .replace(/[^A-Za-z0-9]/g, '_')
    .slice(0, 30)}_${randomBytes(3).toString('hex')}`;
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
