import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { configProblems } from './helpers/config-problems.js';

const problemsOf = (env: Record<string, string>) => configProblems(env);

describe('replica and workers settings', () => {
  it('has no replica, a 30 s lag limit, a 1 s check and one worker by default', () => {
    const config = loadConfig({});
    expect(config.replica).toBeNull();
    expect(config.replicaMaxLagSeconds).toBe(30);
    expect(config.replicaCheckIntervalMs).toBe(1000);
    expect(config.workers).toBe(1);
  });

  it("takes DB_REPLICA_*, with the primary's user, password and database where unset", () => {
    const primary = {
      DB_HOSTNAME: 'primary',
      DB_USERNAME: 'belair',
      DB_PASSWORD: 's3cret',
      DB_DATABASE: 'aq',
    };
    expect(loadConfig({ ...primary, DB_REPLICA_HOSTNAME: 'replica' }).replica).toEqual({
      host: 'replica',
      port: 3306,
      user: 'belair',
      password: 's3cret',
      database: 'aq',
    });
    const own = loadConfig({
      ...primary,
      DB_REPLICA_HOSTNAME: 'replica',
      DB_REPLICA_PORT: '3307',
      DB_REPLICA_USERNAME: 'reader',
      DB_REPLICA_PASSWORD: 'other',
      DB_REPLICA_MAX_LAG_SECONDS: '5',
      DB_REPLICA_CHECK_INTERVAL_MS: '250',
      WORKERS: '2',
    });
    expect(own.replica).toEqual({
      host: 'replica',
      port: 3307,
      user: 'reader',
      password: 'other',
      database: 'aq',
    });
    expect([own.replicaMaxLagSeconds, own.replicaCheckIntervalMs, own.workers]).toEqual([
      5, 250, 2,
    ]);
    expect(Object.isFrozen(own.replica)).toBe(true);
  });

  it('prefers DATABASE_REPLICA_URL, with the primary’s credentials when it gives none', () => {
    const primary = { DATABASE_URL: 'mysql://belair:pw@primary:3306/aq' };
    expect(
      loadConfig({
        ...primary,
        DATABASE_REPLICA_URL: 'mariadb://replica:3310',
        DB_REPLICA_HOSTNAME: 'ignored',
      }).replica,
    ).toEqual({ host: 'replica', port: 3310, user: 'belair', password: 'pw', database: 'aq' });
    expect(
      loadConfig({ ...primary, DATABASE_REPLICA_URL: 'mysql://re%40der:p%40ss@replica/aq' })
        .replica,
    ).toEqual({ host: 'replica', port: 3306, user: 're@der', password: 'p@ss', database: 'aq' });
  });

  it('reports a replica that names another database, is the primary, or is only half set', () => {
    expect(
      problemsOf({ DB_DATABASE: 'aq', DATABASE_REPLICA_URL: 'mysql://replica:3306/other' }),
    ).toEqual([
      `DATABASE_REPLICA_URL: names database "other", but a replica serves the primary's database "aq": leave the path out`,
    ]);
    expect(problemsOf({ DB_REPLICA_HOSTNAME: '127.0.0.1' })).toEqual([
      'DB_REPLICA_HOSTNAME: names the primary itself (127.0.0.1:3306): a replica is another server that replicates from it',
    ]);
    expect(problemsOf({ DB_REPLICA_PORT: '3307', DB_REPLICA_PASSWORD: 'x' })).toEqual([
      'DB_REPLICA_PORT: is set, but no replica is: set DB_REPLICA_HOSTNAME (or DATABASE_REPLICA_URL) too',
      'DB_REPLICA_PASSWORD: is set, but no replica is: set DB_REPLICA_HOSTNAME (or DATABASE_REPLICA_URL) too',
    ]);
    expect(problemsOf({ DATABASE_REPLICA_URL: 'postgres://replica' })).toEqual([
      'DATABASE_REPLICA_URL: must look like mysql://user:password@host:3306/database',
    ]);
    expect(
      problemsOf({
        DB_REPLICA_HOSTNAME: 'replica',
        DB_REPLICA_MAX_LAG_SECONDS: '0',
        DB_REPLICA_CHECK_INTERVAL_MS: '10',
        WORKERS: '0',
      }).map((problem) => problem.split(':')[0]),
    ).toEqual(['DB_REPLICA_MAX_LAG_SECONDS', 'DB_REPLICA_CHECK_INTERVAL_MS', 'WORKERS']);
  });
});
