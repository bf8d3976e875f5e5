import { randomBytes } from 'node:crypto';
import mysql, { type Connection, type Pool } from 'mysql2/promise';
import type { DatabaseConfig } from '../../src/config/config.js';
import { migrate } from '../../src/db/migrate.js';
import { connectionOptions, createPool } from '../../src/db/pool.js';

export interface BenchDatabase {
  readonly db: DatabaseConfig;
  readonly pool: Pool;
  /** A new connection to the benchmark's database, for work that needs one session. */
  connect(): Promise<Connection>;
  /** Drops the database and closes the pool. */
  drop(): Promise<void>;
}

const open = new Set<BenchDatabase>();

/**
 * A database of its own for one benchmark run, e.g. belair_bench_refresh_3fa2c1: created and
 * migrated with the project's sql/ like the API does, its EVENTs disabled so that no scheduled run
 * lands in the middle of a measurement, and the server's event scheduler left alone. The random
 * suffix keeps two runs on one server apart.
 */
export async function createBenchDatabase(
  server: DatabaseConfig,
  scenario: string,
): Promise<BenchDatabase> {
  const name = `belair_bench_${scenario.replace(/[^A-Za-z0-9]/g, '_')}_${randomBytes(3).toString('hex')}`;
  const db = { ...server, database: name };
  await migrate(db, { ensureEventScheduler: false });
  const pool = createPool(db, 8);
  await pool.query('ALTER EVENT refresh_air_quality DISABLE');
  await pool.query('ALTER EVENT purge_old_data DISABLE');
  const bench: BenchDatabase = {
    db,
    pool,
    connect: () => mysql.createConnection(connectionOptions(db)),
    async drop() {
      open.delete(bench);
      await pool.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await pool.end();
    },
  };
  open.add(bench);
  return bench;
}

/** Drops every benchmark database still open: on Ctrl-C, or after a scenario failed. */
export async function dropOpenDatabases(): Promise<void> {
  await Promise.allSettled([...open].map((bench) => bench.drop()));
}

/** The server's MariaDB version and the settings that shape the figures. */
export async function serverFacts(
  server: DatabaseConfig,
): Promise<{ version: string; bufferPoolBytes: number }> {
  const connection = await mysql.createConnection(connectionOptions(server, false));
  try {
    const [rows] = (await connection.query(
      'SELECT VERSION() AS version, @@innodb_buffer_pool_size AS bufferPool',
    )) as unknown as [{ version: string; bufferPool: number }[]];
    return { version: rows[0]?.version ?? '?', bufferPoolBytes: Number(rows[0]?.bufferPool) };
  } finally {
    await connection.end();
  }
}
