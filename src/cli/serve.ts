import cluster from 'node:cluster';
import { createLogger, type YogaLogger } from 'graphql-yoga';
import { type Config, ConfigError, loadConfig } from '../config/config.js';
import { migrate } from '../db/migrate.js';
import { createApiPool } from '../db/pool.js';
import { createReadRouting } from '../db/read-routing.js';
import { buildApp } from '../server/app.js';
import { startWorkers, workerLogger } from './workers.js';

/**
 * npm start: the API. The only module that reads the environment. Applies sql/ to the primary
 * (creating the database where needed, turning the event scheduler on where it may), then serves
 * on PORT until SIGTERM or SIGINT, when it stops accepting, finishes the requests in flight and
 * closes its pools. With a replica configured, reads go to it while it keeps up
 * (docs/scaling.md). With WORKERS > 1 this process migrates, then runs that many workers sharing
 * the port (src/cli/workers.ts); SIGTERM stops them all the same way.
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

if (cluster.isPrimary) await prepareDatabase(config, logger);
if (cluster.isPrimary && config.workers > 1) await superviseWorkers(config, logger);
else await serve(config, logger);

async function prepareDatabase(config: Config, logger: YogaLogger): Promise<void> {
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
}

function banner(config: Config, url: string, workers?: number): string {
  return `belair serves GraphQL${config.graphiql ? ' and GraphiQL' : ''} at ${shown(url)}${config.production ? ' (production mode)' : ''}${workers ? ` with ${workers} workers` : ''}`;
}

/** One API process: its pools, read routing and app; stops on SIGTERM or SIGINT. */
async function serve(config: Config, logger: YogaLogger): Promise<void> {
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
    process.exit(1);
  }
  if (cluster.isPrimary) logger.info(banner(config, url));

  let stopping = false;
  async function shutdown(signal: string) {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal}: finishing requests in flight, then stopping`);
    try {
      await app.stop();
      await routing.end();
      await pool.end();
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
}

/** WORKERS > 1: the workers serve, this process only watches them and passes signals on. */
async function superviseWorkers(config: Config, logger: YogaLogger): Promise<void> {
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
  void workers.ended.then((code) => {
    if (code === 0) logger.info('stopped');
    else logger.error('stopped: a worker failed');
    process.exit(code);
  });
  try {
    const port = await workers.listening;
    logger.info(banner(config, `http://[::]:${port}/graphql`, config.workers));
  } catch (error) {
    logger.error(`cannot start the workers: ${(error as Error).message}`);
  }
}
