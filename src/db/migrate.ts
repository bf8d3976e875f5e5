import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mysql, { type Connection, type RowDataPacket } from 'mysql2/promise';
import type { DatabaseConfig } from '../config/config.js';
import {
  createMigrationTable,
  type MigrationStatus,
  readMigrationStatus,
  recordApplied,
  type SqlFileState,
  sqlChecksum,
} from './migration-records.js';
import { connectionOptions } from './pool.js';
import type { Queryable } from './queryable.js';
import { replicationSource } from './replication-status.js';
import { splitSqlScript } from './sql-script.js';

/** The project's sql/ folder. */
export const SQL_DIR = fileURLToPath(new URL('../../sql/', import.meta.url));

/**
 * The command that applies sql/ where this code runs: the TypeScript sources in a checkout, or
 * the production build (npm run build, the Docker image), which has no tsx.
 */
export const MIGRATE_COMMAND = import.meta.url.endsWith('.ts')
  ? 'npm run db:migrate'
  : 'npm run db:migrate:prod';

export interface MigrateOptions {
  /** Folder of .sql files, applied in alphabetical order. Default: the project's sql/. */
  readonly sqlDir?: string;
  /** Turn the server's event scheduler ON where it is OFF (needs SUPER). Default true. */
  readonly ensureEventScheduler?: boolean;
  /**
   * Files to apply again even though they were applied (their checksum is recorded anew), or
   * 'all'. The files are idempotent, so this is how a changed file is accepted deliberately.
   */
  readonly reapply?: readonly string[] | 'all';
  readonly log?: (message: string) => void;
}

export interface MigrateResult {
  /** Every file of sql/, in order. */
  readonly files: readonly string[];
  /** The files applied by this call, in order. */
  readonly applied: readonly string[];
  /** Statements run by this call. */
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
 * Applied files changed since: nothing is applied, and nothing should run on a database whose
 * routines and EVENTs may not be what sql/ says.
 */
export class AppliedFileChangedError extends Error {
  constructor(readonly files: readonly string[]) {
    const paths = files.map((file) => `sql/${file}`);
    super(
      `${paths.join(', ')} changed since ${files.length === 1 ? 'it was' : 'they were'} applied. ` +
        `An applied file must not change: put it back as it was (git checkout -- ${paths.join(' ')}) ` +
        'and make the change in a new numbered file, or apply the changed file again and record it: ' +
        `${MIGRATE_COMMAND} -- ${files.map((file) => `--reapply ${file}`).join(' ')}`,
    );
    this.name = 'AppliedFileChangedError';
  }
}

/** MIGRATE_ON_START is off and the database is behind sql/. */
export class MigrationsPendingError extends Error {
  /** `state`: what is wrong, as the start of a sentence ("3 sql/ files are not applied ..."). */
  constructor(
    readonly pending: readonly string[],
    state: string,
  ) {
    super(
      `${state}, and this process does not migrate (MIGRATE_ON_START is off): apply sql/ with ${MIGRATE_COMMAND}, ` +
        'as a user that may create tables, routines and events, then start again',
    );
    this.name = 'MigrationsPendingError';
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

interface SqlFile extends SqlFileState {
  readonly text: string;
}

async function readSqlFiles(sqlDir: string): Promise<SqlFile[]> {
  const names = (await readdir(sqlDir)).filter((name) => name.endsWith('.sql')).sort();
  return Promise.all(
    names.map(async (file) => {
      const text = await readFile(join(sqlDir, file), 'utf8');
      return { file, text, checksum: sqlChecksum(text) };
    }),
  );
}

/** ER_BAD_DB_ERROR: the database named in the connection does not exist. */
const UNKNOWN_DATABASE = 1049;

function describeDatabase(db: DatabaseConfig): string {
  return `${db.database} on ${db.host}:${db.port}`;
}

/** The names asked to be applied again, checked against sql/ ('sql/x.sql' and 'x.sql' alike). */
function reapplied(files: readonly SqlFile[], reapply: MigrateOptions['reapply']): Set<string> {
  if (reapply === 'all') return new Set(files.map((f) => f.file));
  const names = new Set((reapply ?? []).map((name) => basename(name)));
  const unknown = [...names].filter((name) => !files.some((f) => f.file === name));
  if (unknown.length > 0) {
    throw new MigrationError(`not a file of sql/: ${unknown.join(', ')}`, unknown[0] ?? '', 0);
  }
  return names;
}

/**
 * Creates the database if it is missing and applies the files of sql/ that its record does not
 * hold yet, in order, recording each with its checksum. A database migrated before the record
 * existed gets every file again (they are idempotent) and the record. An applied file that
 * changed since is refused (AppliedFileChangedError) before anything is applied, unless it is
 * named in `reapply`. Concurrent migrations of the same database (several API processes starting
 * together) are serialised by a named lock.
 */
export async function migrate(
  db: DatabaseConfig,
  options: MigrateOptions = {},
): Promise<MigrateResult> {
  const log = options.log ?? (() => {});
  const files = await readSqlFiles(options.sqlDir ?? SQL_DIR);
  const again = reapplied(files, options.reapply);

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
    const applied: string[] = [];
    try {
      const status = await readMigrationStatus(connection, files);
      const changed = status.changed.map((c) => c.file).filter((file) => !again.has(file));
      if (changed.length > 0) throw new AppliedFileChangedError(changed);
      if (!status.recorded && status.pending.length > 0) {
        const [tables] = await connection.query<RowDataPacket[]>(
          'SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() LIMIT 1',
        );
        if (tables.length > 0) {
          log(
            `${describeDatabase(db)} has no record of applied sql/ files yet: applying every file again (they are idempotent) and recording them`,
          );
        }
        await createMigrationTable(connection);
      }
      for (const unknown of status.unknown) {
        log(`${unknown} was applied to ${describeDatabase(db)} but is not in sql/`);
      }
      const pending = new Set(status.pending);
      for (const file of files) {
        if (!pending.has(file.file) && !again.has(file.file)) continue;
        for (const statement of splitSqlScript(file.text)) {
          try {
            await connection.query(statement.sql);
          } catch (error) {
            throw new MigrationError(
              `${file.file}:${statement.line}: ${(error as Error).message}`,
              file.file,
              statement.line,
              { cause: error },
            );
          }
          statements += 1;
        }
        await recordApplied(connection, file);
        applied.push(file.file);
        log(`applied ${file.file}`);
      }
    } finally {
      await connection.query('DO RELEASE_LOCK(?)', [lockName]);
    }
    const scheduler = await checkEventScheduler(connection, options.ensureEventScheduler ?? true);
    if (scheduler.warning) log(scheduler.warning);
    return { files: files.map((f) => f.file), applied, statements, ...scheduler };
  } finally {
    await connection.end();
  }
}

export interface CheckResult {
  readonly files: readonly string[];
  /** The event scheduler's state: ON, OFF or DISABLED. */
  readonly eventScheduler: string;
  /** Set when the EVENTs cannot run: what an operator must do about it. */
  readonly warning?: string;
}

export interface StatusResult extends MigrationStatus {
  readonly files: readonly string[];
  /** Whether the database exists at all. */
  readonly exists: boolean;
}

/** What is applied, pending and changed, reading only (npm run db:migrate -- --status). */
export async function migrationStatus(
  db: DatabaseConfig,
  options: Pick<MigrateOptions, 'sqlDir'> = {},
): Promise<StatusResult> {
  const files = await readSqlFiles(options.sqlDir ?? SQL_DIR);
  const names = files.map((f) => f.file);
  let connection: Connection;
  try {
    connection = await mysql.createConnection(connectionOptions(db));
  } catch (error) {
    if ((error as { errno?: number }).errno !== UNKNOWN_DATABASE) throw error;
    return {
      files: names,
      exists: false,
      recorded: false,
      applied: [],
      pending: names,
      changed: [],
      unknown: [],
    };
  }
  try {
    return { files: names, exists: true, ...(await readMigrationStatus(connection, files)) };
  } finally {
    await connection.end();
  }
}

/**
 * For a process that does not migrate (MIGRATE_ON_START off): checks, reading only, that every
 * file of sql/ is applied as it is. Throws MigrationsPendingError when the database is behind,
 * AppliedFileChangedError when an applied file changed since.
 */
export async function checkMigrations(
  db: DatabaseConfig,
  options: Pick<MigrateOptions, 'sqlDir' | 'log'> = {},
): Promise<CheckResult> {
  const status = await migrationStatus(db, options);
  if (!status.exists)
    throw new MigrationsPendingError(status.pending, 'the database does not exist');
  if (status.changed.length > 0) {
    throw new AppliedFileChangedError(status.changed.map((c) => c.file));
  }
  if (!status.recorded) {
    throw new MigrationsPendingError(status.pending, 'it holds no record of applied sql/ files');
  }
  if (status.pending.length > 0) {
    const n = status.pending.length;
    throw new MigrationsPendingError(
      status.pending,
      `${n} sql/ file${n === 1 ? ' is' : 's are'} not applied yet (${status.pending.join(', ')})`,
    );
  }
  for (const unknown of status.unknown) {
    options.log?.(`${unknown} was applied to ${describeDatabase(db)} but is not in sql/`);
  }
  const connection = await mysql.createConnection(connectionOptions(db));
  try {
    return { files: status.files, ...(await checkEventScheduler(connection, false)) };
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
