import cluster from 'node:cluster';
import { createLogger } from 'graphql-yoga';
import { type Config, ConfigError, loadConfig } from '../config/config.js';
import { checkMigrations, migrate } from '../db/migrate.js';
import { createApiPool } from '../db/pool.js';
import { createReadRouting } from '../db/read-routing.js';
import {
  DatabaseChoiceError,
  type ResolvedDatabase,
  resolveDatabase,
} from '../db/resolve-database.js';
import { buildApp } from '../server/app.js';
import { buildDashboard } from '../server/dashboard-build.js';
import { startWorkers, workerLogger } from './workers.js';

/**
 * npm start (npm run start:prod for the build): the API. The only module that reads the
 * environment. Finds its database (the configured one, or the checkout's embedded MariaDB when
 * none is configured and nothing answers at 127.0.0.1:3306), applies the new files of sql/ to the
 * primary when MIGRATE_ON_START says so (else checks that none is missing), builds the dashboard
 * where it is stale (not in production mode), then serves on PORT until SIGTERM or SIGINT, when
 * it stops accepting, finishes the requests in flight, closes its pools and leaves the embedded
 * MariaDB. With a replica configured, reads go to it while it keeps up (docs/scaling.md). With
 * WORKERS > 1 this process prepares the database, then runs that many workers sharing the port
 * (src/cli/workers.ts); SIGTERM stops them all the same way.
 */
let config: Config;
try {
  config = loadConfig(process.env, { server: true });
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
}
const baseLogger = createLogger(config.logLevel);
const logger = cluster.isWorker ? workerLogger(baseLogger, cluster.worker?.id ?? 0) : baseLogger;

/** The address people are told, with localhost for the any-address. */
const shown = (url: string) => url.replace('[::]', 'localhost');

/** The database this process found (the primary process only; workers are handed its address). */
let database: ResolvedDatabase | null = null;

async function leaveDatabase() {
  const said = await database
    ?.release()
    .catch((error: Error) => `embedded MariaDB: ${error.message}`);
  if (said) logger.info(said);
}

if (cluster.isPrimary) {
  config = { ...config, db: await findDatabase(config) };
  await prepareDatabase(config);
  if (!config.production) await prepareDashboard();
}
if (cluster.isPrimary && config.workers > 1) await superviseWorkers(config);
else await serve(config);

async function findDatabase(config: Config): Promise<Config['db']> {
  try {
    database = await resolveDatabase(config, { log: (line) => logger.warn(line) });
  } catch (error) {
    logger.error(error instanceof DatabaseChoiceError ? error.message : error);
    process.exit(1);
  }
  if (database.notice) logger.info(database.notice);
  const { db } = database;
  if (database.embedded) {
    // Workers inherit the environment: they reach the embedded server, which this process holds
    // until it leaves, without looking for it again.
    process.env.DB_HOSTNAME = db.host;
    process.env.DB_PORT = String(db.port);
  }
  return db;
}

async function prepareDatabase(config: Config): Promise<void> {
  const { db } = config;
  const where = `database ${db.database} on ${db.host}:${db.port}`;
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
}

/**
 * The page at / is built here when missing or stale (a few seconds, once per change of web/), so
 * that its first visitor does not wait for it; the API serves without it if the build fails. In
 * production mode it serves what `npm run build` made and builds nothing (the image holds no
 * sources of the page, nor the tools that bundle it).
 */
async function prepareDashboard(): Promise<void> {
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

function announce(config: Config, url: string, workers?: number): void {
  logger.info(`dashboard at ${shown(url).replace(/\/graphql$/, '/')}`);
  logger.info(
    `belair serves GraphQL${config.graphiql ? ' and GraphiQL' : ''} at ${shown(url)}${config.production ? ' (production mode)' : ''}${workers ? ` with ${workers} workers` : ''}`,
  );
}

/** One API process: its pools, read routing and app; stops on SIGTERM or SIGINT. */
async function serve(config: Config): Promise<void> {
  const pool = createApiPool(config);
  const routing = createReadRouting(config, pool, logger);
  // Where reads go is known (and said) before the first request.
  await routing.router.check();
  routing.router.start();
  const app = buildApp({ pool, reads: routing.router, config, logger });
  let url: string;
  try {
    ({ url } = await app.start(config.port));
  } catch (error) {
    logger.error(`cannot listen on port ${config.port}: ${(error as Error).message}`);
    await routing.end();
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
      await routing.end();
      await pool.end();
      await leaveDatabase();
      logger.info('stopped');
    } catch (error) {
      logger.error('unclean stop', error);
      process.exitCode = 1;
    }
    // A worker's channel to the primary would keep it alive.
    if (cluster.isWorker) process.exit();
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  // Said once the handlers are in place: whoever waits for this line may send SIGTERM at once.
  if (cluster.isPrimary) announce(config, url);
}

/** WORKERS > 1: the workers serve, this process only watches them and passes signals on. */
async function superviseWorkers(config: Config): Promise<void> {
  const workers = startWorkers(config.workers, logger);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal}: finishing requests in flight, then stopping`);
    void workers.stop();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  void workers.ended.then(async (code) => {
    await leaveDatabase();
    if (code === 0) logger.info('stopped');
    else logger.error('stopped: a worker failed');
    process.exit(code);
  });
  try {
    const port = await workers.listening;
    announce(config, `http://[::]:${port}/graphql`, config.workers);
  } catch (error) {
    logger.error(`cannot start the workers: ${(error as Error).message}`);
  }
}
