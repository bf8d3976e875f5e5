import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { parseLegacyConfig } from '../src/legacy-config.js';

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
  const problemsOf = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    return [];
  };

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
