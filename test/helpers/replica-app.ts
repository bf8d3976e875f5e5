import type { YogaLogger } from 'graphql-yoga';
import type { Pool } from 'mysql2/promise';
import { type Config, loadConfig } from '../../src/config/config.js';
import { createApiPool } from '../../src/db/pool.js';
import { createReadRouting, type ReadRouter } from '../../src/db/read-routing.js';
import { type App, type AppDeps, buildApp } from '../../src/server/app.js';
import { TOKEN } from './app.js';
import { dbEnv } from './database.js';
import type { ReplicationPair } from './replication.js';

/** A logger that keeps every line with its level, for tests that check what was said. */
export function linesLogger(): YogaLogger & { lines: string[] } {
  const lines: string[] = [];
  const keep =
    (level: string) =>
    (...args: unknown[]) =>
      void lines.push(`${level} ${args.map(String).join(' ')}`);
  return {
    debug: () => {},
    info: keep('info'),
    warn: keep('warn'),
    error: keep('error'),
    lines,
  };
}

/** The environment of an API process on the pair: the primary, and the replica unless told not. */
export function pairEnv(
  pair: ReplicationPair,
  options: { replica?: boolean } = {},
): Record<string, string> {
  return {
    ...dbEnv(pair.primary),
    DATABASE_URL: '',
    ...(options.replica === false
      ? {}
      : {
          DB_REPLICA_HOSTNAME: pair.replica.host,
          DB_REPLICA_PORT: String(pair.replica.port),
          // Fast enough for tests to watch it move; the default is 1 s.
          DB_REPLICA_CHECK_INTERVAL_MS: '200',
        }),
  };
}

export interface PairApp extends App {
  readonly config: Config;
  readonly pool: Pool;
  readonly router: ReadRouter;
  readonly logger: ReturnType<typeof linesLogger>;
  /** Stops the app, its router and both pools. */
  close(): Promise<void>;
}

/**
 * The API as npm start builds it (pool, read routing checked once, then on its timer, app), in
 * this process, on the pair: `env` is added to pairEnv(pair) and API_TOKENS=test-token, with the
 * write rate limit off unless said.
 */
export async function appOnPair(
  pair: ReplicationPair,
  env: Record<string, string> = {},
  options: { live?: AppDeps['live'] } = {},
): Promise<PairApp> {
  const config = loadConfig({
    API_TOKENS: TOKEN,
    WRITE_RATE_LIMIT: '0',
    ...pairEnv(pair),
    ...env,
  });
  const logger = linesLogger();
  const pool = createApiPool(config);
  const routing = createReadRouting(config, pool, logger);
  await routing.router.check();
  routing.router.start();
  const app = buildApp({
    pool,
    reads: routing.router,
    config,
    logger,
    refreshWaitSeconds: 1,
    ...(options.live ? { live: options.live } : {}),
  });
  return Object.assign(app, {
    config,
    pool,
    router: routing.router,
    logger,
    async close() {
      await app.stop(1000);
      await routing.end();
      await pool.end();
    },
  });
}
