import { writeHeapSnapshot } from 'node:v8';
import { createLogger } from 'graphql-yoga';
import { loadConfig } from '../../src/config/config.js';
import { createApiPool } from '../../src/db/pool.js';
import { createReadRouting } from '../../src/db/read-routing.js';
import { buildApp } from '../../src/server/app.js';
import {
  memoryAfterGc,
  processRequests,
  profileRequests,
  sendReady,
  serveRequests,
} from '../lib/child-rpc.js';
import { countStatements } from '../lib/counting-pool.js';

/**
 * The API as npm start runs it (buildApp on a mysql2 pool), in a process of its own for the
 * benchmarks: listens on a free port of 127.0.0.1, does not migrate (the benchmark's database is
 * migrated already) and answers the bench process's requests for its memory and the number of SQL
 * statements it sent (and, for the soak, its counters and a heap snapshot to look for a leak in).
 * Configuration from the environment, like src/cli/serve.ts.
 */

// The benchmarks measure the API's own write throughput: no per-token rate limit unless the
// environment asks for one.
const config = loadConfig({ WRITE_RATE_LIMIT: '0', ...process.env });
const counted = countStatements(createApiPool(config));
const logger = createLogger(config.logLevel);
// With DB_REPLICA_* set, reads go to the replica as npm start's do (the replicas scenario).
const routing = createReadRouting(config, counted.pool, logger);
await routing.router.check();
routing.router.start();
const app = buildApp({ pool: counted.pool, reads: routing.router, config, logger });
const { port } = await app.start(0, '127.0.0.1');

serveRequests({
  ...profileRequests,
  ...processRequests,
  memory: () => memoryAfterGc(),
  // CPU time of this process so far (user and system, µs): what a sequence of requests cost it.
  cpuUsage: () => process.cpuUsage(),
  statements: () => counted.statements(),
  liveStats: () => app.liveStats(),
  readRouting: () => ({ serving: routing.router.serving, ...routing.router.stats() }),
  windowCacheStats: () => app.windowCacheStats(),
  // Connections the pool holds (mysql2 opens them as concurrency needs, up to DB_POOL_SIZE): each
  // costs about 0.5 MB of heap, which a memory comparison must know about. mysql2 has no public
  // counter; _allConnections is its core pool's list.
  poolConnections: () =>
    (counted.pool as unknown as { pool: { _allConnections: { length: number } } }).pool
      ._allConnections.length,
  // Writes a .heapsnapshot (open it in Chrome DevTools, Memory tab) and answers with its path.
  heapSnapshot: (args) => writeHeapSnapshot(args.path as string),
});
sendReady({ port });

process.on('SIGTERM', () => {
  void app
    .stop(2_000)
    .then(() => routing.end())
    .then(() => counted.pool.end())
    .finally(() => process.exit(0));
});
