import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { parseLegacyConfig } from '../../src/config/legacy-config.js';
import { configProblems } from '../helpers/config-problems.js';

/** npm start in a process of its own with exactly this environment: how it exited, its stderr. */
async function serve(env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/serve.ts'], {
    cwd: new URL('../..', import.meta.url),
    env,
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, stderr };
}

describe('configuration from the environment', () => {
  it('reaches the local MariaDB with no variables set', () => {
    const config = loadConfig({});
    expect(config.db).toEqual({
      host: '127.0.0.1',
      port: 3306,
      user: 'root',
      password: '',
      database: 'openaq',
    });
    expect(config.port).toBe(4000);
    expect(config.apiTokens).toEqual([]);
    expect(config.pollIntervalMs).toBe(1000);
    expect(config.ingestMaxBatch).toBe(10_000);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('takes the original project variables', () => {
    const config = loadConfig({
      DB_HOSTNAME: 'db',
      DB_PORT: '3307',
      DB_USERNAME: 'openaq',
      DB_PASSWORD: 's3cret',
      DB_DATABASE: 'aq',
      API_TOKENS: ' one, two ,,',
    });
    expect(config.db).toEqual({
      host: 'db',
      port: 3307,
      user: 'openaq',
      password: 's3cret',
      database: 'aq',
    });
    expect(config.apiTokens).toEqual(['one', 'two']);
  });

  it('prefers DATABASE_URL, decoding its parts', () => {
    const config = loadConfig({
      DATABASE_URL: 'mariadb://me:p%40ss@example.org:3310/air',
      DB_HOSTNAME: 'ignored',
    });
    expect(config.db).toEqual({
      host: 'example.org',
      port: 3310,
      user: 'me',
      password: 'p@ss',
      database: 'air',
    });
  });

  it('reports every problem at once', () => {
    let error: unknown;
    try {
      loadConfig({
        DB_PORT: 'abc',
        PORT: '70000',
        POLL_INTERVAL_MS: '-1',
        DB_DATABASE: 'no-dashes',
        LOG_LEVEL: 'loud',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'DB_DATABASE',
      'DB_PORT',
      'LOG_LEVEL',
      'POLL_INTERVAL_MS',
      'PORT',
    ]);
    expect((error as ConfigError).message).toContain('DB_PORT: must be a whole number');
  });
});

describe('DATABASE_URL problems', () => {
  const problemsOf = (env: Record<string, string>) => configProblems(env);

  it('reports a malformed URL as a configuration problem, together with the others', () => {
    expect(problemsOf({ DATABASE_URL: 'mysql://[bad', DB_PORT: 'x' })).toEqual([
      'DB_PORT: must be a whole number',
      'DATABASE_URL: is not a valid URL; it must look like mysql://user:password@host:3306/database',
    ]);
  });

  it('names each wrong part of a well-formed URL', () => {
    expect(problemsOf({ DATABASE_URL: 'mariadb://me@db:0/no-dashes' })).toEqual([
      'DATABASE_URL: port 0 is not a port number',
      'DATABASE_URL: database name "no-dashes" must be 1-64 letters, digits, _ or $',
    ]);
    expect(problemsOf({ DATABASE_URL: 'postgres://db/openaq' })).toEqual([
      'DATABASE_URL: must look like mysql://user:password@host:3306/database',
    ]);
  });

  it('takes the default database when the URL names none', () => {
    expect(loadConfig({ DATABASE_URL: 'mysql://db' }).db).toEqual({
      host: 'db',
      port: 3306,
      user: 'root',
      password: '',
      database: 'openaq',
    });
  });
});

describe("the original project's configuration file", () => {
  it('reads quoted assignments, comments and defaults', () => {
    const db = parseLegacyConfig(
      [
        '# database',
        'DB_USERNAME = "openaq"',
        'DB_PASSWORD = \'a "quoted" secret\'',
        'DB_HOSTNAME = "db.local"',
        '',
      ].join('\n'),
    );
    expect(db).toEqual({
      host: 'db.local',
      port: 3306,
      user: 'openaq',
      password: 'a "quoted" secret',
      database: 'openaq',
    });
  });

  it('takes DB_PORT and DB_DATABASE when given, and names bad lines', () => {
    expect(parseLegacyConfig('DB_PORT = "3310"\nDB_DATABASE = "aq"\n')).toMatchObject({
      port: 3310,
      database: 'aq',
    });
    expect(() => parseLegacyConfig('DB_USERNAME "x"\nDB_PORT = "x"')).toThrow(
      /line 1: expected KEY = "value".*\n.*DB_PORT/s,
    );
  });
});

describe('limits, production mode and the write rate', () => {
  /** The problems the API's entry point (npm start) would report. */
  const problemsOf = (env: Record<string, string>) => configProblems(env, { server: true });
  const PRODUCTION_WITHOUT_TOKENS =
    'API_TOKENS: is empty, and NODE_ENV=production needs at least one token (comma-separated, e.g. API_TOKENS=$(openssl rand -hex 32)): without one every write would be refused';

  it('has defaults for development', () => {
    const config = loadConfig({});
    expect({
      production: config.production,
      graphiql: config.graphiql,
      introspection: config.introspection,
      maxAliases: config.maxAliases,
      maxTokens: config.maxTokens,
      maxDirectives: config.maxDirectives,
      writeRateLimit: config.writeRateLimit,
      writeRateBurst: config.writeRateBurst,
    }).toEqual({
      production: false,
      graphiql: true,
      introspection: true,
      maxAliases: 30,
      maxTokens: 10_000,
      maxDirectives: 50,
      writeRateLimit: 10_000,
      writeRateBurst: 100_000,
    });
  });

  it('turns GraphiQL and introspection off with NODE_ENV=production, unless told otherwise', () => {
    const production = loadConfig({ NODE_ENV: 'production', API_TOKENS: 'p' });
    expect([production.production, production.graphiql, production.introspection]).toEqual([
      true,
      false,
      false,
    ]);
    const both = loadConfig({
      NODE_ENV: 'production',
      API_TOKENS: 'p',
      GRAPHIQL: 'TRUE',
      INTROSPECTION: '1',
    });
    expect([both.graphiql, both.introspection]).toEqual([true, true]);
    const off = loadConfig({ GRAPHIQL: 'false', INTROSPECTION: 'no' });
    expect([off.production, off.graphiql, off.introspection]).toEqual([false, false, false]);
    expect(problemsOf({ GRAPHIQL: 'maybe', INTROSPECTION: 'on' })).toEqual([
      'GRAPHIQL: must be true or false',
      'INTROSPECTION: must be true or false',
    ]);
  });

  it('refuses production mode without tokens, with the other problems', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual([PRODUCTION_WITHOUT_TOKENS]);
    expect(problemsOf({ NODE_ENV: 'production', API_TOKENS: ' , ' })).toEqual([
      PRODUCTION_WITHOUT_TOKENS,
    ]);
    expect(problemsOf({ NODE_ENV: 'production', PORT: 'x' })).toEqual([
      'PORT: must be a whole number',
      PRODUCTION_WITHOUT_TOKENS,
    ]);
    // Any other NODE_ENV is development.
    expect(loadConfig({ NODE_ENV: 'test' }, { server: true }).production).toBe(false);
    // Scripts that never serve writes (db:migrate, ingest, generate-test-data) need no token.
    expect(loadConfig({ NODE_ENV: 'production' }).production).toBe(true);
  });

  it('takes the limits, and refuses a burst that a full batch could never fit in', () => {
    const config = loadConfig({
      MAX_ALIASES: '5',
      MAX_TOKENS: '2000',
      MAX_DIRECTIVES: '3',
      WRITE_RATE_LIMIT: '50',
      WRITE_RATE_BURST: '10100',
    });
    expect([config.maxAliases, config.maxTokens, config.maxDirectives]).toEqual([5, 2000, 3]);
    expect([config.writeRateLimit, config.writeRateBurst]).toEqual([50, 10_100]);
    expect(problemsOf({ WRITE_RATE_BURST: '10099' })).toEqual([
      'WRITE_RATE_BURST: 10099 is less than 10100, what a full batch of INGEST_MAX_BATCH=10000 measurements or a refreshAirQuality costs (src/config/write-cost.ts): such a write could never pass',
    ]);
    expect(problemsOf({ INGEST_MAX_BATCH: '10', WRITE_RATE_BURST: '999' })[0]).toMatch(
      /^WRITE_RATE_BURST: 999 is less than 1000,/,
    );
    // With the limit off the burst means nothing.
    expect(loadConfig({ WRITE_RATE_LIMIT: '0', WRITE_RATE_BURST: '1' }).writeRateLimit).toBe(0);
    expect(problemsOf({ MAX_ALIASES: '0', MAX_TOKENS: '99' })).toEqual([
      'MAX_ALIASES: Too small: expected number to be >=1',
      'MAX_TOKENS: Too small: expected number to be >=100',
    ]);
  });

  it('makes npm start exit 1 with the message in production mode without tokens', async () => {
    const { API_TOKENS: _tokens, ...inherited } = process.env;
    const env = { ...inherited, NODE_ENV: 'production', PORT: '0' };
    const { code, stderr } = await serve(env);
    expect(code).toBe(1);
    expect(stderr).toBe(`Invalid configuration:\n  - ${PRODUCTION_WITHOUT_TOKENS}\n`);
  }, 60_000);
});

describe('tokens in production mode, and the second hardening pass’s limits', () => {
  const problemsOf = (env: Record<string, string>) => configProblems(env, { server: true });
  const LONG = 'a3f1c9e07b4d2a8e6f0c1b5d9e3a7f2c'; // 32 characters
  const tooShort = (which: string) =>
    `API_TOKENS: ${which} characters, and NODE_ENV=production needs at least 32 so that a token cannot be guessed: make each one with e.g. openssl rand -hex 32 (64 characters)`;

  it('refuses a token under 32 characters in production mode, saying which and why, never what', () => {
    expect(problemsOf({ NODE_ENV: 'production', API_TOKENS: 'dev-token' })).toEqual([
      tooShort('token 1 of 1 has 9'),
    ]);
    expect(
      problemsOf({ NODE_ENV: 'production', API_TOKENS: `${LONG}, short-one ,${LONG.slice(1)}` }),
    ).toEqual([tooShort('token 2 of 3 has 9, token 3 of 3 has 31')]);
    const message = (() => {
      try {
        loadConfig({ NODE_ENV: 'production', API_TOKENS: 'dev-token' }, { server: true });
      } catch (error) {
        return (error as Error).message;
      }
      return '';
    })();
    expect(message).not.toContain('dev-token');
  });

  it('takes tokens of 32 characters and more in production, and short ones elsewhere', () => {
    expect(problemsOf({ NODE_ENV: 'production', API_TOKENS: `${LONG},${LONG}x` })).toEqual([]);
    // Development, and scripts that serve no writes, keep short tokens.
    expect(problemsOf({ API_TOKENS: 'dev-token' })).toEqual([]);
    expect(loadConfig({ NODE_ENV: 'production', API_TOKENS: 'dev-token' }).apiTokens).toEqual([
      'dev-token',
    ]);
  });

  it('makes npm start exit 1 in production mode with a short token, saying why', async () => {
    // A database nobody listens at: were the token let through, the server would fail at once
    // rather than start on (and migrate) a real database.
    const env = {
      ...process.env,
      NODE_ENV: 'production',
      PORT: '0',
      API_TOKENS: 'dev-token',
      DATABASE_URL: 'mysql://belair@127.0.0.1:1/belair_never_used',
    };
    const { code, stderr } = await serve(env);
    expect(code).toBe(1);
    expect(stderr).toBe(`Invalid configuration:\n  - ${tooShort('token 1 of 1 has 9')}\n`);
  }, 60_000);

  it('has the defaults of the limits on anonymous bodies and on operations per connection', () => {
    const config = loadConfig({});
    expect([config.maxAnonymousBodyBytes, config.maxSubscriptionsPerConnection]).toEqual([
      65_536, 100,
    ]);
    const set = loadConfig({
      MAX_ANONYMOUS_BODY_BYTES: '2048',
      MAX_SUBSCRIPTIONS_PER_CONNECTION: '5',
    });
    expect([set.maxAnonymousBodyBytes, set.maxSubscriptionsPerConnection]).toEqual([2048, 5]);
    expect(
      problemsOf({ MAX_ANONYMOUS_BODY_BYTES: '10', MAX_SUBSCRIPTIONS_PER_CONNECTION: '0' }),
    ).toEqual([
      'MAX_ANONYMOUS_BODY_BYTES: Too small: expected number to be >=1024',
      'MAX_SUBSCRIPTIONS_PER_CONNECTION: Too small: expected number to be >=1',
    ]);
  });
});

describe('the embedded database and migrations at start', () => {
  it('counts a database as configured when a variable says where the server is, not for its name alone', () => {
    expect(loadConfig({}).dbConfigured).toBe(false);
    expect(loadConfig({ DB_DATABASE: 'aq', DB_POOL_SIZE: '4' }).dbConfigured).toBe(false);
    for (const name of ['DB_HOSTNAME', 'DB_PORT', 'DB_USERNAME', 'DB_PASSWORD']) {
      expect(loadConfig({ [name]: '3306' }).dbConfigured, name).toBe(true);
    }
    expect(loadConfig({ DATABASE_URL: 'mysql://db/aq' }).dbConfigured).toBe(true);
    // Empty counts as unset, as everywhere.
    expect(loadConfig({ DB_HOSTNAME: '' }).dbConfigured).toBe(false);
  });

  it('reads DB_EMBEDDED as automatic, always or never, and refuses 1 beside a named server', () => {
    expect(loadConfig({}).dbEmbedded).toBe('auto');
    expect(loadConfig({ DB_EMBEDDED: '1' }).dbEmbedded).toBe('always');
    expect(loadConfig({ DB_EMBEDDED: '1', DB_DATABASE: 'aq' }).dbEmbedded).toBe('always');
    expect(loadConfig({ DB_EMBEDDED: '0' }).dbEmbedded).toBe('never');
    expect(loadConfig({ DB_EMBEDDED: '0', DB_HOSTNAME: 'db' }).dbEmbedded).toBe('never');
    expect(() => loadConfig({ DB_EMBEDDED: '1', DB_HOSTNAME: 'db', DB_PORT: '3307' })).toThrow(
      new ConfigError([
        'DB_EMBEDDED: is 1, which starts a private MariaDB, but DB_HOSTNAME, DB_PORT name a server: unset one or the other',
      ]),
    );
    expect(() => loadConfig({ DB_EMBEDDED: 'maybe' })).toThrow(
      new ConfigError(['DB_EMBEDDED: must be true or false']),
    );
  });

  it('migrates at start by default, but not in production mode unless MIGRATE_ON_START says so', () => {
    expect(loadConfig({}).migrateOnStart).toBe(true);
    expect(loadConfig({ MIGRATE_ON_START: 'false' }).migrateOnStart).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production' }).migrateOnStart).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', MIGRATE_ON_START: '1' }).migrateOnStart).toBe(true);
  });
});
