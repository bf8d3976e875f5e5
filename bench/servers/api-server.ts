import { createLogger } from 'graphql-yoga';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createPool } from '../../src/db/pool.js';
import { memoryAfterGc, profileRequests, sendReady, serveRequests } from '../lib/child-rpc.js';
import { countStatements } from '../lib/counting-pool.js';

/**
 * The API as npm start runs it (buildApp on a mysql2 pool), in a process of its own for the
 * benchmarks: listens on a free port of 127.0.0.1, does not migrate (the benchmark's database is
 * migrated already) and answers the bench process's requests for its memory and the number of SQL
 * statements it sent. Configuration from the environment, like src/index.ts.
 */

// The benchmarks measure the API's own write throughput: no per-token rate limit unless the
// environment asks for one.
const config = loadConfig({ WRITE_RATE_LIMIT: '0', ...process.env });
const counted = countStatements(createPool(config.db, config.dbPoolSize));
const app = buildApp({ pool: counted.pool, config, logger: createLogger(config.logLevel) });
const { port } = await app.start(0, '127.0.0.1');

serveRequests({
  ...profileRequests,
  memory: () => memoryAfterGc(),
  statements: () => counted.statements(),
  liveStats: () => app.liveStats(),
});
sendReady({ port });

process.on('SIGTERM', () => {
  void app
    .stop(2_000)
    .then(() => counted.pool.end())
    .finally(() => process.exit(0));
});
