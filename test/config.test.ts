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
