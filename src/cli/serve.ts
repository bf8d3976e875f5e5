import { createLogger } from 'graphql-yoga';
import { ConfigError, loadConfig } from '../config/config.js';
import { checkMigrations, migrate } from '../db/migrate.js';
import { createApiPool } from '../db/pool.js';
import {
  DatabaseChoiceError,
  type ResolvedDatabase,
  resolveDatabase,
} from '../db/resolve-database.js';
import { buildApp } from '../server/app.js';
import { buildDashboard } from '../server/dashboard-build.js';

/**
 * npm start (npm run start:prod for the build): the API. The only module that reads the
 * environment. Finds its database (the configured one, or the checkout's embedded MariaDB when
 * none is configured and nothing answers at 127.0.0.1:3306), applies the new files of sql/ when
 * MIGRATE_ON_START says so (else checks that none is missing), then serves on PORT until SIGTERM
 * or SIGINT, when it stops accepting, finishes the requests in flight, closes the pool and leaves
 * the embedded MariaDB.
 */
let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(process.env, { server: true });
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
}
const logger = createLogger(config.logLevel);

let database: ResolvedDatabase;
try {
  database = await resolveDatabase(config, { log: (line) => logger.warn(line) });
} catch (error) {
  logger.error(error instanceof DatabaseChoiceError ? error.message : error);
  process.exit(1);
}
if (database.notice) logger.info(database.notice);
const { db } = database;
const where = `database ${db.database} on ${db.host}:${db.port}`;

async function leaveDatabase() {
  const said = await database
    .release()
    .catch((error: Error) => `embedded MariaDB: ${error.message}`);
  if (said) logger.info(said);
}

try {
  if (config.migrateOnStart) {
    const migration = await migrate(db, { log: (message) => logger.debug(message) });
    const applied = migration.applied.length;
    logger.info(
      `${where}: ${applied === 0 ? `sql/ up to date (${migration.files.length} files)` : `applied ${applied} new sql file${applied === 1 ? '' : 's'} (${migration.files.length} in sql/)`}; event scheduler ${migration.eventScheduler}`,
    );
    if (migration.warning) logger.warn(migration.warning);
  } else {
    const check = await checkMigrations(db, { log: (message) => logger.warn(message) });
    logger.info(
      `${where}: sql/ up to date (${check.files.length} files; MIGRATE_ON_START is off); event scheduler ${check.eventScheduler}`,
    );
    if (check.warning) logger.warn(check.warning);
  }
} catch (error) {
  logger.error(`cannot prepare ${where}: ${(error as Error).message}`);
  await leaveDatabase();
  process.exit(1);
}
if (config.apiTokens.length === 0) {
  logger.warn('API_TOKENS is empty: ingestMeasurements and refreshAirQuality are refused.');
}

// The page at / is built here when missing or stale (a few seconds, once per change of web/), so
// that its first visitor does not wait for it; the API serves without it if the build fails. In
// production mode it serves what `npm run build` made and builds nothing (the image holds no
// sources of the page, nor the tools that bundle it).
if (!config.production) {
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
}

const pool = createApiPool({ ...config, db });
const app = buildApp({ pool, config: { ...config, db }, logger });
let url: string;
try {
  ({ url } = await app.start(config.port));
} catch (error) {
  logger.error(`cannot listen on port ${config.port}: ${(error as Error).message}`);
  await pool.end();
  await leaveDatabase();
  process.exit(1);
}
let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info(`${signal}: finishing requests in flight, then stopping`);
  try {
    await app.stop();
    await pool.end();
    await leaveDatabase();
    logger.info('stopped');
  } catch (error) {
    logger.error('unclean stop', error);
    process.exitCode = 1;
  }
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
logger.info(`dashboard at ${url.replace('[::]', 'localhost').replace(/\/graphql$/, '/')}`);
// Said once the handlers are in place: whoever waits for this line may send SIGTERM at once.
logger.info(
  `belair serves GraphQL${config.graphiql ? ' and GraphiQL' : ''} at ${url.replace('[::]', 'localhost')}${config.production ? ' (production mode)' : ''}`,
);
