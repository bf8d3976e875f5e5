import { createServer } from 'node:net';
import type { Pool } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { type App, buildApp } from '../src/server/app.js';
import { TOKEN } from './helpers/app.js';
import { createPool, createTestDatabase, type TestDatabase } from './helpers/database.js';

/**
 * /readyz without a token says what is wrong in words an operator can act on, and never what an
 * outsider could use: no driver message, host, port, user or database name. The details go to the
 * log, and to a request with a valid token.
 */

let t: TestDatabase;
let closedPort: number;
const pools: Pool[] = [];
type LoggedApp = App & { logger: { warnings: string[] } };
const apps: LoggedApp[] = [];

beforeAll(async () => {
  t = await createTestDatabase(import.meta.filename);
  // A port where nothing listens: taken, then freed.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closedPort = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
});
afterAll(async () => {
  for (const app of apps) await app.stop(500);
  for (const pool of pools) await pool.end().catch(() => {});
  await t?.drop();
});

/**
 * The app on a pool with these database settings (the rest: the test database's), keeping its
 * warnings as text.
 */
function appOn(db: Partial<TestDatabase['db']>): LoggedApp {
  const pool = createPool({ ...t.db, ...db }, 2, { acquireTimeoutMs: 3000 });
  pools.push(pool);
  const warnings: string[] = [];
  const quiet = () => {};
  const logger = {
    debug: quiet,
    info: quiet,
    error: quiet,
    warn: (...args: unknown[]) => void warnings.push(args.map(String).join(' ')),
  };
  const config = { ...loadConfig({ API_TOKENS: TOKEN }), db: t.db };
  const app = Object.assign(buildApp({ pool, config, logger }), { logger: { warnings } });
  apps.push(app);
  return app;
}

async function readyz(app: App, headers: Record<string, string> = {}) {
  const response = await app.yoga.fetch('http://belair.test/readyz', { headers });
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text) };
}

/** What must never be in an answer to a request without a token. */
function expectNothingRevealed(text: string, secrets: readonly string[]) {
  for (const secret of secrets) expect(text, secret).not.toContain(secret);
}

const LOG = "the API's log has the details";

describe('/readyz without a token', () => {
  it('says MariaDB is unreachable and what to check, without host, port or driver message', async () => {
    const app = appOn({ port: closedPort });
    const answer = await readyz(app);
    expect(answer.status).toBe(503);
    expect(answer.body).toEqual({
      ready: false,
      reasons: [
        `MariaDB is unreachable (connection refused): check that it runs and that DB_HOSTNAME and DB_PORT (or DATABASE_URL) point at it; ${LOG}.`,
      ],
      database: 'unreachable',
    });
    expectNothingRevealed(answer.text, [
      String(closedPort),
      '127.0.0.1',
      'ECONNREFUSED',
      `user '${t.db.user}'`,
    ]);
    // The log has what the answer leaves out, once per change of state.
    await readyz(app);
    const logged = app.logger.warnings.join('\n');
    expect(app.logger.warnings).toHaveLength(1);
    expect(logged).toContain(`127.0.0.1:${closedPort}`);
    expect(logged).toContain('ECONNREFUSED');
  });

  it('says the login was refused, without the user name', async () => {
    const user = `nobody_${Math.random().toString(36).slice(2, 8)}`;
    const app = appOn({ user, password: 'not-the-password' });
    const answer = await readyz(app);
    expect(answer.status).toBe(503);
    expect(answer.body).toEqual({
      ready: false,
      reasons: [
        `MariaDB refused the API's login: check DB_USERNAME and DB_PASSWORD (or DATABASE_URL); ${LOG}.`,
      ],
      database: 'unreachable',
    });
    expectNothingRevealed(answer.text, [user, 'Access denied', 'localhost', '127.0.0.1']);
    expect(app.logger.warnings.join('\n')).toContain(user);
  });

  it('says the database is missing, without its name', async () => {
    const database = `belair_missing_${Math.random().toString(36).slice(2, 8)}`;
    const app = appOn({ database });
    const answer = await readyz(app);
    expect(answer.body.reasons).toEqual([
      `The database the API is configured for does not exist: check DB_DATABASE (or DATABASE_URL), or run npm run db:migrate; ${LOG}.`,
    ]);
    expectNothingRevealed(answer.text, [database, 'Unknown database']);
  });

  it('says belair’s tables are missing, without the driver’s message', async () => {
    const app = appOn({ database: 'mysql' });
    const answer = await readyz(app);
    expect(answer.status).toBe(503);
    expect(answer.body.reasons).toEqual([
      `belair's tables are missing from the database: run npm run db:migrate; ${LOG}.`,
    ]);
    expectNothingRevealed(answer.text, ["Table '", 'mysql.', "doesn't exist"]);
  });
});

describe('/readyz with a valid token', () => {
  it('adds the details for the operator', async () => {
    const app = appOn({ port: closedPort });
    const answer = await readyz(app, { authorization: `Bearer ${TOKEN}` });
    expect(answer.status).toBe(503);
    expect(answer.body).toEqual({
      ready: false,
      reasons: [expect.stringMatching(/^MariaDB is unreachable \(connection refused\): /)],
      details: [expect.stringContaining(`127.0.0.1:${closedPort}`)],
      database: 'unreachable',
    });
    const wrong = await readyz(app, { authorization: 'Bearer not-it' });
    expect(wrong.body.details).toBeUndefined();
  });
});
