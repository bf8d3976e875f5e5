import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main as migrateCli } from '../src/cli/migrate.js';
import type { DatabaseConfig } from '../src/config/config.js';
import {
  AppliedFileChangedError,
  checkMigrations,
  MigrationError,
  MigrationsPendingError,
  migrate,
  SQL_DIR,
} from '../src/db/migrate.js';
import {
  createTestDatabase,
  dbEnv,
  type TestDatabase,
  testServer,
  withEventScheduler,
} from './helpers/database.js';
import { runMariadbClient } from './helpers/mariadb-client.js';
import { captureOutput } from './helpers/output.js';

let t: TestDatabase;
let dir: string;
const created: string[] = [];
const quiet = { ensureEventScheduler: false } as const;

function scratch(purpose: string): DatabaseConfig {
  const database = `belair_t_records_${purpose}_${randomBytes(3).toString('hex')}`;
  created.push(database);
  return { ...testServer(), database };
}

/** A copy of sql/ to add files to and change, in a folder of its own. */
async function sqlCopy(name: string): Promise<string> {
  const copy = join(dir, name);
  await cp(SQL_DIR, copy, { recursive: true });
  return copy;
}

async function records(database: string) {
  const [rows] = await t.pool.query<RowDataPacket[]>(
    `SELECT file, checksum, applied_at > UTC_TIMESTAMP(3) - INTERVAL 5 MINUTE AS recent
     FROM \`${database}\`.schema_migration ORDER BY file`,
  );
  return rows.map((row) => ({ ...row }));
}

async function tableExists(database: string, table: string): Promise<boolean> {
  const [rows] = await t.pool.query<RowDataPacket[]>(
    'SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
    [database, table],
  );
  return rows.length > 0;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const sqlFiles = async () => (await readdir(SQL_DIR)).filter((f) => f.endsWith('.sql')).sort();

beforeAll(async () => {
  t = await createTestDatabase(import.meta.filename);
  dir = await mkdtemp(join(tmpdir(), 'belair-records-'));
});

afterAll(async () => {
  for (const database of created) await t?.pool.query(`DROP DATABASE IF EXISTS \`${database}\``);
  await t?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the record of applied sql/ files', () => {
  it('holds every file with the SHA-256 of its text once a database is migrated', async () => {
    const files = await sqlFiles();
    const expected = [];
    for (const file of files) {
      expected.push({
        file,
        checksum: sha256(await readFile(join(SQL_DIR, file), 'utf8')),
        recent: 1,
      });
    }
    expect(await records(t.db.database)).toEqual(expected);
  });

  it('a new file is the only one applied, and recorded', async () => {
    const sql = await sqlCopy('new-file');
    await writeFile(
      join(sql, '900-extra.sql'),
      'CREATE TABLE extra (id INT PRIMARY KEY);\nINSERT INTO extra VALUES (1), (2);\n',
    );
    const lines: string[] = [];
    const result = await migrate(t.db, { ...quiet, sqlDir: sql, log: (l) => lines.push(l) });
    expect([result.applied, result.statements]).toEqual([['900-extra.sql'], 2]);
    expect(lines.filter((line) => !line.startsWith('The MariaDB event scheduler'))).toEqual([
      'applied 900-extra.sql',
    ]);
    const [rows] = await t.pool.query<RowDataPacket[]>('SELECT id FROM extra ORDER BY id');
    expect(rows.map((r) => r.id)).toEqual([1, 2]);
    expect((await records(t.db.database)).map((r) => r.file)).toEqual([
      ...(await sqlFiles()),
      '900-extra.sql',
    ]);
    // Gone from sql/ (another branch's file, say): said, not refused.
    const back: string[] = [];
    const again = await migrate(t.db, { ...quiet, log: (l) => back.push(l) });
    expect(again.applied).toEqual([]);
    expect(back.filter((line) => !line.startsWith('The MariaDB event scheduler'))).toEqual([
      `900-extra.sql was applied to ${t.db.database} on ${t.db.host}:${t.db.port} but is not in sql/`,
    ]);
    await t.pool.query("DELETE FROM schema_migration WHERE file = '900-extra.sql'");
    await t.pool.query('DROP TABLE extra');
  });

  it('a changed applied file is refused, naming it and the command, before anything is applied', async () => {
    const sql = await sqlCopy('changed');
    const file = join(sql, '040-refresh-air-quality.sql');
    await writeFile(file, `${await readFile(file, 'utf8')}\n-- an edit\n`);
    await writeFile(join(sql, '901-pending.sql'), 'CREATE TABLE pending_one (id INT);\n');
    const failure = migrate(t.db, { ...quiet, sqlDir: sql });
    await expect(failure).rejects.toBeInstanceOf(AppliedFileChangedError);
    await expect(failure).rejects.toThrow(
      'sql/040-refresh-air-quality.sql changed since it was applied. An applied file must not change: put it back as it was (git checkout -- sql/040-refresh-air-quality.sql) and make the change in a new numbered file, or apply the changed file again and record it: npm run db:migrate -- --reapply 040-refresh-air-quality.sql',
    );
    expect(await tableExists(t.db.database, 'pending_one')).toBe(false);
    await expect(checkMigrations(t.db, { sqlDir: sql })).rejects.toBeInstanceOf(
      AppliedFileChangedError,
    );

    // Applied again on purpose: recorded with its new checksum, with the pending file after it.
    const result = await migrate(t.db, {
      ...quiet,
      sqlDir: sql,
      reapply: ['sql/040-refresh-air-quality.sql'],
    });
    expect(result.applied).toEqual(['040-refresh-air-quality.sql', '901-pending.sql']);
    const [[record]] = await t.pool.query<RowDataPacket[]>(
      "SELECT checksum FROM schema_migration WHERE file = '040-refresh-air-quality.sql'",
    );
    expect(record?.checksum).toBe(sha256(await readFile(file, 'utf8')));
    expect((await migrate(t.db, { ...quiet, sqlDir: sql })).applied).toEqual([]);
    // Back to the real sql/: the procedure's file is the original again, and so is the record.
    await migrate(t.db, { ...quiet, reapply: ['040-refresh-air-quality.sql'] });
    await t.pool.query("DELETE FROM schema_migration WHERE file = '901-pending.sql'");
    await t.pool.query('DROP TABLE pending_one');
  });

  it('counts a file whose line ends became CRLF as unchanged', async () => {
    const sql = await sqlCopy('crlf');
    const file = join(sql, '010-tables.sql');
    await writeFile(file, (await readFile(file, 'utf8')).replaceAll('\n', '\r\n'));
    expect((await migrate(t.db, { ...quiet, sqlDir: sql })).applied).toEqual([]);
  });

  it('refuses to reapply a file that sql/ does not have', async () => {
    await expect(migrate(t.db, { ...quiet, reapply: ['999-nothing.sql'] })).rejects.toThrow(
      new MigrationError('not a file of sql/: 999-nothing.sql', '999-nothing.sql', 0),
    );
  });

  it('a database migrated before the record existed gets every file again, idempotently, and the record', async () => {
    // As docker-compose's MariaDB built it from its init scripts: the client, file by file.
    const old = scratch('legacy');
    await t.pool.query(
      `CREATE DATABASE \`${old.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
    );
    for (const file of await sqlFiles()) await runMariadbClient(old, join(SQL_DIR, file));
    await t.pool.query(`ALTER EVENT \`${old.database}\`.refresh_air_quality DISABLE`);
    await t.pool.query(`ALTER EVENT \`${old.database}\`.purge_old_data DISABLE`);
    await t.pool.query(
      `UPDATE \`${old.database}\`.setting SET value = '3' WHERE name = 'retention.run_days'`,
    );
    const lines: string[] = [];
    const result = await migrate(old, { ...quiet, log: (l) => lines.push(l) });
    expect(result.applied).toEqual(await sqlFiles());
    expect(lines[0]).toBe(
      `${old.database} on ${old.host}:${old.port} has no record of applied sql/ files yet: applying every file again (they are idempotent) and recording them`,
    );
    expect((await records(old.database)).map((r) => r.file)).toEqual(await sqlFiles());
    const [[setting]] = await t.pool.query<RowDataPacket[]>(
      `SELECT value FROM \`${old.database}\`.setting WHERE name = 'retention.run_days'`,
    );
    expect(setting?.value).toBe('3');
    expect((await checkMigrations(old)).files).toEqual(await sqlFiles());
  });
});

describe('a process that does not migrate (MIGRATE_ON_START off)', () => {
  it('starts on a database that has every file as it is, and says why it will not on any other', async () => {
    const up = await checkMigrations(t.db);
    expect(up.files).toEqual(await sqlFiles());

    const missing = scratch('missing');
    await expect(checkMigrations(missing)).rejects.toThrow(
      new MigrationsPendingError(await sqlFiles(), 'the database does not exist'),
    );
    await expect(checkMigrations(missing)).rejects.toThrow(
      'the database does not exist, and this process does not migrate (MIGRATE_ON_START is off): apply sql/ with npm run db:migrate, as a user that may create tables, routines and events, then start again',
    );

    const behind = scratch('behind');
    await migrate(behind, quiet);
    await t.pool.query(
      `DELETE FROM \`${behind.database}\`.schema_migration WHERE file IN ('060-events.sql', '070-views.sql')`,
    );
    await expect(checkMigrations(behind)).rejects.toThrow(
      /^2 sql\/ files are not applied yet \(060-events\.sql, 070-views\.sql\), and this process does not migrate/,
    );
    await t.pool.query(`DROP TABLE \`${behind.database}\`.schema_migration`);
    await expect(checkMigrations(behind)).rejects.toThrow(
      /^it holds no record of applied sql\/ files, and this process does not migrate/,
    );
  });
});

describe('npm run db:migrate', () => {
  const env = () => dbEnv(t.db);

  it('--status lists every file and changes nothing', async () => {
    await t.pool.query("DELETE FROM schema_migration WHERE file = '070-views.sql'");
    const output = captureOutput();
    expect(await migrateCli(['--status'], { ...output, env: env() })).toBe(1);
    const { out, err } = output.text();
    const files = await sqlFiles();
    expect(err).toBe('');
    expect(out.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, 'T')).toBe(
      [
        ...files.map((f) => `  ${f.padEnd(32)} ${f === '070-views.sql' ? 'pending' : 'applied T'}`),
        `${t.db.database} on ${t.db.host}:${t.db.port}: ${files.length - 1} of ${files.length} files applied, 1 pending, 0 changed`,
        '',
      ].join('\n'),
    );
    expect(await tableExists(t.db.database, 'schema_migration')).toBe(true);
  });

  it('applies what is pending and says so', async () => {
    const n = (await sqlFiles()).length;
    // The script turns the global event scheduler on where it is off: hold it ON meanwhile.
    await withEventScheduler('ON', async () => {
      const output = captureOutput();
      expect(await migrateCli([], { ...output, env: env() })).toBe(0);
      const { out, err } = output.text();
      expect(err).toBe('');
      expect(out).toMatch(
        new RegExp(
          `^applied 070-views\\.sql\\n${t.db.database} on ${t.db.host}:${t.db.port}: applied 1 file \\(\\d+ statements; ${n} in sql/\\); event scheduler ON\\n$`,
        ),
      );
      const again = captureOutput();
      expect(await migrateCli([], { ...again, env: env() })).toBe(0);
      expect(again.text()).toEqual({
        out: `${t.db.database} on ${t.db.host}:${t.db.port}: sql/ up to date, nothing to apply (${n} files); event scheduler ON\n`,
        err: '',
      });
    });
  });
});
