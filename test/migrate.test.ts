import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RowDataPacket } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import type { DatabaseConfig } from '../src/config/config.js';
import { lockNameFor, MigrationError, migrate, SQL_DIR } from '../src/db/migrate.js';
import { MIGRATION_TABLE } from '../src/db/migration-records.js';
import { splitSqlScript } from '../src/db/sql-script.js';
import { useScratchDatabases, useTestDatabase, withEventScheduler } from './helpers/database.js';
import { runMariadbClient } from './helpers/mariadb-client.js';
import { schemaFingerprint } from './helpers/schema-fingerprint.js';

const FIXTURE_DIR = fileURLToPath(new URL('./fixtures/client-split/', import.meta.url));

const t = useTestDatabase(import.meta.filename);
/** Databases this file creates besides t, dropped at the end. */
const scratchDatabases = useScratchDatabases();
const scratch = (purpose: string) => scratchDatabases(`migrate_${purpose}`);

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

/** The database as sql/ made it: without the record of when each file was applied. */
async function fingerprint(
  database: string,
  sessionAndTime = true,
): Promise<Record<string, unknown>> {
  const { definitions, rows, ...rest } = await schemaFingerprint(t.pool, database, {
    sessionAndTime,
  });
  const { [MIGRATION_TABLE]: _definition, ...tables } = definitions as Record<string, unknown>;
  const { [MIGRATION_TABLE]: _rows, ...content } = rows as Record<string, unknown>;
  return { definitions: tables, rows: content, ...rest };
}

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
    expect(result.applied).toEqual(files);
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
      'city_alias',
      'city_name',
      'eaqi_band',
      'eaqi_level',
      'feed_progress',
      'location',
      'measurement',
      'pollutant',
      'schema_migration',
      'setting',
      'station_city',
      'write_budget',
    ]);
  });

  it('a second migration applies nothing, and applying every file again changes nothing', async () => {
    const first = await fingerprint(t.db.database);
    const again = await migrate(t.db, { ensureEventScheduler: false });
    expect([again.applied, again.statements]).toEqual([[], 0]);
    expect(await fingerprint(t.db.database)).toEqual(first);
    // What a database migrated before the record existed gets: every file, once more. (A first
    // run creates the EVENTs, a second one alters them: their session collation differs.)
    await migrate(t.db, { ensureEventScheduler: false, reapply: 'all' });
    const reapplied = await fingerprint(t.db.database);
    const all = await migrate(t.db, { ensureEventScheduler: false, reapply: 'all' });
    expect(all.applied).toEqual(all.files);
    expect(await fingerprint(t.db.database)).toEqual(reapplied);
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
      'refresh_event_status',
      'retention_setting',
    ]);
    expect((first.rows as Record<string, string[]>).belaqi_band).toHaveLength(36);
  });

  it("applied again, the reference data keeps an operator's settings and restores the bands", async () => {
    await t.pool.query("UPDATE setting SET value = '7' WHERE name = 'retention.measurement_days'");
    await t.pool.query("UPDATE belaqi_band SET upper_bound = 999 WHERE pollutant = 'pm10'");
    await t.pool.query("DELETE FROM eaqi_band WHERE pollutant = 'so2'");
    await migrate(t.db, { ensureEventScheduler: false, reapply: ['020-reference-data.sql'] });
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

  it('the mariadb client, file by file as an operator may run them, builds the same database from sql/', async () => {
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
