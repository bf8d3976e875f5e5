import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import mysql, { type Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SQL_DIR } from '../src/db/migrate.js';
import { connectionOptions } from '../src/db/pool.js';
import { testServer, waitFor, withEventScheduler } from './helpers/database.js';
import { type ProductionBuild, productionBuild } from './helpers/production-build.js';
import { watchProcess } from './helpers/watched-process.js';

let build: ProductionBuild;
let admin: Connection;
const server = testServer();
const databases: string[] = [];
const users: string[] = [];
const children: ChildProcess[] = [];

/** `node dist/cli/NAME.js`, as the image runs it, with the environment given over this one's. */
function run(name: string, env: Record<string, string>, args: string[] = []) {
  const child = spawn(process.execPath, [build.entry(name), ...args], {
    cwd: build.root,
    env: { ...process.env, ...env },
  });
  children.push(child);
  const { output, exited } = watchProcess(child);
  return { child, seen: output, exited: exited.then(({ code }) => code) };
}

async function listening(seen: { text: string }): Promise<string> {
  const port = await waitFor(
    async () => /serves GraphQL.* at http:\/\/localhost:(\d+)\/graphql/.exec(seen.text)?.[1],
    60_000,
    `the server to listen; it said: ${seen.text}`,
  );
  return `http://127.0.0.1:${port}`;
}

function scratchDatabase(): string {
  const name = `belair_t_entry_${randomBytes(3).toString('hex')}`;
  databases.push(name);
  return name;
}

async function post(base: string, query: string, token?: string) {
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query }),
  });
  return response.json();
}

beforeAll(async () => {
  build = await productionBuild();
  admin = await mysql.createConnection(connectionOptions(server, false));
}, 180_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  for (const name of databases) await admin?.query(`DROP DATABASE IF EXISTS \`${name}\``);
  for (const user of users) await admin?.query(`DROP USER IF EXISTS '${user}'@'%'`);
  await admin?.end();
});

describe('npm run build', () => {
  it('compiles every entry point to dist/, importing nothing but node and the runtime dependencies', async () => {
    const cli = (await readdir(join(build.root, 'dist', 'cli'))).filter((f) => f.endsWith('.js'));
    expect(cli.sort()).toEqual([
      'build-dashboard.js',
      'database.js',
      'demo.js',
      'feed-summary.js',
      'feed.js',
      'format.js',
      'generate-test-data.js',
      'ingest.js',
      'migrate.js',
      'options.js',
      'print-schema.js',
      'serve.js',
      'workers.js',
    ]);
    const packageJson = JSON.parse(await readFile(join(build.root, 'package.json'), 'utf8'));
    const runtime = new Set(Object.keys(packageJson.dependencies));
    const imported = new Set<string>();
    const files = await readdir(join(build.root, 'dist'), { recursive: true });
    for (const file of files.filter((f) => f.endsWith('.js'))) {
      const text = await readFile(join(build.root, 'dist', file), 'utf8');
      const specifiers = [
        ...text.matchAll(/^(?:import|export)\s[^;]*?\bfrom\s+'([^']+)'/gm),
        ...text.matchAll(/^import\s+'([^']+)'/gm),
        ...text.matchAll(/\bimport\('([^']+)'\)/g),
      ].map((match) => match[1] ?? '');
      for (const specifier of specifiers.filter((s) => !s.startsWith('.'))) {
        const name = specifier.startsWith('@')
          ? specifier.split('/').slice(0, 2).join('/')
          : (specifier.split('/')[0] ?? '');
        if (!specifier.startsWith('node:') && !builtinModules.includes(name)) imported.add(name);
      }
    }
    // tsx, vitest and the other development tools are not among them: `npm ci --omit=dev` is enough.
    expect([...imported].filter((name) => !runtime.has(name))).toEqual([]);
    expect(imported.has('graphql-yoga')).toBe(true);
  });
});

describe('node dist/cli/serve.js, as the image runs it', () => {
  it('creates and migrates a missing database, serves, and stops on SIGTERM', async () => {
    const database = scratchDatabase();
    const sqlFiles = (await readdir(SQL_DIR)).filter((name) => name.endsWith('.sql')).length;
    // The entry point turns the event scheduler on where it is off: hold it ON meanwhile, so that
    // it has nothing to change on the shared server.
    await withEventScheduler('ON', async () => {
      const api = run('serve', { DB_DATABASE: database, PORT: '0', API_TOKENS: 'entry-token' });
      const base = await listening(api.seen);
      expect(api.seen.text).toContain(
        `database ${database} on ${server.host}:${server.port}: applied ${sqlFiles} new sql files (${sqlFiles} in sql/); event scheduler ON`,
      );
      const health = await fetch(`${base}/healthz`);
      expect(await health.json()).toEqual({ status: 'ok' });
      expect(await post(base, 'mutation { refreshAirQuality { cities } }', 'entry-token')).toEqual({
        data: { refreshAirQuality: { cities: 0 } },
      });

      api.child.kill('SIGTERM');
      expect(await api.exited).toBe(0);
      expect(api.seen.text).toContain('SIGTERM: finishing requests in flight, then stopping');
      expect(api.seen.text).toContain('stopped');

      // The next start applies nothing: every file is recorded.
      const again = run('serve', { DB_DATABASE: database, PORT: '0', API_TOKENS: 'entry-token' });
      await listening(again.seen);
      expect(again.seen.text).toContain(
        `database ${database} on ${server.host}:${server.port}: sql/ up to date (${sqlFiles} files); event scheduler ON`,
      );
      again.child.kill('SIGTERM');
      expect(await again.exited).toBe(0);
    });
  });

  it('refuses to start when an applied file changed, naming it and the command that resolves it', async () => {
    const database = scratchDatabase();
    await withEventScheduler('ON', async () => {
      const env = { DB_DATABASE: database };
      const first = run('migrate', env);
      expect(await first.exited).toBe(0);
      // What a changed file looks like to the record: another checksum than the file's.
      await admin.query(
        `UPDATE \`${database}\`.schema_migration SET checksum = REPEAT('0', 64) WHERE file = '040-refresh-air-quality.sql'`,
      );
      const api = run('serve', { ...env, PORT: '0' });
      expect(await api.exited).toBe(1);
      expect(api.seen.text).toContain(
        `cannot prepare database ${database} on ${server.host}:${server.port}: sql/040-refresh-air-quality.sql changed since it was applied. ` +
          'An applied file must not change: put it back as it was (git checkout -- sql/040-refresh-air-quality.sql) and make the change in a new numbered file, ' +
          'or apply the changed file again and record it: npm run db:migrate:prod -- --reapply 040-refresh-air-quality.sql',
      );
      expect(api.seen.text).not.toContain('serves GraphQL');

      const reapply = run('migrate', env, ['--reapply', '040-refresh-air-quality.sql']);
      expect(await reapply.exited).toBe(0);
      expect(reapply.seen.text).toMatch(
        new RegExp(
          `applied 040-refresh-air-quality\\.sql\\n${database} on ${server.host}:${server.port}: applied 1 file \\(\\d+ statements; \\d+ in sql/\\); event scheduler ON\\n`,
        ),
      );
    });
  });

  it('in production mode, migrates nothing: a user that may only read, write and execute serves once an operator applied sql/', async () => {
    const database = scratchDatabase();
    const user = `belair_api_${randomBytes(3).toString('hex')}`;
    const password = randomBytes(12).toString('hex');
    const token = randomBytes(16).toString('hex');
    users.push(user);
    await admin.query(`CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'`);
    await admin.query(
      `GRANT SELECT, INSERT, UPDATE, DELETE, EXECUTE ON \`${database}\`.* TO '${user}'@'%'`,
    );
    const asApi = {
      NODE_ENV: 'production',
      DB_USERNAME: user,
      DB_PASSWORD: password,
      DB_DATABASE: database,
      PORT: '0',
      API_TOKENS: token,
    };
    await withEventScheduler('ON', async () => {
      const early = run('serve', asApi);
      expect(await early.exited).toBe(1);
      expect(early.seen.text).toContain(
        `cannot prepare database ${database} on ${server.host}:${server.port}: the database does not exist, and this process does not migrate (MIGRATE_ON_START is off): apply sql/ with npm run db:migrate:prod, as a user that may create tables, routines and events, then start again`,
      );

      const operator = run('migrate', { DB_DATABASE: database });
      expect(await operator.exited).toBe(0);

      const api = run('serve', asApi);
      const base = await listening(api.seen);
      expect(api.seen.text).toContain(
        `database ${database} on ${server.host}:${server.port}: sql/ up to date (${(await readdir(SQL_DIR)).filter((f) => f.endsWith('.sql')).length} files; MIGRATE_ON_START is off); event scheduler ON`,
      );
      expect(api.seen.text).toContain('(production mode)');
      const measuredAt = new Date(Date.now() - 60_000).toISOString();
      const ingested = await post(
        base,
        `mutation { ingestMeasurements(measurements: [{ location: "BETR-PROD", city: "Gent", country: "BE",
          parameter: PM10, value: 42, unit: "µg/m³", measuredAt: "${measuredAt}" }]) { inserted rejected { reason } } }`,
        token,
      );
      expect(ingested).toEqual({ data: { ingestMeasurements: { inserted: 1, rejected: [] } } });
      expect(
        await post(base, 'mutation { refreshAirQuality { cities measurements } }', token),
      ).toEqual({ data: { refreshAirQuality: { cities: 1, measurements: 1 } } });
      expect(
        await post(base, '{ airQuality { city { name } pollutants { parameter average count } } }'),
      ).toEqual({
        data: {
          airQuality: [
            { city: { name: 'Gent' }, pollutants: [{ parameter: 'PM10', average: 42, count: 1 }] },
          ],
        },
      });
      // Ready: the EVENT's state reaches this user through sql/110-event-status.sql.
      const ready = await fetch(`${base}/readyz`);
      expect([ready.status, await ready.json()]).toMatchObject([
        200,
        { ready: true, eventScheduler: 'ON', refreshEvent: 'ENABLED' },
      ]);
      api.child.kill('SIGTERM');
      expect(await api.exited).toBe(0);
    });
  });
});
