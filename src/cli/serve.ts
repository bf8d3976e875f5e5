import { createLogger } from 'graphql-yoga';
import { ConfigError, loadConfig } from '../config/config.js';
import { migrate } from '../db/migrate.js';
import { createApiPool } from '../db/pool.js';
import { buildApp } from '../server/app.js';
import { buildDashboard } from '../server/dashboard-build.js';

/**
 * npm start: the API. The only module that reads the environment. Applies sql/ (creating the
 * database where needed, turning the event scheduler on where it may), then serves on PORT until
 * SIGTERM or SIGINT, when it stops accepting, finishes the requests in flight and closes the pool.
 */
let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(process.env, { server: true });
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
}
const logger = createLogger(config.logLevel);

let migration: Awaited<ReturnType<typeof migrate>>;
try {
  migration = await migrate(config.db, { log: (message) => logger.debug(message) });
} catch (error) {
  logger.error(
    `cannot prepare database ${config.db.database} on ${config.db.host}:${config.db.port}: ${(error as Error).message}`,
  );
  process.exit(1);
}
logger.info(
  `database ${config.db.database} on ${config.db.host}:${config.db.port}: ${migration.files.length} sql files applied; event scheduler ${migration.eventScheduler}`,
);
if (migration.warning) logger.warn(migration.warning);
if (config.apiTokens.length === 0) {
  logger.warn('API_TOKENS is empty: ingestMeasurements and refreshAirQuality are refused.');
}

// The page at / is built here when missing or stale (a few seconds, once per change of web/), so
// that its first visitor does not wait for it; the API serves without it if the build fails.
try {
  const dashboard = await buildDashboard();
  logger.info(
    dashboard.rebuilt
      ? `dashboard built in ${dashboard.ms} ms (${(dashboard.jsGzipBytes / 1024).toFixed(1)} KB of JavaScript gzipped)`
      : 'dashboard build up to date',
  );
} catch (error) {
  logger.warn(`the dashboard could not be built, / answers 503: ${(error as Error).message}`);
}

const pool = createApiPool(config);
const app = buildApp({ pool, config, logger });
let url: string;
try {
  ({ url } = await app.start(config.port));
} catch (error) {
  logger.error(`cannot listen on port ${config.port}: ${(error as Error).message}`);
  await pool.end();
  process.exit(1);
}
logger.info(`dashboard at ${url.replace('[::]', 'localhost').replace(/\/graphql$/, '/')}`);
logger.info(
  `belair serves GraphQL${config.graphiql ? ' and GraphiQL' : ''} at ${url.replace('[::]', 'localhost')}${config.production ? ' (production mode)' : ''}`,
);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info(`${signal}: finishing requests in flight, then stopping`);
  try {
    await app.stop();
    await pool.end();
    logger.info('stopped');
  } catch (error) {
    logger.error('unclean stop', error);
    process.exitCode = 1;
  }
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
