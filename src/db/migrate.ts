import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mysql, { type Connection } from 'mysql2/promise';
import type { DatabaseConfig } from '../config/config.js';
import { connectionOptions } from './pool.js';
import type { Queryable } from './queryable.js';
import { replicationSource } from './replication-status.js';
import { splitSqlScript } from './sql-script.js';

/** The project's sql/ folder. */
export const SQL_DIR = fileURLToPath(new URL('../../sql/', import.meta.url));

export interface MigrateOptions {
  /** Folder of .sql files, applied in alphabetical order. Default: the project's sql/. */
  readonly sqlDir?: string;
  /** Turn the server's event scheduler ON where it is OFF (needs SUPER). Default true. */
  readonly ensureEventScheduler?: boolean;
  readonly log?: (message: string) => void;
}

export interface MigrateResult {
  readonly files: readonly string[];
  readonly statements: number;
  /** The event scheduler's state after the migration: ON, OFF or DISABLED. */
  readonly eventScheduler: string;
  /** Set when the EVENTs cannot run: what an operator must do about it. */
  readonly warning?: string;
}

export class MigrationError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly line: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'MigrationError';
  }
}

/**
 * A server-wide lock name for one database, as sql/025-locks.sql's belair_lock_name() builds it:
 * lock names hold at most 64 characters, and a cut name could make two databases share a lock.
 */
export function lockNameFor(purpose: string, database: string): string {
  const name = `belair.${purpose}.${database}`;
  return name.length <= 64
    ? name
    : `belair.${purpose}.${createHash('md5').update(database).digest('hex')}`;
}

function quoteIdentifier(name: string): string {
  return `\`${name.replaceAll('`', '``')}\``;
}

/**
 * Creates the database if it is missing and applies every file of sql/ in order. The files are
 * idempotent, so this runs at every start of the API. Concurrent migrations of the same database
 * (several API processes starting together) are serialised by a named lock.
 */
export async function migrate(
  db: DatabaseConfig,
  options: MigrateOptions = {},
): Promise<MigrateResult> {
  const sqlDir = options.sqlDir ?? SQL_DIR;
  const log = options.log ?? (() => {});
  const files = (await readdir(sqlDir)).filter((name) => name.endsWith('.sql')).sort();

  const connection = await mysql.createConnection({
    ...connectionOptions(db, false),
    multipleStatements: false,
  });
  try {
    await refuseReplica(connection, db);
    await connection.query(
      `CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(db.database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
    );
    await connection.query(`USE ${quoteIdentifier(db.database)}`);
    const lockName = lockNameFor('migrate', db.database);
    const [[lock]] = (await connection.query('SELECT GET_LOCK(?, 60) AS locked', [
      lockName,
    ])) as unknown as [[{ locked: number | null }]];
    if (lock?.locked !== 1) {
      throw new MigrationError(`another migration of ${db.database} held the lock for 60 s`, '', 0);
    }
    let statements = 0;
    try {
      for (const file of files) {
        const script = await readFile(join(sqlDir, file), 'utf8');
        for (const statement of splitSqlScript(script)) {
          try {
            await connection.query(statement.sql);
          } catch (error) {
            throw new MigrationError(
              `${file}:${statement.line}: ${(error as Error).message}`,
              file,
              statement.line,
              { cause: error },
            );
          }
          statements += 1;
        }
        log(`applied ${file}`);
      }
    } finally {
      await connection.query('DO RELEASE_LOCK(?)', [lockName]);
    }
    const scheduler = await checkEventScheduler(connection, options.ensureEventScheduler ?? true);
    if (scheduler.warning) log(scheduler.warning);
    return { files, statements, ...scheduler };
  } finally {
    await connection.end();
  }
}

/**
 * A replica is never migrated: what it holds comes from its primary (a table created here would
 * break replication when the primary's arrives), and its EVENTs stay SLAVESIDE_DISABLED, so that
 * only the primary aggregates.
 */
async function refuseReplica(connection: Connection, db: DatabaseConfig): Promise<void> {
  const source = await replicationSource(connection as unknown as Queryable);
  if (source === null) return;
  throw new MigrationError(
    `${db.host}:${db.port} is a replica of ${source} (SHOW SLAVE STATUS): belair migrates and runs its EVENTs on the primary only. ` +
      'Point DB_HOSTNAME (or DATABASE_URL) at the primary, and the replica at DB_REPLICA_HOSTNAME; ' +
      'if this server was promoted to primary, end its replication first: STOP SLAVE; RESET SLAVE ALL.',
    '',
    0,
  );
}

async function readEventScheduler(connection: Connection): Promise<string> {
  const [rows] = (await connection.query(
    'SELECT @@GLOBAL.event_scheduler AS state',
  )) as unknown as [{ state: string }[]];
  return String(rows[0]?.state ?? 'UNKNOWN').toUpperCase();
}

/**
 * The EVENTs only fire while the server's event scheduler is ON. It is a global switch, needs
 * SUPER to flip, and does not survive a server restart unless set in the server's configuration.
 */
async function checkEventScheduler(
  connection: Connection,
  ensure: boolean,
): Promise<{ eventScheduler: string; warning?: string }> {
  let state = await readEventScheduler(connection);
  if (state === 'ON') return { eventScheduler: state };
  if (state === 'OFF' && ensure) {
    try {
      await connection.query('SET GLOBAL event_scheduler = ON');
      state = await readEventScheduler(connection);
      if (state === 'ON') return { eventScheduler: state };
    } catch (error) {
      return {
        eventScheduler: state,
        warning:
          `The MariaDB event scheduler is OFF and this user may not turn it on (${(error as Error).message}). ` +
          'Windows will not refresh until an administrator runs SET GLOBAL event_scheduler = ON ' +
          'and adds event_scheduler=ON under [mysqld] in the server configuration to keep it on after restarts.',
      };
    }
  }
  return {
    eventScheduler: state,
    warning:
      state === 'DISABLED'
        ? 'The MariaDB event scheduler is DISABLED at server start, so windows will not refresh. ' +
          'Set event_scheduler=ON under [mysqld] in the server configuration (or start mariadbd with --event-scheduler=ON) and restart MariaDB.'
        : `The MariaDB event scheduler is ${state}, so windows will not refresh. ` +
          'Run SET GLOBAL event_scheduler = ON as an administrator, and add event_scheduler=ON under [mysqld] in the server configuration.',
  };
}
