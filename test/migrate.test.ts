import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseConfig } from '../src/config/config.js';
import { lockNameFor, MigrationError, migrate, SQL_DIR } from '../src/db/migrate.js';
import { SqlScriptError, splitSqlScript } from '../src/db/sql-script.js';
import {
  createTestDatabase,
  type TestDatabase,
  testServer,
  withEventScheduler,
} from './helpers/database.js';
import { runMariadbClient } from './helpers/mariadb-client.js';
import { schemaFingerprint } from './helpers/schema-fingerprint.js';

const FIXTURE_DIR = fileURLToPath(new URL('./fixtures/client-split/', import.meta.url));

let t: TestDatabase;
const created: string[] = []; // databases this file creates besides t, dropped at the end

function scratch(purpose: string): DatabaseConfig {
  const database = `belair_t_migrate_${purpose}_${randomBytes(3).toString('hex')}`;
  created.push(database);
  return { ...testServer(), database };
}

async function createEmpty(db: DatabaseConfig) {
  await t.pool.query(
    `CREATE DATABASE \`${db.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
  );
}

async function disableEvents(database: string) {
  const [events] = await t.pool.query<RowDataPacket[]>(
    'SELECT EVENT_NAME AS name FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?',
    [database],
  );
  for (const { name } of events)
    await t.pool.query(`ALTER EVENT \`${database}\`.\`${name}\` DISABLE`);
}

const fingerprint = (database: string, sessionAndTime = true) =>
  schemaFingerprint(t.pool, database, { sessionAndTime });

beforeAll(async () => {
  t = await createTestDatabase(import.meta.filename);
});

afterAll(async () => {
  for (const database of created) await t?.pool.query(`DROP DATABASE IF EXISTS \`${database}\``);
  await t?.drop();
});

describe('migrate', () => {
  const fresh = scratch('fresh');

  it('creates the database when it is missing, and applies every file of sql/ in order', async () => {
    const [before] = await t.pool.query<RowDataPacket[]>(
      'SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
      [fresh.database],
    );
    expect(before).toEqual([]);
    const result = await migrate(fresh, { ensureEventScheduler: false });
    await disableEvents(fresh.database);
    const [[schema]] = await t.pool.query<RowDataPacket[]>(
      `SELECT DEFAULT_CHARACTER_SET_NAME AS charset, DEFAULT_COLLATION_NAME AS collation
       FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?`,
      [fresh.database],
    );
    expect(schema).toEqual({ charset: 'utf8mb4', collation: 'utf8mb4_bin' });
    const files = (await readdir(SQL_DIR)).filter((f) => f.endsWith('.sql')).sort();
    expect(result.files).toEqual(files);
    let statements = 0;
    for (const file of files) {
      statements += splitSqlScript(await readFile(join(SQL_DIR, file), 'utf8')).length;
    }
    expect(result.statements).toBe(statements);
    const [tables] = await t.pool.query<RowDataPacket[]>(
      "SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1",
      [fresh.database],
    );
    expect(tables.map((r) => r.name)).toEqual([
      'air_quality_run',
      'belaqi_band',
      'city',
      'city_air_quality',
      'eaqi_band',
      'eaqi_level',
      'location',
      'measurement',
      'pollutant',
      'setting',
      'write_budget',
    ]);
  });

  it('applying sql/ a second time changes nothing', async () => {
    await migrate(t.db, { ensureEventScheduler: false });
    const first = await fingerprint(t.db.database);
    await migrate(t.db, { ensureEventScheduler: false });
    expect(await fingerprint(t.db.database)).toEqual(first);
    // The fingerprint sees what a migration decides: events, routines, reference rows.
    expect(first).toMatchObject({
      events: [
        { EVENT_NAME: 'purge_old_data', STATUS: 'DISABLED', INTERVAL_FIELD: 'HOUR' },
        { EVENT_NAME: 'refresh_air_quality', STATUS: 'DISABLED', INTERVAL_FIELD: 'MINUTE' },
      ],
    });
    expect((first.routines as RowDataPacket[]).map((r) => r.ROUTINE_NAME)).toEqual([
      'belair_lock_name',
      'belaqi_level',
      'eaqi_level',
      'purge_old_data',
      'refresh_air_quality',
      'retention_setting',
    ]);
    expect((first.rows as Record<string, string[]>).belaqi_band).toHaveLength(36);
  });

  it("keeps an operator's settings and restores the reference data", async () => {
    await t.pool.query("UPDATE setting SET value = '7' WHERE name = 'retention.measurement_days'");
    await t.pool.query("UPDATE belaqi_band SET upper_bound = 999 WHERE pollutant = 'pm10'");
    await t.pool.query("DELETE FROM eaqi_band WHERE pollutant = 'so2'");
    await migrate(t.db, { ensureEventScheduler: false });
    const [settings] = await t.pool.query<RowDataPacket[]>(
      'SELECT name, value FROM setting ORDER BY name',
    );
    expect(settings).toEqual([
      { name: 'retention.batch_rows', value: '10000' },
      { name: 'retention.measurement_days', value: '7' },
      { name: 'retention.run_days', value: '30' },
    ]);
    const [pm10] = await t.pool.query<RowDataPacket[]>(
      "SELECT upper_bound AS bound FROM belaqi_band WHERE pollutant = 'pm10' ORDER BY level",
    );
    expect(pm10.map((r) => r.bound)).toEqual([10, 20, 35, 45, 60, 80, 95, 110, 140]);
    const [so2] = await t.pool.query<RowDataPacket[]>(
      "SELECT upper_bound AS bound FROM eaqi_band WHERE pollutant = 'so2' ORDER BY level",
    );
    expect(so2.map((r) => r.bound)).toEqual([100, 200, 350, 500, 750, 1250]);
  });

  it('the mariadb client, file by file as docker-compose runs them, builds the same database from sql/', async () => {
    const client = scratch('client');
    await createEmpty(client);
    const files = (await readdir(SQL_DIR)).filter((f) => f.endsWith('.sql')).sort();
    for (const file of files) await runMariadbClient(client, join(SQL_DIR, file));
    await disableEvents(client.database);
    const byClient = await fingerprint(client.database, false);
    expect(byClient).toEqual(await fingerprint(fresh.database, false));
    // Non-ASCII literals arrive intact even from a client whose default is not UTF-8.
    const [[units]] = await t.pool.query<RowDataPacket[]>(
      `SELECT GROUP_CONCAT(DISTINCT canonical_unit) AS units FROM \`${client.database}\`.pollutant`,
    );
    expect(units?.units).toBe('µg/m³');
  });

  it('splits a script with DELIMITER blocks, quotes and comments exactly as the mariadb client does', async () => {
    const client = scratch('fixture_client');
    const migrator = scratch('fixture_migrator');
    await createEmpty(client);
    await runMariadbClient(client, join(FIXTURE_DIR, 'script.sql'));
    const result = await migrate(migrator, { sqlDir: FIXTURE_DIR, ensureEventScheduler: false });
    expect(result.statements).toBe(16);
    const byClient = await fingerprint(client.database, false);
    expect(await fingerprint(migrator.database, false)).toEqual(byClient);

    // What both built, spelt out: the fixture's tricky parts all arrived as the server should see them.
    expect(Object.keys(byClient.definitions as object)).toEqual(['doubled', 'note', 'odd;name']);
    const [notes] = await t.pool.query<RowDataPacket[]>(
      `SELECT id, body, tag FROM \`${migrator.database}\`.note ORDER BY id`,
    );
    expect(notes).toEqual([
      { id: 1, body: 'semi;colon', tag: 'double;quoted' },
      { id: 2, body: "it's; doubled", tag: "back\\slash 'escaped'; quote" },
      { id: 3, body: '-- not a comment; # nor this', tag: '/* nor; this */' },
      { id: 4, body: 'DELIMITER $$', tag: 'a "quoted" word; here' },
      {
        id: 5,
        body: 'multi-line; string\nwith DELIMITER // inside',
        tag: 'µg/m³ and 8--1 is not a comment',
      },
      { id: 6, body: '9', tag: 'x' },
      { id: 7, body: 'no delimiter after the last statement', tag: null },
      { id: 101, body: 'row;1', tag: 'ends with $$;' },
      { id: 102, body: 'row;2', tag: 'ends with $$;' },
      { id: 103, body: 'row;3', tag: 'ends with $$;' },
    ]);
    const [[doubled]] = await t.pool.query<RowDataPacket[]>(
      `SELECT \`${migrator.database}\`.twice(21) AS d`,
    );
    expect(doubled?.d).toBe(42);
    const routines = byClient.routines as RowDataPacket[];
    expect(routines.map((r) => r.ROUTINE_NAME)).toEqual(['fill', 'twice']);
    // The client drops comments, also inside bodies; so does the migrator.
    expect(routines[0]?.ROUTINE_DEFINITION).not.toMatch(/--|#|\/\*/);
    expect(routines[0]?.ROUTINE_DEFINITION).toContain('   SET i = i  + 0;\nEND');
  });

  it('names the file and line of a statement the server refuses', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'belair-migrate-'));
    try {
      await writeFile(join(dir, '010-good.sql'), 'CREATE TABLE IF NOT EXISTS fine (id INT);\n');
      await writeFile(
        join(dir, '020-bad.sql'),
        '-- a comment\n\nINSERT INTO fine VALUES (1);\nSELEC 2;\n',
      );
      const bad = scratch('bad');
      const failure = migrate(bad, { sqlDir: dir, ensureEventScheduler: false });
      await expect(failure).rejects.toBeInstanceOf(MigrationError);
      await expect(failure).rejects.toMatchObject({ file: '020-bad.sql', line: 4 });
      await expect(failure).rejects.toThrow(
        /^020-bad\.sql:4: You have an error in your SQL syntax/,
      );
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});

describe('lock names', () => {
  it('are built in TypeScript as belair_lock_name() builds them in SQL, long names included', async () => {
    const long = scratch('lock_names_long_enough_to_be_hashed');
    await migrate(long, { ensureEventScheduler: false });
    await disableEvents(long.database);
    const [[names]] = await t.pool.query<RowDataPacket[]>(
      `SELECT belair_lock_name('refresh_air_quality') AS short,
              \`${long.database}\`.belair_lock_name('refresh_air_quality') AS hashed`,
    );
    expect(lockNameFor('refresh_air_quality', t.db.database)).toBe(names?.short);
    expect(names?.short).toBe(`belair.refresh_air_quality.${t.db.database}`);
    expect(lockNameFor('refresh_air_quality', long.database)).toBe(names?.hashed);
    expect(names?.hashed).toMatch(/^belair\.refresh_air_quality\.[0-9a-f]{32}$/);
  });
});

describe('the event scheduler', () => {
  it('is turned ON by migrate() where it is OFF, and the state is reported', async () => {
    await withEventScheduler('OFF', async () => {
      const left = await migrate(t.db, { ensureEventScheduler: false });
      expect(left.eventScheduler).toBe('OFF');
      expect(left.warning).toMatch(
        /^The MariaDB event scheduler is OFF, so windows will not refresh\. Run SET GLOBAL event_scheduler = ON/,
      );

      const turned = await migrate(t.db);
      expect(turned).toMatchObject({ eventScheduler: 'ON' });
      expect(turned.warning).toBeUndefined();
      const [[state]] = await t.pool.query<RowDataPacket[]>(
        'SELECT @@GLOBAL.event_scheduler AS state',
      );
      expect(state?.state).toBe('ON');
    });
  });
});

describe('splitSqlScript', () => {
  it('splits at the delimiter, outside quotes and comments, with the line each statement starts on', () => {
    const script = [
      '-- header; with a semicolon',
      'SELECT 1;',
      '',
      "SELECT ';' AS a,",
      '  "--" AS b, `x;y` AS c; SELECT 3;',
      '/* a ; comment */ SELECT 4',
    ].join('\n');
    expect(splitSqlScript(script)).toEqual([
      { sql: 'SELECT 1', line: 2 },
      { sql: 'SELECT \';\' AS a,\n  "--" AS b, `x;y` AS c', line: 4 },
      { sql: 'SELECT 3', line: 5 },
      { sql: ' SELECT 4', line: 6 },
    ]);
  });

  it('reads CRLF files as LF files', () => {
    const lf =
      'DELIMITER //\nCREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\nEND //\nDELIMITER ;\nSELECT 2;\n';
    const crlf = lf.replaceAll('\n', '\r\n');
    expect(splitSqlScript(crlf)).toEqual(splitSqlScript(lf));
    expect(splitSqlScript(crlf)).toEqual([
      { sql: 'CREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\nEND', line: 2 },
      { sql: 'SELECT 2', line: 7 },
    ]);
  });

  it('changes the delimiter with DELIMITER, any case, quoted or not, and never sends it', () => {
    const script = [
      'delimiter $$',
      'SELECT 1; SELECT 2 $$',
      "  Delimiter ';;'",
      'SELECT "$$";;',
      'DELIMITER ;',
      'SELECT 3;',
    ].join('\n');
    expect(splitSqlScript(script).map((s) => s.sql)).toEqual([
      'SELECT 1; SELECT 2',
      'SELECT "$$"',
      'SELECT 3',
    ]);
  });

  it('drops comments as the client does, keeping executable comments and the words apart', () => {
    const script = [
      'SELECT 1 -- one',
      '  # two',
      '  + 2/* three */+ 3 /* four',
      ' still four */ AS n, 8--1 AS m, /*! 5 */ 6;',
      '--no space at the start of a statement is a comment too',
      '/*M!100000 SELECT 7 */;',
    ].join('\n');
    expect(splitSqlScript(script).map((s) => s.sql)).toEqual([
      'SELECT 1 \n  \n  + 2 + 3  AS n, 8--1 AS m, /*! 5 */ 6',
      '/*M!100000 SELECT 7 */',
    ]);
  });

  it('keeps backslash escapes in strings and drops a statement of nothing but comments', () => {
    expect(splitSqlScript('SELECT \'it\\\'s; fine\', "a\\"b";\n-- only a comment\n;\n')).toEqual([
      { sql: 'SELECT \'it\\\'s; fine\', "a\\"b"', line: 1 },
    ]);
  });

  it('the fixture: 16 statements, as the client sends them', async () => {
    const statements = splitSqlScript(await readFile(join(FIXTURE_DIR, 'script.sql'), 'utf8'));
    expect(statements).toHaveLength(16);
    expect(statements.map((s) => s.line)).toEqual([
      6, 8, 14, 15, 16, 17, 19, 19, 22, 34, 39, 40, 42, 43, 44, 45,
    ]);
  });

  it('refuses what the client would read differently, naming the line', () => {
    const refusal = (script: string) => {
      try {
        splitSqlScript(script);
      } catch (error) {
        return error instanceof SqlScriptError ? error.message : `not a SqlScriptError: ${error}`;
      }
      return 'accepted';
    };
    expect(refusal('SELECT 1;\nSELECT 2\\g\n')).toBe(
      'line 2: the client command \\g is not supported here; end statements with the delimiter',
    );
    expect(refusal('SELECT 1; DELIMITER //\n')).toBe(
      'line 1: DELIMITER must start a line of its own, after the previous statement has ended',
    );
    expect(refusal('\nDELIMITER\n')).toBe(
      "line 2: DELIMITER must be followed by a delimiter, such as $$ or ';'",
    );
    expect(refusal('USE other\nSELECT 1;\n')).toBe(
      'line 1: "USE other" is a command of the mariadb client, not supported here',
    );
    expect(refusal('USE other;\nSELECT \\N;\n')).toBe('accepted');
  });
});
